/* SPDX-License-Identifier: MIT */
/*
 * shmlink protocol model (Promela, for Spin). See docs/RELIABILITY.md,
 * "Model checking", for how to run it and what it proves.
 *
 * What is modelled, as docs/PROTOCOL.md states it:
 *   - one channel, two sides (A = 0, B = 1), each running the full session
 *     state machine of §7.3 (SYNC / ACK / EST / CLOSED), entering SYNC (§7.4),
 *     finals, attach and close (§7.5), and the reset accounting of §8
 *     (live and previous-process accounts);
 *   - one data direction: A sends messages numbered 1, 2, 3, ... through the
 *     A->B ring (free-running positions, over-full and never-backwards checks,
 *     §9.1); B receives them. A record is one slot; its content carries the
 *     message number, the sender's session generation and the record seq;
 *   - notification suppression (§11.2 incl. the per-sleep dedupe) and
 *     sleeping (§11.3: doorbell snapshot, announce, full fence, re-check,
 *     block until the peer's doorbell moved);
 *   - restarts: either side can be killed between any two of its steps
 *     (a new process: locals lost, the control line and the CPU's pending
 *     stores kept, then attach), or can close cleanly between two calls
 *     and re-attach. At most MAXK such events per side.
 *
 * Memory model. A side's stores go into that side's FIFO store buffer
 * (depth BUFSZ), drained to memory by a separate process at any time (only
 * the stores a later load can overtake: see "memory access" below). A load of an own field reads the newest buffered store to it, else
 * memory; a load of a peer field reads memory. A full fence waits until the
 * own buffer is empty. This is TSO: it gives exactly the store->load
 * reordering that the fences of §11.4 / §13 are there for. It is a valid
 * model of the release/acquire accesses of §13 here because every shared
 * field has a single writer (§4) and there are only two threads: stores
 * leave in program order (release), loads are not reordered with later
 * accesses (acquire), and the only reordering release/acquire allows between
 * two threads that TSO does not (none that changes an outcome with single-
 * writer fields) is the store->load one modelled by the buffer.
 * A process that dies leaves its buffered stores to drain: the successor
 * runs on the same CPU (it reads them through its own buffer).
 *
 * Abstractions (see docs/RELIABILITY.md): records are one slot each, so no
 * padding records; the peer domain slot (§5) is one "magic written" word and
 * both peers use the same config; generations are a per-side counter that
 * never repeats (the spec's random 32-bit values, minus collisions); the
 * wait seq and doorbell are counters modulo SEQMOD / DBMOD (the spec's 29 and
 * 32 bits; the dedupe can lag the sleeper by at most a couple of sleeps, so
 * the wrap is never reached); no sleep timeout (a timeout would hide a lost
 * wake-up); the spin phase of §11.3 step 1 is one more poll and is left out;
 * payload bytes are the record's content word.
 *
 * Properties (assertions; a violated one is an error trail):
 *   P1/P2 at quiescence every message sent is received exactly once or is
 *         in the sender's discarded reports, never both; online: no
 *         duplicate delivery, no delivery of a message already reported
 *         discarded, no report of a message already delivered;
 *   P3    a delivered record carries the receiver's current peer_gen and the
 *         expected record seq (no data across sessions);
 *   P4/P5 the system reaches quiescence (all processes blocked = Spin's
 *         `timeout`; restarts need not be used up) only in a good state: both sides
 *         established with each other, every message sent, the ring empty.
 *         A sleeper blocked while its data is there (lost wake-up) or a
 *         handshake that stalls fails this check. Deadlocks elsewhere are
 *         Spin's invalid end states; livelocks are non-progress cycles
 *         (make model runs the -DNP search too);
 *   plus: accounts between honest peers are always exact, a discarded range
 *   still holds that session's records, no protocol error (§10) ever
 *   happens between honest peers, and resyncs are bounded (GENMAX).
 *
 * Bounds (spin -D...): NMSG messages, NSLOTS ring slots (power of two),
 * MAXK restarts/closes per side (or MAXKA / MAXKB), BUFSZ store-buffer
 * depth, GENMAX generations per side.
 *
 * Configurations: by default everything above. POLLING replaces notification
 * by a perfect wake-up (a blocked side wakes when a peer field it decided on
 * changes): the session machine, finals, accounting and ring stay exact and
 * restarts become affordable. ALLBUF sends every store through the buffer.
 *
 * Mutants (spin -DMUTANT_x): each breaks one rule; each MUST fail.
 *   MUTANT_SLEEPER_NO_FENCE    no full fence between announce and re-check
 *   MUTANT_PUBLISHER_NO_FENCE  no full fence between publish and wait load
 *   MUTANT_NO_FINALS           ending a session writes no finals
 *   MUTANT_ATTACH_NO_FINALS    attach skips step 1 (finals of an EST line)
 *   MUTANT_NO_RETIRE           no retiring of tx-finals (§7.5)
 *   MUTANT_ZERO_FIRST          enter SYNC zeroes positions before the state
 *   MUTANT_NO_REACK            missing row: ACK, ps == SYNC, pg != peer_gen
 *                              (treated as "stay")
 *   MUTANT_NO_SETTLE           wrong row: SYNC -> EST without settling
 *   MUTANT_NO_SEQ              no dedupe reset: a sleeper reuses its seq
 *   MUTANT_LATE_DOORBELL       the doorbell snapshot is taken after the
 *                              re-check instead of before the announce
 *
 * The two findings of the model against protocol v2, fixed in v3
 * (docs/RELIABILITY.md); their v2 behaviour is kept as mutants:
 *   MUTANT_TORN_SNAPSHOT       v2: state, gen and peer_gen read once each;
 *                              a snapshot straddling the peer's stores
 *                              settles an account early and can make
 *                              resyncs repeat forever (v3 re-reads state
 *                              and gen after peer_gen, retries if moved)
 *   MUTANT_REVERSE_SNAPSHOT    a rejected fix: load in reverse store order
 *                              (livelocks)
 *   MUTANT_V2_FINALS           v2: rx-finals not retired, and attach step 1
 *                              rewrites both finals pairs with the line's
 *                              generation (an interrupted §7.4 then gets
 *                              its finals overwritten)
 *
 * Debugging: LAX_WALK drops the "discarded range still intact" check, so a
 * trail runs on to its consequence; NO_RELABEL turns off the doorbell
 * relabelling (a state-space reduction, see SLEEP). Every step prints a
 * "T <side> ..." line: spin -t ... | grep '^ *T ' tells the story of a trail.
 */

