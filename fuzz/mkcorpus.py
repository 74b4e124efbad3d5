#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the handcrafted seed corpus of fuzz_peer into fuzz/corpus/fuzz_peer/.

Each seed is a script for fuzz/fuzz_peer.c: 2 configuration bytes, then
operations (an opcode byte: op | variant << 6 | channel << 7, then its
operands). The opcode numbers and operand layouts below follow the enum and
run_op() in fuzz_peer.c; keep them in step. Run: python3 fuzz/mkcorpus.py
"""
import os
import sys

(W_LINE, W_SLOT, W_RING, FORGE_LINE, FORGE_SLOT, INJECT, OWN_GARBAGE, W_OWN_RING,
 H_POLL, H_SEND, H_RECV, H_ZC_SEND, H_ZC_RECV, H_CLOSE, H_OPEN, PUMP,
 V_POLL, V_SEND, V_RECV, V_RESERVE, V_COMMIT, V_PEEK, V_RELEASE, V_SEND_WAIT,
 V_RECV_WAIT, V_WAIT, V_DISCARDED, V_RESET_INFO, V_CLOSE, V_OPEN, V_MISC, ARM) = range(32)

# configuration byte 0
VICTIM_B, SWAP, NO_WAIT, SLEEP_FULL, NO_PEER, LINE128, HOOKS, ZEROED = (1 << i for i in range(8))
# configuration byte 1
MSG_AB128, MSG_BA512, MAXMSG24, ST_AB256, ST_BA512, SPIN0, WILD, NO_RELAX = (1 << i for i in range(8))

# nasty value selectors (fuzz_peer.c nasty()), deltas in the top 3 bits
N_ZERO, N_ONES, N_TOP, N_VGEN, N_VPGEN, N_VTX, N_VRX, N_CUR = range(8)
N_SYNC, N_ACK, N_EST, N_CLOSED, N_RING, N_VTXRING, N_MAXMSG, N_PAD = range(8, 16)
N_HGEN, N_HPGEN, N_HTX, N_HRX, N_RXSEQ, N_TXSEQ, N_FGEN, N_FTX = range(16, 24)
D_PLUS1, D_MINUS1, D_PLUS8, D_MINUS8, D_PLUS4, D_PLUSN, D_MINUSN = (i << 5 for i in range(1, 8))

# timeouts (fuzz_peer.c g_timeouts): index | nested peer ops << 3
T0, T1MS, T2MS, T5MS, T20MS, T100MS, T1S, T3MS = range(8)


def op(o, *operands, c=0, x=0):
    return bytes([o | (x << 6) | (c << 7)]) + bytes(operands)


def raw(v):
    return bytes([0xf0]) + v.to_bytes(4, 'little')


def seed(cfg0=0, cfg1=0):
    return bytes([cfg0, cfg1])


MSG, STREAM = 0, 1  # channel indices without SWAP
seeds = {}

# --- honest sessions: handshake, data both ways -------------------------------------
s = seed() + op(PUMP, 8) + op(V_SEND, 10) + op(H_RECV) + op(H_SEND, 20) + op(V_RECV)
seeds['established-msg'] = s
s = seed() + op(PUMP, 8, c=1) + op(V_SEND, 100, c=1) + op(H_RECV, c=1) \
    + op(H_SEND, 200, c=1) + op(V_RECV, c=1)
seeds['established-stream'] = s
seeds['established-both'] = (seeds['established-msg'] + seeds['established-stream'][2:])
for cfg0, name in ((VICTIM_B, 'victim-b'), (SWAP, 'swapped'), (LINE128, 'line128'),
                   (HOOKS, 'hooks'), (ZEROED, 'zeroed'), (NO_WAIT, 'nowait'),
                   (VICTIM_B | SWAP | HOOKS, 'victim-b-swapped-hooks')):
    seeds['established-' + name] = bytes([cfg0, 0]) + seeds['established-both'][2:]
seeds['established-small-rings'] = bytes([0, MSG_AB128 | MAXMSG24 | ST_AB256]) \
    + seeds['established-both'][2:]

# --- padding: odd sizes all around both message rings ----------------------------------
s = seed() + op(PUMP, 8)
for i in range(12):
    s += op(H_SEND, 37 + i * 7) + op(V_RECV) + op(V_SEND, 45 + i * 5) + op(H_RECV)
seeds['padding-both-ways'] = s
s = seed(0, MSG_BA512) + op(PUMP, 8)
for i in range(10):
    s += op(H_SEND, 100) + op(H_SEND, 3) + op(V_RECV) + op(V_RECV)
seeds['padding-512'] = s
# zero-copy with padding: reserve, commit, peek, release
s = seed() + op(PUMP, 8)
for i in range(10):
    s += op(V_RESERVE, 70 + i) + op(V_COMMIT, 0) + op(H_ZC_RECV, 0)
    s += op(H_ZC_SEND, 90 - i) + op(V_PEEK) + op(V_RELEASE, 0)
seeds['zero-copy-msg'] = s

# --- stream wrap ---------------------------------------------------------------------------
s = seed() + op(PUMP, 8, c=1)
for i in range(8):
    s += op(H_SEND, 200 + i, c=1) + op(V_RECV, 77, c=1, x=1) + op(V_RECV, c=1)
    s += op(V_SEND, 250 - i, c=1) + op(H_RECV, c=1)
seeds['stream-wrap'] = s
s = seed() + op(PUMP, 8, c=1)
for i in range(8):
    s += op(V_RESERVE, 255, c=1) + op(V_COMMIT, 0, c=1) + op(H_ZC_RECV, 100, c=1, x=1)
    s += op(H_ZC_SEND, 180, c=1) + op(V_PEEK, c=1) + op(V_RELEASE, 50, c=1, x=1)
seeds['stream-zero-copy-wrap'] = s
seeds['stream-full'] = seed() + op(PUMP, 8, c=1) + op(V_SEND, 255, c=1) * 4 \
    + op(V_SEND_WAIT, 255, T5MS | 1 << 3, c=1) + op(H_RECV, c=1) + op(H_RECV, c=1)

# --- resets -----------------------------------------------------------------------------------
s = seed() + op(PUMP, 8) + op(V_SEND, 30) * 3 + op(H_RECV) + op(H_OPEN)  # peer crash restart
s += op(V_POLL) + op(V_RESET_INFO) + op(V_DISCARDED, x=1) + op(PUMP, 8) + op(V_SEND, 5) \
    + op(H_RECV)
seeds['reset-peer-restart'] = s
s = seed() + op(PUMP, 8) + op(H_SEND, 40) * 3 + op(V_RECV) + op(H_CLOSE) + op(V_RECV) \
    + op(V_RECV) + op(V_RECV) + op(V_POLL) + op(H_OPEN) + op(PUMP, 8) + op(V_RESET_INFO)
seeds['reset-peer-close-drain'] = s
s = seed() + op(PUMP, 8, c=1) + op(V_SEND, 200, c=1) + op(H_RECV, 50, c=1, x=1) \
    + op(H_OPEN, c=1, x=1) + op(PUMP, 8, c=1) + op(V_RESET_INFO, c=1) \
    + op(V_DISCARDED, c=1, x=1)
seeds['reset-stream-discard'] = s
s = seed() + op(PUMP, 8) + op(H_SEND, 20) * 2 + op(V_OPEN) + op(PUMP, 8) + op(H_SEND, 1) \
    + op(V_RECV) + op(V_OPEN, x=1) + op(PUMP, 8)
seeds['reset-victim-restart'] = s
s = seed() + op(PUMP, 8) + op(V_SEND, 16) * 4 + op(V_CLOSE) + op(H_RECV) * 5 + op(V_OPEN) \
    + op(PUMP, 8) + op(V_RESET_INFO)
seeds['victim-close-reopen'] = s

# --- blocking calls, with the peer acting while the victim sleeps ------------------------------
s = seed() + op(PUMP, 8) + op(V_RECV_WAIT, T20MS | 1 << 3) + op(H_SEND, 12) \
    + op(V_RECV_WAIT, T5MS) + op(V_RECV_WAIT, T1S | 2 << 3) + op(H_POLL) + op(H_SEND, 3)
seeds['recv-wait-woken'] = s
s = seed(SLEEP_FULL) + seeds['recv-wait-woken'][2:]
seeds['recv-wait-sleep-full'] = s
s = seed(NO_WAIT) + seeds['recv-wait-woken'][2:]
seeds['recv-wait-polling'] = s
s = seed() + op(PUMP, 8) + op(V_SEND, 100) * 3 + op(V_SEND_WAIT, 100, T100MS | 2 << 3) \
    + op(H_RECV) + op(H_RECV)
seeds['send-wait-room'] = s
s = seed() + op(V_WAIT, 4, 0, T20MS | 1 << 3) + op(H_POLL) + op(PUMP, 4) \
    + op(V_WAIT, 3, 50, T5MS | 1 << 3) + op(H_SEND, 9) + op(V_WAIT, 2, 120, T2MS, x=1)
seeds['wait-events'] = s
s = seed() + op(PUMP, 8, c=1) + op(V_RECV_WAIT, T20MS | 1 << 3, c=1) + op(H_SEND, 70, c=1) \
    + op(V_SEND_WAIT, 255, T3MS, c=1) + op(V_SEND_WAIT, 255, T3MS | 1 << 3, c=1) \
    + op(H_RECV, c=1)
seeds['stream-blocking'] = s

# --- a hostile peer with no honest side: forged handshake and records --------------------------
s = seed(NO_PEER) + op(FORGE_SLOT) + op(FORGE_LINE, 0) + op(V_POLL) \
    + op(FORGE_LINE, 1 | 8 | 32, N_VPGEN) + op(V_POLL) + op(INJECT, 10, 0, 0) + op(V_RECV) \
    + op(INJECT, 100, 1, 0) + op(INJECT, 100, 2, 0) + op(V_RECV) + op(V_RECV) + op(V_RECV)
seeds['forged-session-msg'] = s
s = seed(NO_PEER) + op(FORGE_SLOT) + op(FORGE_LINE, 0, c=1) + op(V_POLL, c=1) \
    + op(FORGE_LINE, 1 | 8 | 32, N_VPGEN, c=1) + op(V_POLL, c=1) + op(INJECT, 0, 0, 200, c=1) \
    + op(V_RECV, c=1) + op(INJECT, 0, 0, 100, c=1) + op(V_PEEK, c=1) + op(V_RELEASE, 10, c=1, x=1)
seeds['forged-session-stream'] = s
s = seed(NO_PEER) + op(FORGE_SLOT, 1, x=1) + op(FORGE_LINE, 0) + op(V_POLL) + op(V_POLL)
seeds['slot-mismatch'] = s

# --- a real session, then corruption mid-stream ---------------------------------------------------
base = seed() + op(PUMP, 8) + op(H_SEND, 30) + op(V_SEND, 40)
seeds['corrupt-peer-tx'] = base + op(W_LINE, 3, N_ONES) + op(V_RECV) + op(V_POLL) + op(PUMP, 8)
seeds['corrupt-peer-tx-unaligned'] = base + op(W_LINE, 3, N_CUR | D_PLUS1) + op(V_RECV)
seeds['corrupt-peer-tx-overfull'] = base + op(W_LINE, 3, N_VRX | D_PLUSN) + op(V_RECV)
seeds['corrupt-peer-rx'] = base + op(W_LINE, 4, N_VTX | D_PLUS8) + op(V_SEND, 1)
seeds['corrupt-peer-rx-back'] = base + op(H_RECV) + op(W_LINE, 4, N_ZERO) + op(V_SEND, 1)
seeds['corrupt-header-len'] = base + op(W_RING, 0, N_MAXMSG | D_PLUS8, x=1) + op(V_RECV)
seeds['corrupt-header-seq'] = base + op(W_RING, 1, N_CUR | D_PLUS1, x=1) + op(V_PEEK)
seeds['corrupt-header-pad'] = base + op(W_RING, 0, N_PAD, x=1) + op(V_RECV)
seeds['corrupt-header-pad-bad'] = base + op(W_RING, 0, N_TOP, x=1) + op(V_RECV)
seeds['corrupt-peer-gen'] = base + op(W_LINE, 1, N_CUR | D_PLUS1) + op(V_RECV) \
    + op(V_RESET_INFO) + op(PUMP, 8)
seeds['corrupt-peer-state'] = base + op(W_LINE, 0, N_SYNC) + op(V_POLL) + op(PUMP, 8)
seeds['corrupt-peer-finals'] = base + op(FORGE_LINE, 0 | 4 | 64, N_VTX | D_MINUS8) + op(V_POLL) \
    + op(V_RESET_INFO) + op(V_DISCARDED, x=1)
seeds['corrupt-wait-word'] = base + op(W_LINE, 5, N_CUR | D_PLUSN) + op(W_LINE, 6, N_ONES) \
    + op(H_RECV) + op(V_SEND, 1) + op(V_SEND, 1)
seeds['corrupt-peeked-payload'] = base + op(V_PEEK) + op(W_RING, 0, N_ONES, x=1) \
    + op(V_RELEASE, 0) + op(V_RECV)
seeds['corrupt-during-sleep'] = seed() + op(PUMP, 8) + op(V_RECV_WAIT, T20MS | 2 << 3) \
    + op(INJECT, 5, 0, 0) + op(W_LINE, 3, N_CUR | D_PLUS8)
# the peer acts inside the port hooks of a victim call (non-coherent port)
s = seed(HOOKS) + op(PUMP, 8) + op(H_SEND, 60) + op(ARM, 1) + op(V_RECV) + op(H_SEND, 10) \
    + op(H_RECV) + op(ARM, 2) + op(V_SEND, 33) + op(H_RECV) + op(W_LINE, 4, N_VTX | D_PLUS8) \
    + op(ARM, 0) + op(V_PEEK) + op(INJECT, 7, 0, 0) + op(V_RELEASE, 0) + op(V_RECV)
seeds['hooks-peer-acts-mid-call'] = s
s = seed(HOOKS) + op(PUMP, 8, c=1) + op(H_SEND, 200, c=1) + op(ARM, 1, c=1) \
    + op(V_RECV, c=1) + op(H_SEND, 100, c=1) + op(ARM, 3, c=1) + op(V_SEND, 200, c=1) \
    + op(H_RECV, c=1) + op(H_RECV, c=1) + op(H_CLOSE, c=1) + op(H_OPEN, c=1)
seeds['hooks-stream-mid-call'] = s
# wild: a domain that writes the whole region scribbles the victim's own line
s = seed(0, WILD) + op(V_POLL) + op(W_OWN_RING, 0, N_ONES, x=1) + op(V_POLL) + op(PUMP, 8) \
    + op(W_OWN_RING, 1, N_CUR | D_PLUS1, x=1) + op(H_SEND, 5) + op(V_RECV) + op(PUMP, 8) \
    + op(V_SEND, 9) + op(W_OWN_RING, 2, N_ZERO) + op(H_OPEN) + op(V_POLL) + op(V_DISCARDED, x=1)
seeds['wild-own-line-and-ring'] = s
# volume: bursts of messages and stream bytes in one session
s = seed() + op(PUMP, 8) + op(V_MISC, 7 | 31 << 3) * 9 + op(PUMP, 8, c=1) + op(V_MISC, 7 | 31 << 3, c=1) * 9
seeds['bursts'] = s
s = seed(NO_WAIT, NO_RELAX) + op(PUMP, 8) + op(V_RECV_WAIT, T20MS) + op(V_WAIT, 4, 0, T5MS)
seeds['polling-no-relax'] = s
seeds['predecessor-garbage'] = base + op(OWN_GARBAGE, 3, N_CUR | D_PLUS8) + op(PUMP, 8) \
    + op(V_RESET_INFO)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'fuzz_peer')
os.makedirs(out, exist_ok=True)
for name, data in sorted(seeds.items()):
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
print(f'{len(seeds)} seeds in {out}', file=sys.stderr)
