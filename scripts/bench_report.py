#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark results: callgrind parsing, CSV checks, plots and docs/PERFORMANCE.md.

  bench_report.py callgrind FILE --n N --csv CSV --transport T --mode M --size S [--table OUT]
      Instructions per message from a callgrind.out file (Ir / N) as a CSV row
      (metric instr_per_msg), and the per-function table (self and inclusive Ir
      per message, calls per message) into OUT.
  bench_report.py check CSV [--expect T,T,...]
      The CSV is well formed: header, 8 columns, numeric size/value/run, known
      units, and every expected transport present. Exit 1 otherwise.
  bench_report.py report CSV --out DIR [--doc FILE] [--mode M] [--images DIR]
      Gnuplot PNGs into DIR (and copies into --images) and the Markdown report:
      ratios measured in the same run, the speed targets met or missed.

Every ratio is computed run by run (both figures from the same run of
scripts/bench.sh) and the table shows the median of the per-run ratios, with
their range when there were several runs.
"""
import argparse
import collections
import csv
import datetime
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys

HEADER = ["transport", "mode", "wait", "size", "metric", "value", "unit", "run"]
UNITS = {"msg/s", "GB/s", "ns", "1", "%", "instr"}

# ---------------------------------------------------------------------------------------------
# callgrind


def parse_callgrind(path):
    """Self and inclusive Ir per function, and how often each was called."""
    names = {}
    self_ir = collections.Counter()
    incl_ir = collections.Counter()
    calls = collections.Counter()
    summary = None
    fn = None
    cfn = None
    pending_call = None

    def name_of(spec):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?", spec)
        if not m:
            return spec.strip()
        if m.group(2):
            names[m.group(1)] = m.group(2).strip()
        return names.get(m.group(1), spec)

    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if line.startswith("summary:") or line.startswith("totals:"):
                summary = int(line.split()[1])
            elif line.startswith("fn="):
                fn = name_of(line[3:])
            elif line.startswith("cfn="):
                cfn = name_of(line[4:])
            elif line.startswith("calls="):
                pending_call = int(line[6:].split()[0])
            elif line[0].isdigit() or line[0] in "+-*":
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if pending_call is not None:
                    calls[cfn] += pending_call
                    incl_ir[fn] += cost
                    pending_call = None
                else:
                    self_ir[fn] += cost
                    incl_ir[fn] += cost
    return summary, self_ir, incl_ir, calls


def cmd_callgrind(a):
    summary, self_ir, incl_ir, calls = parse_callgrind(a.file)
    total = summary if summary is not None else sum(self_ir.values())
    per = total / a.n
    if a.csv:
        new = not os.path.exists(a.csv) or os.path.getsize(a.csv) == 0
        with open(a.csv, "a") as f:
            if new:
                f.write(",".join(HEADER) + "\n")
            f.write(f"{a.transport},{a.mode},none,{a.size},instr_per_msg,{per:.6g},instr,{a.run}\n")
    rows = sorted(self_ir, key=lambda k: -self_ir[k])
    lines = [f"# {a.transport}/{a.mode} {a.size} B: {per:.1f} instructions per send+receive "
             f"({total} Ir / {a.n} messages)",
             f"{'self/msg':>9} {'incl/msg':>9} {'calls/msg':>9}  function"]
    for k in rows:
        if self_ir[k] / a.n < 0.05:
            continue
        lines.append(f"{self_ir[k] / a.n:9.1f} {incl_ir[k] / a.n:9.1f} {calls[k] / a.n:9.2f}  {k}")
    text = "\n".join(lines) + "\n"
    if a.table:
        with open(a.table, "w") as f:
            f.write(text)
    sys.stdout.write(text)
    return 0


# ---------------------------------------------------------------------------------------------
# CSV


def load(path):
    rows = []
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r, None)
        if header != HEADER:
            raise ValueError(f"{path}: header is {header}, expected {HEADER}")
        for i, row in enumerate(r, start=2):
            if len(row) != len(HEADER):
                raise ValueError(f"{path}:{i}: {len(row)} columns, expected {len(HEADER)}: {row}")
            t, m, w, size, metric, value, unit, run = row
            for field, v in (("size", size), ("run", run)):
                if not re.fullmatch(r"\d+", v):
                    raise ValueError(f"{path}:{i}: {field} '{v}' is not a whole number")
            try:
                val = float(value)
            except ValueError:
                raise ValueError(f"{path}:{i}: value '{value}' is not a number")
            if math.isnan(val) or math.isinf(val) or val < 0:
                raise ValueError(f"{path}:{i}: value '{value}' is not a finite number >= 0")
            if unit not in UNITS:
                raise ValueError(f"{path}:{i}: unknown unit '{unit}'")
            if not all(re.fullmatch(r"[a-z0-9_]+", x) for x in (t, m, w, metric)):
                raise ValueError(f"{path}:{i}: bad name in {row[:5]}")
            rows.append((t, m, w, int(size), metric, val, unit, int(run)))
    return rows


def cmd_check(a):
    try:
        rows = load(a.csv)
    except (OSError, ValueError) as e:
        print(f"bench check: FAIL: {e}")
        return 1
    seen = collections.Counter(r[0] for r in rows)
    missing = [t for t in (a.expect.split(",") if a.expect else []) if t and t not in seen]
    dup = collections.Counter((r[0], r[1], r[2], r[3], r[4], r[7]) for r in rows)
    dups = [k for k, n in dup.items() if n > 1]
    print(f"bench check: {len(rows)} rows; transports: "
          + ", ".join(f"{t} ({n})" for t, n in sorted(seen.items())))
    if dups:
        print(f"bench check: FAIL: {len(dups)} duplicated measurements, e.g. {dups[0]}")
        return 1
    if missing:
        print(f"bench check: FAIL: transports missing: {', '.join(missing)}")
        return 1
    if not rows:
        print("bench check: FAIL: no rows")
        return 1
    print("bench check: OK")
    return 0


# ---------------------------------------------------------------------------------------------
# The report


class Data:
    def __init__(self, rows):
        self.v = collections.defaultdict(dict)  # (t, m, w, size, metric) -> {run: value}
        self.runs = sorted({r[7] for r in rows})
        for t, m, w, size, metric, val, unit, run in rows:
            self.v[(t, m, w, size, metric)][run] = val

    def sizes(self, t, m, w, metric):
        return sorted({k[3] for k in self.v if k[:3] == (t, m, w) and k[4] == metric})

    def get(self, key):
        return self.v.get(key, {})

    def median(self, key):
        d = self.get(key)
        return statistics.median(d.values()) if d else None

    def ratio(self, num, den, invert=False):
        """Per-run ratios num/den (den/num if invert): (median, min, max, n) or None."""
        a, b = self.get(num), self.get(den)
        rs = []
        for run in a:
            if run in b and a[run] > 0 and b[run] > 0:
                rs.append(b[run] / a[run] if invert else a[run] / b[run])
        if not rs:
            return None
        return statistics.median(rs), min(rs), max(rs), len(rs)


def fmt_num(v, unit=""):
    if v is None:
        return "–"
    if unit == "ns":
        if v >= 1e6:
            return f"{v / 1e6:.2f} ms"
        if v >= 1e3:
            return f"{v / 1e3:.1f} µs"
        return f"{v:.0f} ns"
    if unit == "msg/s":
        if v >= 1e6:
            return f"{v / 1e6:.2f} M/s"
        if v >= 1e3:
            return f"{v / 1e3:.1f} k/s"
        return f"{v:.0f} /s"
    if unit == "GB/s":
        return f"{v:.2f} GB/s" if v >= 0.1 else f"{v * 1000:.1f} MB/s"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def fmt_ratio(r):
    if r is None:
        return "–"
    med, lo, hi, n = r
    if n > 1 and (hi - lo) > 0.005 * med:
        return f"{med:.2f}× ({lo:.2f}–{hi:.2f})"
    return f"{med:.2f}×"


def fmt_size(s):
    if s == 0:
        return "–"
    if s >= 1024 and s % 1024 == 0:
        return f"{s // 1024} KiB"
    return f"{s} B"


def machine(info_path=None):
    """(CPU model, CPUs, kernel, load average, date): from the run's machine.txt
    (written by scripts/bench.sh when the run started), else from this machine now."""
    if info_path and os.path.exists(info_path):
        kv = {}
        for line in open(info_path):
            k, _, v = line.partition(":")
            kv[k.strip()] = v.strip()
        model = kv.get("Model name", "unknown")
        if kv.get("Hypervisor vendor"):
            model += f" (virtual machine, {kv['Hypervisor vendor']})"
        return (model, kv.get("CPU(s)", "?"), kv.get("kernel", "?"),
                kv.get("load", "?") + " (when the run started)", kv.get("date", "?"))
    model, cpus = "unknown", str(os.cpu_count())
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            if k.strip() == "Model name":
                model = v.strip()
            elif k.strip() == "CPU(s)":
                cpus = v.strip()
            elif k.strip() == "Hypervisor vendor":
                model += f" (virtual machine, {v.strip()})"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        load = open("/proc/loadavg").read().split()[:3]
    except OSError:
        load = ["?"] * 3
    return (model, cpus, platform.release(), " ".join(load) + " (when the report was written)",
            datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))


SHML = "shmlink"
BUSY, BLOCK, SPIN = "busy", "block", "spin"

# Transports in table order: (transport, mode, wait, label)
TPUT_ROWS = [
    ("ideal", "ring", BUSY, "ideal ring (busy)"),
    (SHML, "message", BUSY, "shmlink message, busy"),
    (SHML, "message", BLOCK, "shmlink message, blocking"),
    (SHML, "message", SPIN, "shmlink message, spin-then-sleep"),
    (SHML, "zerocopy", BUSY, "shmlink zero-copy, busy"),
    (SHML, "zerocopy", BLOCK, "shmlink zero-copy, blocking"),
    (SHML, "zerocopy", SPIN, "shmlink zero-copy, spin-then-sleep"),
    (SHML, "stream", BUSY, "shmlink stream, busy"),
    (SHML, "stream", BLOCK, "shmlink stream, blocking"),
    (SHML, "stream", SPIN, "shmlink stream, spin-then-sleep"),
    ("pipe", "stream", BLOCK, "pipe"),
    ("unix_stream", "stream", BLOCK, "UNIX stream socket"),
    ("unix_seqpacket", "message", BLOCK, "UNIX seqpacket socket"),
    ("iceoryx", "zerocopy", BUSY, "iceoryx, busy"),
    ("iceoryx", "zerocopy", "waitset", "iceoryx, WaitSet"),
]
RTT_EXTRA = [
    ("cacheline", "pingpong", BUSY, "cache-line ping-pong"),
    ("eventfd", "pingpong", BLOCK, "eventfd ping-pong"),
    ("futex", "pingpong", BLOCK, "futex ping-pong"),
]
DIAG_ROWS = [
    ("ideal", "ring", BUSY, "ideal ring: cached peer index"),
    ("ideal", "ring_reload", BUSY, "+ reload the peer's index on every call"),
    ("ideal", "ring_reload_fence", BUSY, "+ full fence and a read of the peer's line per publish"),
    (SHML, "message", BUSY, "shmlink message mode, busy"),
]
# shmlink against each alternative, like for like: (alternative, shmlink configuration)
VERSUS = [
    (("pipe", "stream", BLOCK), (SHML, "stream", SPIN), "shmlink stream (spin-then-sleep) vs pipe"),
    (("pipe", "stream", BLOCK), (SHML, "message", SPIN), "shmlink message (spin-then-sleep) vs pipe"),
    (("unix_stream", "stream", BLOCK), (SHML, "stream", SPIN),
     "shmlink stream (spin-then-sleep) vs UNIX stream"),
    (("unix_stream", "stream", BLOCK), (SHML, "message", SPIN),
     "shmlink message (spin-then-sleep) vs UNIX stream"),
    (("unix_seqpacket", "message", BLOCK), (SHML, "message", SPIN),
     "shmlink message (spin-then-sleep) vs UNIX seqpacket"),
    (("iceoryx", "zerocopy", BUSY), (SHML, "zerocopy", BUSY), "shmlink zero-copy, busy vs iceoryx, busy"),
    (("iceoryx", "zerocopy", "waitset"), (SHML, "zerocopy", SPIN),
     "shmlink zero-copy (spin-then-sleep) vs iceoryx WaitSet"),
]


def targets(d, sizes):
    """[(target text, measured text, verdict)]: verdict 'met', 'missed' or 'not measured'."""
    out = []

    def ratio_target(text, num, den, metric, limit, ge=True, invert=False):
        r = d.ratio(num + (metric,), den + (metric,), invert=invert)
        if r is None:
            out.append((text, "–", "not measured"))
            return
        ok = r[0] >= limit if ge else r[0] <= limit
        out.append((text, fmt_ratio(r), "met" if ok else "missed"))

    ideal = ("ideal", "ring", BUSY)
    ratio_target("message mode, 1 KiB: throughput ≥ 0.9× the ideal ring (both busy polling)",
                 (SHML, "message", BUSY, 1024), ideal + (1024,), "bandwidth", 0.9)
    ratio_target("message mode, 64 KiB: throughput ≥ 0.9× the ideal ring",
                 (SHML, "message", BUSY, 65536), ideal + (65536,), "bandwidth", 0.9)
    ratio_target("message mode, 64 B: messages/s ≥ 0.7× the ideal ring",
                 (SHML, "message", BUSY, 64), ideal + (64,), "msg_rate", 0.7)
    ratio_target("stream mode, 64 KiB writes: throughput ≥ 0.9× the ideal ring",
                 (SHML, "stream", BUSY, 65536), ideal + (65536,), "bandwidth", 0.9)
    ratio_target("1 KiB messages (spin-then-sleep): ≥ 10× a UNIX stream socket",
                 (SHML, "message", SPIN, 1024), ("unix_stream", "stream", BLOCK, 1024),
                 "bandwidth", 10)
    ratio_target("1 KiB messages (spin-then-sleep): ≥ 3× a pipe",
                 (SHML, "message", SPIN, 1024), ("pipe", "stream", BLOCK, 1024), "bandwidth", 3)
    # Ahead of iceoryx at every size: zero-copy against zero-copy, both busy polling.
    for metric, what, invert in (("msg_rate", "throughput", False), ("rtt_median", "RTT", True)):
        cells, ok, any_ = [], True, False
        for s in sizes:
            r = d.ratio((SHML, "zerocopy", BUSY, s, metric), ("iceoryx", "zerocopy", BUSY, s, metric),
                        invert=invert)
            if r is None:
                continue
            any_ = True
            cells.append(f"{fmt_size(s)}: {fmt_ratio(r)}")
            ok = ok and r[0] > 1.0
        text = (f"ahead of iceoryx at every size: {what} "
                + ("(iceoryx RTT / shmlink RTT)" if invert else "(shmlink / iceoryx)")
                + ", zero-copy, busy polling, > 1×")
        out.append((text, "; ".join(cells) or "–",
                    "not measured" if not any_ else "met" if ok else "missed"))
    ratio_target("busy-poll RTT (64 B) ≤ 1.3× the ideal ring's",
                 (SHML, "message", BUSY, 64), ideal + (64,), "rtt_median", 1.3, ge=False)
    ratio_target("spin-then-sleep RTT (64 B, the peer answers within the spin) ≤ 1.3× busy-poll",
                 (SHML, "message", SPIN, 64), (SHML, "message", BUSY, 64), "rtt_median", 1.3, ge=False)
    ratio_target("blocking RTT (spin_ns = 0, 64 B) ≤ 1.1× a raw futex ping-pong",
                 (SHML, "message", BLOCK, 64), ("futex", "pingpong", BLOCK, 0), "rtt_median", 1.1,
                 ge=False)
    # Notifications per message while streaming with the default wait.
    worst, where = None, ""
    for mode in ("message", "zerocopy", "stream"):
        for s in sizes:
            v = d.median((SHML, mode, SPIN, s, "notify_per_msg"))
            if v is not None and (worst is None or v > worst):
                worst, where = v, f"{mode} {fmt_size(s)}"
    out.append(("≤ 0.001 notifications per message while streaming (spin-then-sleep, worst case)",
                "–" if worst is None else f"{worst:.2g} ({where})",
                "not measured" if worst is None else "met" if worst <= 0.001 else "missed"))
    idle = d.get((SHML, "message", SPIN, 64, "idle_cpu"))
    out.append(("an idle receiver uses < 1 % of a core after its spin window (worst run)",
                "–" if not idle else f"{max(idle.values()):.3g} %",
                "not measured" if not idle else "met" if max(idle.values()) < 1 else "missed"))
    ratio_target("send + receive of a 64 B message ≤ 1.5× the instructions of the ideal ring",
                 (SHML, "message", "none", 64), ("ideal", "ring", "none", 64), "instr_per_msg", 1.5,
                 ge=False)
    return out


def explain_missed(d, tg):
    """For each missed target: what this run's own figures say about why (a paragraph)."""
    ideal = ("ideal", "ring", BUSY)
    notes = []

    def r(num, den, metric, invert=False):
        return fmt_ratio(d.ratio(num + (metric,), den + (metric,), invert=invert))

    for text, _, verdict in tg:
        if verdict != "missed":
            continue
        if "UNIX stream socket" in text or "a pipe" in text:
            alt = ("unix_stream", "stream", BLOCK, 1024) if "UNIX" in text else \
                ("pipe", "stream", BLOCK, 1024)
            name = "a UNIX stream socket" if "UNIX" in text else "a pipe"
            factor = "10×" if "UNIX" in text else "3×"
            notes.append((text, f"The limit is the machine's, not shmlink's: in this run the ideal "
                          f"ring itself moves {r(ideal + (1024,), alt, 'msg_rate')} the 1 KiB "
                          f"messages of {name}, and shmlink runs at "
                          f"{r((SHML, 'message', SPIN, 1024), ideal + (1024,), 'msg_rate')} of the "
                          "ideal ring. At 1 KiB every transport copies each payload twice (in and "
                          "out) and the kernel's transports batch many messages per system call "
                          f"when both sides stream, so no ring can be {factor} faster here. The target "
                          "was set for small messages, where the system call dominates: see the "
                          "64 B column of the comparison table."))
        elif text.startswith("message mode, 64 KiB"):
            key = (SHML, "message", BUSY, 65536)
            notes.append((text, f"Busy polling at 64 KiB spreads widely from run to run "
                          f"({r(key, ideal + (65536,), 'bandwidth')}; spin-then-sleep "
                          f"{r((SHML, 'message', SPIN, 65536), ideal + (65536,), 'bandwidth')}, "
                          f"zero-copy busy {r((SHML, 'zerocopy', BUSY, 65536), ideal + (65536,), 'bandwidth')}). "
                          "Both processes spin on the only two vCPUs, so any other task or host "
                          "preemption stalls one of them for a whole time slice, and the median of "
                          "three runs shows it. A full run (`make bench BENCH=full`, or more runs) "
                          "narrows it."))
        elif text.startswith("≤ 0.001 notifications"):
            cells = []
            for mode in ("message", "zerocopy", "stream"):
                v = d.get((SHML, mode, SPIN, 65536, "notify_per_msg"))
                if v:
                    cells.append(f"{mode} {min(v.values()):.2g}–{max(v.values()):.2g}")
            notes.append((text, "At 64 KiB, per run: " + "; ".join(cells) + ". A notification "
                          "here wakes a receiver that slept because the producer stalled for "
                          "longer than the 50 µs spin window (a preemption on this 2-vCPU VM); a "
                          "measurement of about 10^5 messages sees ten or so of them, so the figure "
                          "moves with the scheduler. A writer blocked on a full ring is woken once "
                          "per half ring (hysteresis), not once per message."))
        elif text.startswith("blocking RTT"):
            sh = d.median((SHML, "message", BLOCK, 64, "rtt_median"))
            fx = d.median(("futex", "pingpong", BLOCK, 0, "rtt_median"))
            busy = d.median((SHML, "message", BUSY, 64, "rtt_median"))
            if sh and fx and busy:
                notes.append((text, f"A blocking round trip is two sleeps and two wake-ups, like "
                              f"the futex ping-pong ({fmt_num(fx, 'ns')} median in this run), plus "
                              f"what shmlink does per message when nobody sleeps (a busy-polling "
                              f"round trip: {fmt_num(busy, 'ns')}); shmlink's is {fmt_num(sh, 'ns')}. "
                              "The per-run ratios "
                              f"({r((SHML, 'message', BLOCK, 64), ('futex', 'pingpong', BLOCK, 0), 'rtt_median')}) "
                              "show how much the scheduler's wake-up latency moves between runs on "
                              "this VM; runs that meet the target and runs that miss it differ by "
                              "that, not by shmlink's code."))
        elif text.startswith("send + receive of a 64 B message"):
            sh = d.median((SHML, "message", "none", 64, "instr_per_msg"))
            idl = d.median(("ideal", "ring", "none", 64, "instr_per_msg"))
            if sh and idl:
                notes.append((text, f"shmlink spends {sh - idl:.0f} more instructions per send + "
                              f"receive than the ideal ring ({sh:.0f} against {idl:.0f}, which "
                              "includes the benchmark's own stamping, checking and two memcpy "
                              "calls). The ideal ring trusts its peer and never sleeps; shmlink, per "
                              "call, checks the session with a five-load snapshot (protocol §7.2), "
                              "validates the peer's position and the record header before using "
                              "them, and after each publish fences and reads the peer's wait word "
                              "so that a sleeping peer is woken. These are the protocol's "
                              "guarantees (an untrusted peer, no lost wake-up), not overhead that "
                              "can be cut without them; the profile below shows where they go."))
    return notes