#ifndef NMSG
#define NMSG 2
#endif
#ifndef NSLOTS
#define NSLOTS 2
#endif
#ifndef MAXK
#define MAXK 1
#endif
#ifndef MAXKA
#define MAXKA MAXK     /* restarts/closes of side A */
#endif
#ifndef MAXKB
#define MAXKB MAXK     /* restarts/closes of side B */
#endif
#ifndef BUFSZ
#define BUFSZ 2
#endif
#ifndef GENMAX
#define GENMAX 12
#endif
#ifndef SEQMOD
#define SEQMOD 8
#endif
#ifndef DBMOD
#define DBMOD 8
#endif

/* states (§7.1); 0 = garbage / never attached */
#define GARBAGE 0
#define SYNC 1
#define ACK 2
#define EST 3
#define CLOSED 4
#define VALID(s) ((s) >= SYNC && (s) <= CLOSED)

/* wait events (§11.1) */
#define EV_R 1
#define EV_W 2
#define EV_S 4
#define NOROOM 255 /* "no room check" for NOTIFY */
#define NONE 255   /* no seq notified yet (never a seq: they are < SEQMOD) */

/* control line fields (§6.1), the domain slot magic (§5), then the ring */
#define F_ST 0
#define F_GEN 1
#define F_PGEN 2
#define F_TX 3
#define F_RX 4
#define F_WAIT 5
#define F_NEED 6
#define F_DB 7
#define F_FGEN 8
#define F_FTX 9
#define F_FOF 10
#define F_FRX 11
#define F_MAGIC 12
#define F_SLOT0 13
#define NF (F_SLOT0 + NSLOTS)

#define MEM(s, f) mem[(s) * NF + (f)]
/* record content: message number, record seq, sender generation */
#define ENC(m, s, g) ((m) + 8 * (s) + 64 * (g))
#define DMSG(v) ((v) % 8)
#define DSEQ(v) (((v) / 8) % 8)
#define DGEN(v) ((v) / 64)

short mem[2 * NF];           /* the shared region: both control lines, rings */
byte baddr[2 * BUFSZ];       /* per-side FIFO store buffers */
short bval[2 * BUFSZ];
byte blen[2];

/* restarts */
byte events[2];              /* restarts and closes used per side */

/* ghosts */
byte dbv[2];                 /* a side's doorbell count (its own copy; global only
                                so that the peer can relabel it, see SLEEP) */
byte nextmsg = 1;            /* A's next message number (mirror of A's nm) */
byte sent;                   /* bit m: message m was published (tx_pos stored) */
byte recvd;                  /* bit m: message m was received (rx_pos stored) */
byte disc;                   /* bit m: message m was reported discarded */

#define BIT(m) (1 << (m))

/* ---- memory access ---------------------------------------------------- */
/*
 * Each shared access is one transition.
 *
 * Restarts. A side with budget left may die at any of its stores
 * (goto killed). Dying anywhere between two stores is the same as dying
 * just before the second one: loads and local steps leave nothing behind
 * in a new process. So loads, fences and local steps need not be kill
 * points (which keeps local steps "safe" for partial order reduction).
 * A side that dies asleep is represented by dying at the store before its
 * announcement or at the clear after it wakes. Budgets need not be used:
 * quiescence (Checker) is checked whatever budget is left.
 *
 * No-op stores. Storing the value a field already holds, with nothing
 * pending in the buffer, changes nothing anyone can see: no transition, no
 * kill point (dying there is dying at the next store).
 *
 * Store buffer. STORE_BUF puts the store into the FIFO buffer. STORE_SC
 * waits until the buffer is empty and writes memory. A store that is
 * followed by a full fence (or by more stores, then a fence) with no load
 * of a peer field in between cannot be told apart from an SC store made
 * when the buffer drains: the peer sees the same stores in the same order
 * at the same points of its own run, and this side does nothing in between
 * that depends on it. In the protocol as written that is every store but
 * two: clearing the wait word at the end of a sleep and the doorbell
 * increment, which the next step's loads can overtake. Those two always go
 * through the buffer. With a fence mutant (or -DALLBUF) every store does.
 */
#define CAN_DIE (events[me] < (me == 0 -> MAXKA : MAXKB))
#define DIE d_step { CAN_DIE -> events[me]++; printf("T %d KILLED\n", me) }; goto killed
#define NOOP(f, val) (blen[me] == 0 && MEM(me, f) == (val))

inline STORE_BUF(f, val) {
	if
	:: d_step { NOOP(f, val) -> skip }
	:: d_step { CAN_DIE && !NOOP(f, val) -> events[me]++; printf("T %d KILLED\n", me) };
	   goto killed
	:: d_step {
		!NOOP(f, val) && blen[me] < BUFSZ ->
		baddr[me * BUFSZ + blen[me]] = f;
		bval[me * BUFSZ + blen[me]] = val;
		blen[me]++;
		printf("T %d store %d := %d\n", me, f, val)
	   }
	fi
}

#if defined(MUTANT_SLEEPER_NO_FENCE) || defined(MUTANT_PUBLISHER_NO_FENCE) || defined(ALLBUF)
#define STORE(f, val) STORE_BUF(f, val)
/* the same store, as the first statement of a larger d_step */
#define PUT(f, val) \
	blen[me] < BUFSZ -> \
	baddr[me * BUFSZ + blen[me]] = f; \
	bval[me * BUFSZ + blen[me]] = val; \
	blen[me]++
#else
#define PUT(f, val) blen[me] == 0 -> MEM(me, f) = val
inline STORE(f, val) {
	if
	:: d_step { NOOP(f, val) -> skip }
	:: d_step { CAN_DIE && !NOOP(f, val) -> events[me]++; printf("T %d KILLED\n", me) };
	   goto killed
	:: d_step {
		blen[me] == 0 && MEM(me, f) != (val) ->
		MEM(me, f) = val;
		printf("T %d store+visible %d := %d\n", me, f, val)
	   }
	fi
}
#endif

/* Load of an own field: the newest buffered store to it, else memory.
 * Used inside d_step only (own fields have no other writer: the result is
 * the same whenever the drain runs). */
inline LOAD_OWN(f, r) {
	r = MEM(me, f);
	bi = 0;
	do
	:: bi < blen[me] ->
		if
		:: baddr[me * BUFSZ + bi] == f -> r = bval[me * BUFSZ + bi]
		:: else -> skip
		fi;
		bi++
	:: else -> break
	od;
	bi = 0
}

/* Load-acquire of a peer field: memory (the peer's buffer is not visible). */
inline LOAD_PEER(f, r) {
	d_step { r = MEM(1 - me, f) }
}

/* Full fence: wait until all own stores are visible. */
inline FENCE() {
	d_step { blen[me] == 0 }
}

/* ---- notification (§11.2) --------------------------------------------- */

/* After publishing a change that provides @evs: fence, load the peer's
 * wait word once, notify once per sleep (and, for room, only if enough). */