def gnuplot(script, outdir):
    if not shutil.which("gnuplot"):
        return False
    p = subprocess.run(["gnuplot"], input=script, text=True, cwd=outdir, capture_output=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
    return p.returncode == 0


def plots(d, outdir):
    """throughput.png (GB/s against size) and rtt.png (median and p99 at 64 B)."""
    made = []
    series = [r for r in TPUT_ROWS if d.sizes(r[0], r[1], r[2], "bandwidth")]
    if series:
        blocks, plot = [], []
        for i, (t, m, w, label) in enumerate(series):
            fn = f"tput_{i}.dat"
            with open(os.path.join(outdir, fn), "w") as f:
                for s in d.sizes(t, m, w, "bandwidth"):
                    f.write(f"{s} {d.median((t, m, w, s, 'bandwidth'))}\n")
            plot.append(f"'{fn}' using 1:2 with linespoints title '{label}'")
        if d.sizes("memcpy", "hot", "none", "bandwidth"):
            with open(os.path.join(outdir, "tput_memcpy.dat"), "w") as f:
                for s in d.sizes("memcpy", "hot", "none", "bandwidth"):
                    f.write(f"{s} {d.median(('memcpy', 'hot', 'none', s, 'bandwidth'))}\n")
            plot.append("'tput_memcpy.dat' using 1:2 with lines dt 2 lw 2 title 'memcpy in cache'")
        script = ("set terminal pngcairo size 1200,800 noenhanced\n"
                  "set output 'throughput.png'\n"
                  "set title 'Throughput against message size (median of runs)'\n"
                  "set logscale xy\nset xlabel 'message size (bytes)'\nset ylabel 'GB/s'\n"
                  "set key outside right\nset grid\n"
                  "plot " + ", \\\n     ".join(plot) + "\n")
        if gnuplot(script, outdir):
            made.append("throughput.png")
    short = {"ring_reload": "ideal ring + reload", "ring_reload_fence": "ideal ring + reload + fence"}
    rows = [r if r[1] not in short else (r[0], r[1], r[2], short[r[1]])
            for r in TPUT_ROWS + RTT_EXTRA + DIAG_ROWS[1:3]]
    rows = [r for r in rows
            if d.median((r[0], r[1], r[2], 0 if r[1] == "pingpong" and r[0] != "cacheline" else 64,
                         "rtt_median")) is not None]
    if rows:
        with open(os.path.join(outdir, "rtt.dat"), "w") as f:
            for t, m, w, label in rows:
                s = 0 if m == "pingpong" and t != "cacheline" else 64
                med = d.median((t, m, w, s, "rtt_median"))
                p99 = d.median((t, m, w, s, "rtt_p99"))
                f.write(f"\"{label}\" {med / 1000:.4f} {(p99 or med) / 1000:.4f}\n")
        script = ("set terminal pngcairo size 1200,800 noenhanced\n"
                  "set output 'rtt.png'\n"
                  "set title 'Round trip, 64 B (ping-pongs without payload), median and p99'\n"
                  "set style data histogram\nset style histogram cluster gap 1\n"
                  "set style fill solid 0.7 border -1\nset logscale y\nset ylabel 'µs'\n"
                  "set xtics rotate by -40 scale 0\nset grid ytics\nset key top left\n"
                  "set bmargin 12\n"
                  "plot 'rtt.dat' using 2:xtic(1) title 'median', '' using 3 title 'p99'\n")
        if gnuplot(script, outdir):
            made.append("rtt.png")
    return made


def rows_vs_ideal(d, sizes, metric, bold, cell):
    """Table rows of TPUT_ROWS: per size cell((t, m, w, size)) and the ratio of @metric to the
    ideal ring's in the same run; rows without any figure are left out."""
    rows = []
    for t, m, wt, label in TPUT_ROWS:
        cells = []
        for s in sizes:
            k = (t, m, wt, s)
            if d.median(k + (metric,)) is None:
                cells.append("–")
                continue
            r = fmt_ratio(d.ratio(k + (metric,), ("ideal", "ring", BUSY, s, metric)))
            rr = "" if t == "ideal" else f" = **{r}**" if bold else f" = {r}"
            cells.append(cell(k) + rr)
        if any(c != "–" for c in cells):
            rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def rel(a, img_dir, name):
    """Path of an image as the report links it: relative to the report's directory."""
    base = os.path.dirname(os.path.abspath(a.doc)) if a.doc else os.path.abspath(a.out)
    return os.path.relpath(os.path.join(os.path.abspath(img_dir), name), base)


def cmd_report(a):
    rows = load(a.csv)
    d = Data(rows)
    os.makedirs(a.out, exist_ok=True)
    all_sizes = sorted({k[3] for k in d.v if k[0] in ("ideal", SHML) and k[3] > 0
                        and k[4] in ("msg_rate", "rtt_median")})
    key_sizes = [s for s in (64, 1024, 65536) if s in all_sizes] or all_sizes[:3]
    model, cpus, kernel, loadavg, date = machine(
        os.path.join(os.path.dirname(os.path.abspath(a.csv)), "machine.txt"))
    images = plots(d, a.out)
    img_dir = a.out
    if a.images and images:
        os.makedirs(a.images, exist_ok=True)
        for img in images:
            shutil.copy(os.path.join(a.out, img), os.path.join(a.images, img))
        img_dir = a.images
    L = []
    w = L.append
    w("# Performance")
    w("")
    w("<!-- Generated by scripts/bench_report.py from build/bench/results.csv (`make bench`). "
      "Do not edit by hand: run `make bench` (or `make bench BENCH=full`) again. -->")
    w("")
    w("How fast shmlink moves data between two processes on one machine, side by side with what "
      "users would pick instead and with the limits of the machine. Absolute figures move from run "
      "to run on a shared machine, so **every claim is a ratio of two figures measured in the same "
      "run**; a table shows the median of the per-run ratios and, in brackets, their range.")
    w("")
    w("## Machine and run")
    w("")
    w(f"- CPU: {model}, {cpus} CPUs; kernel {kernel}")
    w(f"- Date: {date}; mode `{a.mode}`, {len(d.runs)} run(s); load average: {loadavg}")
    w("- Each transport runs as two processes pinned to CPU 0 (producer, pinger) and CPU 1 "
      "(consumer, ponger). Throughput: the fastest of up to 16 slices of the measured phase, a slice "
      "lasting as long as the slower side took for it and holding at least 4× what the transport "
      "buffers (`msg_rate_avg` in the CSV is the plain average). RTT: one clock read per round trip, "
      "median and 99th percentile. CPU: getrusage() of both processes over the measured phase.")
    w("- Ring transports (ideal ring, shmlink) use rings of max(256 KiB, 16 × the message size) each "
      "way. Copying receivers copy every message out; zero-copy receivers read one 8-byte word per "
      "cache line in place; every message carries its number, checked by the receiver.")
    w("")
    w("## Targets")
    w("")
    w("| target | measured (median of per-run ratios) | |")
    w("|---|---|---|")
    tg = targets(d, key_sizes)
    for text, meas, verdict in tg:
        mark = {"met": "**met**", "missed": "**missed**"}.get(verdict, verdict)
        w(f"| {text} | {meas} | {mark} |")
    w("")
    met = sum(1 for t in tg if t[2] == "met")
    w(f"{met} of {len(tg)} targets met in this run.")
    w("")
    missed = explain_missed(d, tg)
    if missed:
        w("### What the missed targets come from")
        w("")
        for text, why in missed:
            w(f"- **{text}**: {why}")
        w("")
    w("Between virtual machines (QEMU TCG guests over ivshmem, Xen domains), the VM tests "
      "measure the same channels: see [IVSHMEM.md, VM results under TCG](IVSHMEM.md#4-vm-results-under-tcg) "
      "and [XEN.md, Results under emulation](XEN.md#6-results-under-emulation). Under TCG the "
      "figures are the emulator's, not the protocol's.")
    w("")
    # Throughput against the ideal ring.
    w("## Throughput, against the ideal ring")
    w("")
    w("Messages per second (median of runs) and the ratio to the ideal ring's in the same run.")
    w("")
    w("| transport | " + " | ".join(fmt_size(s) for s in key_sizes) + " |")
    w("|---|" + "---|" * len(key_sizes))
    for row in rows_vs_ideal(d, key_sizes, "msg_rate", bold=True, cell=lambda k: (
            f"{fmt_num(d.median(k + ('msg_rate',)), 'msg/s')}, "
            f"{fmt_num(d.median(k + ('bandwidth',)), 'GB/s')}")):
        w(row)
    mc = [(s, d.median(("memcpy", "hot", "none", s, "bandwidth"))) for s in (1024, 65536)]
    cold = [(k[3], d.median(k)) for k in d.v if k[:3] == ("memcpy", "cold", "none")]
    if any(v for _, v in mc) or cold:
        w("")
        w("Limits: memcpy in cache " + ", ".join(f"{fmt_size(s)}: {fmt_num(v, 'GB/s')}"
                                                  for s, v in mc if v)
          + ("; memcpy past the caches " + ", ".join(f"{s >> 20} MiB: {fmt_num(v, 'GB/s')}"
                                                    for s, v in cold) if cold else "") + ".")
    if "throughput.png" in images:
        w("")
        w(f"Plot: [throughput against size]({rel(a, img_dir, 'throughput.png')}) "
          "(gnuplot, written by `make bench`).")
    w("")
    # shmlink against the alternatives.
    w("## shmlink against the alternatives")
    w("")
    w("Ratio shmlink / alternative of messages per second (higher: shmlink faster), and "
      "alternative / shmlink of the median RTT (higher: shmlink faster), run by run.")
    w("")
    w("| comparison | " + " | ".join(f"{fmt_size(s)} throughput | {fmt_size(s)} RTT" for s in key_sizes)
      + " |")
    w("|---|" + "---|---|" * len(key_sizes))
    for alt, sh, label in VERSUS:
        cells = []
        for s in key_sizes:
            cells.append(fmt_ratio(d.ratio(sh + (s, "msg_rate"), alt + (s, "msg_rate"))))
            cells.append(fmt_ratio(d.ratio(sh + (s, "rtt_median"), alt + (s, "rtt_median"),
                                           invert=True)))
        if any(c != "–" for c in cells):
            w(f"| {label} | " + " | ".join(cells) + " |")
    w("")
    # RTT.
    w("## Round-trip latency")
    w("")
    w("Median / 99th percentile, and the median's ratio to the ideal ring's in the same run.")
    w("")
    w("| transport | " + " | ".join(fmt_size(s) for s in key_sizes) + " |")
    w("|---|" + "---|" * len(key_sizes))
    for row in rows_vs_ideal(d, key_sizes, "rtt_median", bold=False, cell=lambda k: (
            f"{fmt_num(d.median(k + ('rtt_median',)), 'ns')} / "
            f"{fmt_num(d.median(k + ('rtt_p99',)), 'ns')}")):
        w(row)
    for t, m, wt, label in RTT_EXTRA:
        s = 64 if t == "cacheline" else 0
        med = d.median((t, m, wt, s, "rtt_median"))
        if med is not None:
            p99 = d.median((t, m, wt, s, "rtt_p99"))
            w(f"| {label} (no payload) | {fmt_num(med, 'ns')} / {fmt_num(p99, 'ns')} |"
              + " |" * (len(key_sizes) - 1))
    if "rtt.png" in images:
        w("")
        w(f"Plot: [round trips]({rel(a, img_dir, 'rtt.png')}) (gnuplot, written by `make bench`).")
    w("")
    # Notifications, CPU, idle.
    w("## Notifications, CPU and idle receivers")
    w("")
    w("Per message while streaming (throughput runs): notifications raised (both sides, from the "
      "channel counters) and CPU time of both processes. A writer that sleeps for room asks to "
      "be woken once half the ring is free, not as soon as its message fits, so a slow reader "
      "wakes it once per half ring rather than once per message.")
    w("")
    w("| shmlink | " + " | ".join(f"{fmt_size(s)} notifications | {fmt_size(s)} CPU" for s in key_sizes)
      + " |")
    w("|---|" + "---|---|" * len(key_sizes))
    for t, m, wt, label in TPUT_ROWS:
        if t != SHML:
            continue
        cells = []
        for s in key_sizes:
            cells.append(fmt_num(d.median((t, m, wt, s, "notify_per_msg"))))
            cells.append(fmt_num(d.median((t, m, wt, s, "cpu_per_msg")), "ns"))
        w(f"| {label[len('shmlink '):]} | " + " | ".join(cells) + " |")
    w("")
    w("CPU per message of the others: " + "; ".join(
        f"{label} {fmt_num(d.median((t, m, wt, key_sizes[0], 'cpu_per_msg')), 'ns')}"
        for t, m, wt, label in TPUT_ROWS
        if t not in (SHML,) and d.median((t, m, wt, key_sizes[0], "cpu_per_msg")) is not None)
      + f" (at {fmt_size(key_sizes[0])}).")
    w("")
    idle_rows = [(k, v) for k, v in d.v.items() if k[4] == "idle_cpu"]
    if idle_rows:
        w("A receiver waiting for a message that does not come (the whole wait, spin window "
          "included; worst run):")
        w("")
        w("| receiver | CPU, % of a core | sleeps ended |")
        w("|---|---|---|")
        for k, v in sorted(idle_rows):
            wk = d.get(k[:4] + ("idle_wakeups",))
            w(f"| {k[0]} {k[1]}, {k[2]} | {max(v.values()):.3g} % | "
              f"{fmt_num(max(wk.values())) if wk else '–'} |")
        w("")
    # Instructions.
    ins = sorted((k, d.median(k)) for k in d.v if k[4] == "instr_per_msg")
    if ins:
        w("## Instructions per message (callgrind)")
        w("")
        w("One process holds both ends and runs N × (send, receive) "
          "(`bench/bench_callgrind.c` under `valgrind --tool=callgrind`): repeatable, a "
          "regression metric. Ratio to the ideal ring at the same size.")
        w("")
        w("| loop | size | instructions per send + receive | vs ideal ring |")
        w("|---|---|---|---|")
        for k, v in ins:
            ref = d.median(("ideal", "ring", "none", k[3], "instr_per_msg"))
            w(f"| {k[0]} {k[1]} | {fmt_size(k[3])} | {v:.0f} | "
              + (f"{v / ref:.2f}×" if ref and k[0] != "ideal" else "") + " |")
        w("")
        table = os.path.join(a.out, "callgrind", "shml_copy-64.txt")
        if os.path.exists(table):
            w("Where a 64 B send + receive (message mode, copying) spends its instructions "
              "(self = in the function itself; incl = with what it calls; per message):")
            w("")
            w("```")
            lines = open(table).read().splitlines()
            w("\n".join(lines[:32]))
            w("```")
            w("")
    # Diagnostics.
    if d.median(("ideal", "ring_reload", BUSY, 64, "rtt_median")) is not None:
        w("## Where a ring's time goes (64 B, diagnostic)")
        w("")
        w("The ideal ring made worse one step at a time, against shmlink in message mode "
          "(all busy polling; ratios to the ideal ring in the same run).")
        w("")
        w("| ring | messages/s | ratio | RTT median | ratio |")
        w("|---|---|---|---|---|")
        for t, m, wt, label in DIAG_ROWS:
            v = d.median((t, m, wt, 64, "msg_rate"))
            rt = d.median((t, m, wt, 64, "rtt_median"))
            r1 = d.ratio((t, m, wt, 64, "msg_rate"), ("ideal", "ring", BUSY, 64, "msg_rate"))
            r2 = d.ratio((t, m, wt, 64, "rtt_median"), ("ideal", "ring", BUSY, 64, "rtt_median"))
            w(f"| {label} | {fmt_num(v, 'msg/s')} | {fmt_ratio(r1) if t != 'ideal' or m != 'ring' else ''} "
              f"| {fmt_num(rt, 'ns')} | {fmt_ratio(r2) if t != 'ideal' or m != 'ring' else ''} |")
        w("")
    w("## How to run")
    w("")
    w("```sh")
    w("make bench              # quick: 3 runs of 64 B, 1 KiB, 64 KiB; a few minutes")
    w("make bench BENCH=full   # 3 runs, 16 sizes 8 B .. 256 KiB, longer measurements (~30 min)")
    w("```")
    w("")
    w("Results: `build/bench/results.csv` (`transport,mode,wait,size,metric,value,unit,run`), "
      "plots `build/bench/*.png`, callgrind tables `build/bench/callgrind/`, this page. "
      "`ctest -R bench_smoke` runs every benchmark for a few seconds and checks the CSV.")
    text = "\n".join(L) + "\n"
    dest = a.doc or os.path.join(a.out, "PERFORMANCE.md")
    with open(dest, "w") as f:
        f.write(text)
    print(f"bench report: wrote {dest}" + (f" and {', '.join(images)}" if images else ""))
    for t, meas, verdict in tg:
        print(f"  [{verdict:>12}] {t}: {meas}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("callgrind")
    c.add_argument("file")
    c.add_argument("--n", type=int, required=True)
    c.add_argument("--csv")
    c.add_argument("--transport", required=True)
    c.add_argument("--mode", required=True)
    c.add_argument("--size", type=int, required=True)
    c.add_argument("--run", type=int, default=1)
    c.add_argument("--table")
    k = sub.add_parser("check")
    k.add_argument("csv")
    k.add_argument("--expect", default="")
    r = sub.add_parser("report")
    r.add_argument("csv")
    r.add_argument("--out", required=True)
    r.add_argument("--doc")
    r.add_argument("--images")
    r.add_argument("--mode", default="quick")
    a = ap.parse_args()
    return {"callgrind": cmd_callgrind, "check": cmd_check, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