#ifdef POLLING
#define NOTIFY(evs, room) skip
#else
inline NOTIFY(evs, room) {
	/* full fence, then the wait word (one transition: once the own buffer
	 * is empty it stays so until this side stores again) */
#ifndef MUTANT_PUBLISHER_NO_FENCE
	d_step { blen[me] == 0 -> t1 = MEM(1 - me, F_WAIT) };
#else
	LOAD_PEER(F_WAIT, t1);
#endif
	if
	:: (t1 & (evs)) != 0 && (t1 >> 3) != notified ->
		if
		:: (room) != NOROOM -> LOAD_PEER(F_NEED, t2)
		:: else -> t2 = 0
		fi;
		if
		:: (room) == NOROOM || (room) >= t2 ->
			d_step { notified = t1 >> 3; dbv[me] = (dbv[me] + 1) % DBMOD; t1 = 0; t2 = 0 };
			STORE_BUF(F_DB, dbv[me])  /* then the platform signal: the sleeper blocks on F_DB */
		:: else -> d_step { notified = NONE; t1 = 0; t2 = 0 }
		fi
	:: else ->
		/* Canonical form: a last-notified seq older than the one just read
		 * can never match again (seqs only move forward): forget it. */
		d_step { if :: (t1 >> 3) != notified -> notified = NONE :: else -> skip fi; t1 = 0 }
	fi
}

#endif

inline NOTIFY_STATE() {
	NOTIFY(EV_R | EV_W | EV_S, NOROOM)
}

/* ---- sessions (§7) ----------------------------------------------------- */

/* §7.4 */
inline ENTER_SYNC() {
	d_step {
		gc++;
		assert(gc < GENMAX);   /* resyncs are bounded */
		gen = gc; pgen = 0; st = SYNC;
		printf("T %d enter SYNC gen=%d\n", me, gen)
	};
#ifdef MUTANT_ZERO_FIRST
	STORE(F_TX, 0);
	STORE(F_RX, 0);
#endif
	STORE(F_GEN, gen);
	STORE(F_PGEN, 0);
	STORE(F_ST, SYNC);
#ifndef MUTANT_ZERO_FIRST
	STORE(F_TX, 0);
	STORE(F_RX, 0);
#endif
	d_step { tx = 0; rx = 0; txseq = 0; rxseq = 0; prs = 0; pts = 0; txstarted = 0; rxstarted = 0 };
	NOTIFY_STATE()
}

/* §7.5 finals: each pair only if that direction moved. */
inline WRITE_FINALS(g, t, pg, r) {
	if
	:: (t) != 0 -> STORE(F_FGEN, g); STORE(F_FTX, t)
	:: else -> skip
	fi;
	if
	:: (r) != 0 -> STORE(F_FOF, pg); STORE(F_FRX, r)
	:: else -> skip
	fi
}

/* §7.5 + §8: finals, then the pending account, then SYNC. */
inline END_SESSION() {
#ifndef MUTANT_NO_FINALS
	WRITE_FINALS(gen, tx, pgen, rx);
#endif
	d_step {
		aact = 1; aprev = 0; agen = gen; aend = tx; aseen = prs
	};
	ENTER_SYNC()
}

/* §8 settling, with the snapshot (ps, ppg) of this step. */
inline SETTLE() {
	if
	:: aact && !((ps == ACK || ps == EST) && ppg == agen) ->
		LOAD_PEER(F_FOF, t1);
		LOAD_PEER(F_FRX, t2);
		d_step {
			exact = 1;
			cons = (t1 == agen -> t2 : 0);
			if
			:: !aprev && (cons < aseen || cons > aend) -> cons = aseen; exact = 0
			:: aprev && !VALID(ps) -> exact = 0
			:: else -> skip
			fi;
			if
			:: cons > aend || aend - cons > NSLOTS -> exact = 0
			:: else ->
				/* walk our own ring [cons, aend): the discarded records */
				p = cons;
				do
				:: p < aend ->
					LOAD_OWN(F_SLOT0 + p % NSLOTS, v);
#ifndef LAX_WALK
					assert(DGEN(v) == agen);      /* still intact */
#endif
					assert((recvd & BIT(DMSG(v))) == 0); /* not delivered */
					assert((sent & BIT(DMSG(v))) != 0);
					disc = disc | BIT(DMSG(v));
					p++
				:: else -> break
				od
			fi;
			printf("T %d settled gen=%d prev=%d consumed=%d end=%d disc=%d\n", me, agen, aprev, cons, aend, disc);
			assert(exact);    /* honest peers: the account is exact */
			aact = 0; aprev = 0; agen = 0; aend = 0; aseen = 0;
			t1 = 0; t2 = 0; cons = 0; p = 0; v = 0; exact = 0
		}
	:: else -> skip
	fi
}

inline ESTABLISH(g) {
	assert(!aact);    /* accounts settle before a side is established again */
	pgen = g;
	STORE(F_PGEN, g);
	STORE(F_ST, EST);
	st = EST;
	NOTIFY_STATE()
}

/* One step of the state table (§7.3), snapshot loaded once (§7.2). */
inline STEP() {
	/* §10: not established, put back what the own line must hold. Honest
	 * peers never corrupt a line, so this never fires here: asserted. */
	if
	:: st != EST ->
		d_step {
			LOAD_OWN(F_ST, t1); LOAD_OWN(F_GEN, t2);
			ok = (t1 != st || t2 != gen);
			LOAD_OWN(F_PGEN, t1); LOAD_OWN(F_TX, t2);
			ok = ok || t1 != pgen || t2 != 0;
			LOAD_OWN(F_RX, t1);
			ok = ok || t1 != 0;
			assert(!ok);
			t1 = 0; t2 = 0
		}
	:: else -> skip
	fi;
#if defined(MUTANT_TORN_SNAPSHOT)
	/* protocol v2: three plain loads */
	LOAD_PEER(F_ST, ps);
	LOAD_PEER(F_GEN, pg);
	LOAD_PEER(F_PGEN, ppg);
#elif defined(MUTANT_REVERSE_SNAPSHOT)
	/* snapshot in the reverse order of the peer's stores */
	LOAD_PEER(F_PGEN, ppg);
	LOAD_PEER(F_GEN, pg);
	LOAD_PEER(F_ST, ps);
#else
	/* consistent snapshot: re-read state and gen after peer_gen, retry if
	 * either moved (within one gen a side's state only moves forward) */
	do
	:: LOAD_PEER(F_ST, ps);
	   LOAD_PEER(F_GEN, pg);
	   LOAD_PEER(F_PGEN, ppg);
	   LOAD_PEER(F_ST, t1);
	   LOAD_PEER(F_GEN, t2);
	   if
	   :: t1 == ps && t2 == pg -> d_step { t1 = 0; t2 = 0 }; break
	   :: else -> d_step { t1 = 0; t2 = 0 }
	   fi
	od;
#endif
	printf("T %d step st=%d gen=%d pgen=%d | ps=%d pg=%d ppg=%d\n", me, st, gen, pgen, ps, pg, ppg);
	if
	:: st == EST ->
		if
		:: (ps == ACK || ps == EST) && pg == pgen && ppg == gen -> skip
		:: else ->
			if
			:: ps == CLOSED && pg == pgen && ppg == gen ->
				LOAD_PEER(F_TX, t1);
				if
				:: t1 != rx -> t1 = 0   /* deliver what the closed peer sent first */
				:: else -> t1 = 0; END_SESSION()
				fi
			:: else -> END_SESSION()
			fi
		fi
	:: st == SYNC ->
		if
		:: ps == SYNC || (ps == ACK && ppg == gen) ->
			LOAD_PEER(F_MAGIC, t1);
			if
			:: t1 == 0 -> skip          /* peer not attached yet (§5) */
			:: else ->
				t1 = 0;
				if
				:: ps == SYNC ->
					pgen = pg;
					STORE(F_PGEN, pg);
					STORE(F_ST, ACK);
					st = ACK;
					NOTIFY_STATE()
				:: else ->
#ifndef MUTANT_NO_SETTLE
					SETTLE();
#endif
					ESTABLISH(pg)
				fi
			fi
		:: else -> skip                 /* the peer will answer our SYNC */
		fi
	:: st == ACK ->
		if
		:: (ps == ACK || ps == EST || ps == CLOSED) && pg == pgen && ppg == gen ->
			/* (a CLOSED peer with these values was established with us) */
			SETTLE();
			ESTABLISH(pgen)
		:: ps == SYNC && pg == pgen -> skip
		:: ps == SYNC && pg != pgen ->
#ifdef MUTANT_NO_REACK
			skip
#else
			pgen = pg;
			STORE(F_PGEN, pg);
			NOTIFY_STATE()
#endif
		:: else -> ENTER_SYNC()
		fi
	fi;
	SETTLE();
#ifdef POLLING
	d_step { sps = ps; spg = pg; sppg = ppg; ps = 0; pg = 0; ppg = 0 }
#else
	d_step { ps = 0; pg = 0; ppg = 0 }
#endif
}

/* A peer value made no sense (§10): a fresh step explains it as a session
 * change, or it is a protocol error, which honest peers never cause. */
inline ANOMALY() {
	STEP();
	assert(st != EST);
	ok = 1
}

/* ---- data (§9) --------------------------------------------------------- */

/* A: send message nm if there is room. B: receive one. ok := 1 when
 * something happened (or the session moved). With dry == 1 only check (the
 * re-check of §11.3). Peer positions are cached (§6.2): reloaded only when
 * the cached value shows too little. ok must be 0 on entry. */
inline DATA(dry) {
	if
	:: me == 0 && nm <= NMSG ->
		if
		:: NSLOTS - (tx - prs) >= 1 -> skip
		:: else ->
			LOAD_PEER(F_RX, t1);
			if
			:: t1 < prs || t1 > tx -> t1 = 0; ANOMALY()   /* not in [seen, tx] */
			:: else -> prs = t1; t1 = 0
			fi
		fi;
		if
		:: ok -> skip
		:: !ok && NSLOTS - (tx - prs) >= 1 && dry -> ok = 1
		:: !ok && NSLOTS - (tx - prs) >= 1 && !dry ->
#ifndef MUTANT_NO_RETIRE
			if        /* §7.5 retiring tx-finals: first ring write of a session */
			:: !txstarted ->
				STORE(F_FGEN, 0);
				STORE(F_FTX, 0);
				txstarted = 1
			:: else -> skip
			fi;
#endif
			STORE(F_SLOT0 + tx % NSLOTS, ENC(nm, txseq, gen));
			if        /* publish: store-release tx_pos; the send is done */
			:: DIE
			:: d_step {
				PUT(F_TX, tx + 1);
				sent = sent | BIT(nm);
				nm++; nextmsg = nm; tx++; txseq++
			   }
			fi;
			NOTIFY(EV_R, NOROOM);
			ok = 1
		:: else -> skip
		fi
	:: me == 1 ->
		if
		:: pts - rx >= 1 -> skip
		:: else ->
			LOAD_PEER(F_TX, t1);
			if
			:: t1 < rx || t1 - rx > NSLOTS || t1 < pts -> t1 = 0; ANOMALY() /* over-full, backwards */
			:: else -> pts = t1; t1 = 0
			fi
		fi;
		if
		:: ok -> skip
		:: !ok && pts != rx && dry -> ok = 1
		:: !ok && pts != rx && !dry ->
#ifndef MUTANT_V2_FINALS
			if        /* retiring rx-finals: first consumption of a session */
			:: !rxstarted ->
				STORE(F_FOF, 0);
				STORE(F_FRX, 0);
				rxstarted = 1
			:: else -> skip
			fi;
#endif
			LOAD_PEER(F_SLOT0 + rx % NSLOTS, v);
			assert(DSEQ(v) == rxseq);   /* else a protocol error */
			if        /* release: store-release rx_pos; recv returns it */
			:: DIE
			:: d_step {
				PUT(F_RX, rx + 1);
				assert(DGEN(v) == pgen);               /* P3 */
				assert(DMSG(v) >= 1 && (sent & BIT(DMSG(v))) != 0);
				assert((recvd & BIT(DMSG(v))) == 0);   /* P2 */
				assert((disc & BIT(DMSG(v))) == 0);    /* P1 */
				recvd = recvd | BIT(DMSG(v));
				rx++; rxseq++; v = 0
			   }
			fi;
			NOTIFY(EV_W, NSLOTS - (pts - rx));
			ok = 1
		:: else -> skip
		fi
	:: else -> skip   /* A with nothing left to send */
	fi
}

/* ---- sleeping (§11.3) -------------------------------------------------- */

#ifdef POLLING
/* Notification abstracted away: a perfect wake-up. The side blocks until a
 * peer field it based its last decision on has changed (state, gen and
 * peer_gen of its last snapshot; while established, the peer position it
 * waits for: positions are only read then). */
inline SLEEP() {
	printf("T %d waits\n", me);
end_wait:
	d_step {
		MEM(1 - me, F_ST) != sps || MEM(1 - me, F_GEN) != spg ||
		MEM(1 - me, F_PGEN) != sppg ||
		(st == EST && me == 0 && nm <= NMSG && MEM(1 - me, F_RX) != prs) ||
		(st == EST && me == 1 && MEM(1 - me, F_TX) != pts) ->
		sps = 0; spg = 0; sppg = 0
	}
}
#else
inline SLEEP() {
	d_step {
		ss = st; sg = gen;
		ev = EV_S | (me == 1 -> EV_R : (nm <= NMSG -> EV_W : 0));
#ifndef NO_RELABEL
		/* Canonical form: only this side compares the peer's doorbell, with
		 * the snapshot d it takes below, and it holds none now. So shift
		 * the peer's doorbell (memory, buffered store, the peer's count)
		 * to make memory read 0: the same future, fewer states. */
		t1 = MEM(1 - me, F_DB);
		if
		:: t1 != 0 ->
			MEM(1 - me, F_DB) = 0;
			dbv[1 - me] = (dbv[1 - me] + DBMOD - t1) % DBMOD;
			bi = 0;
			do
			:: bi < blen[1 - me] ->
				if
				:: baddr[(1 - me) * BUFSZ + bi] == F_DB ->
					bval[(1 - me) * BUFSZ + bi] = (bval[(1 - me) * BUFSZ + bi] + DBMOD - t1) % DBMOD
				:: else -> skip
				fi;
				bi++
			:: else -> break
			od;
			bi = 0
		:: else -> skip
		fi;
		t1 = 0
#endif
	};
#ifndef MUTANT_LATE_DOORBELL
	LOAD_PEER(F_DB, d);
#endif
#ifndef MUTANT_NO_SEQ
	wseq = (wseq + 1) % SEQMOD;
#endif
	if
	:: ev & EV_W -> STORE(F_NEED, 1)     /* wait_need: one record */
	:: else -> skip                      /* (only read with bit 2) */
	fi;
	STORE(F_WAIT, (wseq << 3) | ev);
#ifndef MUTANT_SLEEPER_NO_FENCE
	FENCE();
#endif
	/* re-check: the state machine and the condition */
	STEP();
	ok = (st != ss || gen != sg);
	if
	:: !ok && st == EST -> DATA(1)
	:: else -> skip
	fi;
#ifdef MUTANT_LATE_DOORBELL
	LOAD_PEER(F_DB, d);
#endif
	if
	:: ok -> skip
	:: else ->
		printf("T %d sleeps d=%d\n", me, d);
end_sleep:
		d_step { MEM(1 - me, F_DB) != d }
	fi;
	d_step { ok = 0; d = 0; ss = 0; sg = 0; ev = 0 };
	STORE_BUF(F_WAIT, wseq << 3)
}
#endif

/* ---- attach and close (§7.5) ------------------------------------------- */

inline ATTACH() {
	/* Region attach: the domain slot, magic last (§5). Rewriting the same
	 * value in a later attach changes nothing a peer can see: skip it. */
	d_step { LOAD_OWN(F_MAGIC, t1) };
	if
	:: t1 == 0 -> STORE(F_MAGIC, 1)
	:: else -> skip
	fi;
	d_step {                    /* read our own line: the predecessor's */
		LOAD_OWN(F_ST, os);
		LOAD_OWN(F_GEN, gen);
		LOAD_OWN(F_PGEN, pgen);
		LOAD_OWN(F_TX, tx);
		LOAD_OWN(F_RX, rx);
		LOAD_OWN(F_DB, dbv[me]);
		LOAD_OWN(F_WAIT, wseq);
		wseq = wseq >> 3;
		t1 = 0
	};
	if
	:: os == EST ->
#if defined(MUTANT_ATTACH_NO_FINALS)
		skip
#elif !defined(MUTANT_V2_FINALS)
		/* write only the pairs an interrupted end of session left missing:
		 * a live session's pairs are retired (0), an ended one's match */
		d_step { LOAD_OWN(F_FTX, t1); LOAD_OWN(F_FRX, t2) };
		if
		:: tx != 0 && t1 != tx -> t1 = 0; STORE(F_FGEN, gen); STORE(F_FTX, tx)
		:: else -> t1 = 0
		fi;
		if
		:: rx != 0 && t2 != rx -> t2 = 0; STORE(F_FOF, pgen); STORE(F_FRX, rx)
		:: else -> t2 = 0
		fi
#else
		WRITE_FINALS(gen, tx, pgen, rx)
#endif
	:: else -> skip
	fi;
	if
	:: VALID(os) ->
		d_step {
			LOAD_OWN(F_FGEN, agen);
			LOAD_OWN(F_FTX, aend);
			aact = (agen != 0 && aend != 0);
			aprev = aact;
			if :: !aact -> agen = 0; aend = 0 :: else -> skip fi
		}
	:: else ->
		/* A line never used: zero the finals. No account anywhere can
		 * refer to a side that never attached, so nobody can tell these
		 * four stores apart: one transition (after the older stores). */
		if
		:: DIE
		:: d_step {
			blen[me] == 0 ->
			MEM(me, F_FGEN) = 0; MEM(me, F_FTX) = 0;
			MEM(me, F_FOF) = 0; MEM(me, F_FRX) = 0
		   }
		fi
	fi;
	d_step { os = 0; pgen = 0; tx = 0; rx = 0 };
	ENTER_SYNC()
}

inline CLOSE() {
	if
	:: st == EST -> WRITE_FINALS(gen, tx, pgen, rx)
	:: else -> skip
	fi;
	STORE(F_ST, CLOSED);
	st = CLOSED;
	NOTIFY_STATE()
}

/* ---- processes --------------------------------------------------------- */

proctype Side(bit me)
{
	byte st, gen, pgen, tx, rx, txseq, rxseq, prs, pts;
	bool aact, aprev;
	byte agen, aend, aseen;
	byte notified, wseq;
	byte ps, pg, ppg, os;
#ifdef POLLING
	byte sps, spg, sppg;
#endif
	byte gc;          /* generation allocator: survives restarts, never repeats */
	byte nm = 1;      /* A's application: next message number, survives restarts */
	byte t1, t2, d, ss, sg, ev, cons, p, bi;
	bool ok, exact, txstarted, rxstarted;
	short v;

restart:
	printf("T %d attach\n", me);
	d_step {
		st = 0; gen = 0; pgen = 0; tx = 0; rx = 0; txseq = 0; rxseq = 0;
		prs = 0; pts = 0; aact = 0; aprev = 0; agen = 0; aend = 0; aseen = 0;
		notified = NONE; wseq = 0; ps = 0; pg = 0; ppg = 0; os = 0;
		t1 = 0; t2 = 0; d = 0; ss = 0; sg = 0; ev = 0; cons = 0; p = 0;
		ok = 0; exact = 0; v = 0; txstarted = 0; rxstarted = 0
	};
	ATTACH();
	do
	:: CAN_DIE ->            /* the application closes the channel */
		d_step { events[me]++; printf("T %d CLOSE\n", me) };
		CLOSE();
		goto restart         /* the process ends; a successor attaches */
	:: true ->
		STEP();
		if
		:: st == EST -> DATA(0)
		:: else -> skip
		fi;
		if
		:: ok -> ok = 0
		:: else -> SLEEP()
		fi
	od;
killed:                          /* locals lost; the store buffer drains on */
	goto restart
}

/* The CPU drains a side's store buffer into memory, oldest store first. */
proctype Drain(bit s)
{
	byte i;
end:
	do
	:: d_step {
		blen[s] > 0 ->
		MEM(s, baddr[s * BUFSZ]) = bval[s * BUFSZ];
		printf("T %d visible %d = %d\n", s, baddr[s * BUFSZ], bval[s * BUFSZ]);
		i = 0;
		do
		:: i + 1 < blen[s] ->
			baddr[s * BUFSZ + i] = baddr[s * BUFSZ + i + 1];
			bval[s * BUFSZ + i] = bval[s * BUFSZ + i + 1];
			i++
		:: else -> break
		od;
		blen[s]--;
		baddr[s * BUFSZ + blen[s]] = 0;
		bval[s * BUFSZ + blen[s]] = 0;
		i = 0
	}
	od
}

/* Quiescence: nothing else can move (restarts are over, both sides sleep).
 * Then the channel must be established, everything sent, the ring empty,
 * and every message received exactly once or reported discarded. */
proctype Checker()
{
	byte m;
	timeout ->
	assert(MEM(0, F_ST) == EST && MEM(1, F_ST) == EST);
	assert(MEM(0, F_PGEN) == MEM(1, F_GEN) && MEM(1, F_PGEN) == MEM(0, F_GEN));
	assert(nextmsg == NMSG + 1);                /* A sent everything */
	assert(MEM(0, F_TX) == MEM(1, F_RX));       /* B's wake-ups not lost */
	m = 1;
	do
	:: m <= NMSG ->
		assert(((recvd >> m) & 1) + ((disc >> m) & 1) == 1);
		m++
	:: else -> break
	od
}

init {
	atomic {
		run Drain(0);
		run Drain(1);
		run Side(0);
		run Side(1);
		run Checker()
	}
}

/* Non-progress search (make model, -DNP): sends, receives and restarts are
 * bounded, so any infinite run is a livelock. */
