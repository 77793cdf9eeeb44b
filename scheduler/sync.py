"""Program emission with automatic semaphore synchronization.

A schedule is written as a *sequential* program: instructions in an order in which running them
one at a time gives the right result (this is also how npu_model/executor.NpuModel runs them).
`SyncEmitter` works out what each instruction reads and writes (scratchpad lines and DRAM
granules, from the encoded fields, never from the scheduler's say-so), finds the earlier
instructions it depends on (read after write, write after read, write after write) and turns
every dependency between two different queues into a semaphore wait/signal pair. The queues then
run concurrently and the hardware result equals the sequential one.

Semaphore discipline: one counting semaphore per ordered pair of queues (producer -> consumer).
Dependencies that are already implied (by queue order, or transitively through another queue)
are dropped, so along each pair both the signals (in the producer's queue order) and the waits
(in the consumer's queue order) are strictly increasing and match one to one: the k-th wait
passes exactly when the k-th signal has arrived. Twelve pairs fit in the 16 semaphores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from firmware_gen.program import Program, load_defaults
from hwdef import HwConfig, isa
from npu_model import semantics as sem

QUEUES = (isa.Queue.DMA_IN, isa.Queue.DMA_OUT, isa.Queue.MATRIX, isa.Queue.VECTOR)
SEMAPHORE_OF = {(p, c): n for n, (p, c) in enumerate(
    (p, c) for p in QUEUES for c in QUEUES if p != c)}


@dataclass
class Insn:
    index: int                 # position in the program
    mnemonic: str
    fields: dict
    queue: isa.Queue
    position: int              # position within its queue
    note: str = ""
    word: int = 0                               # encoded, semaphores not yet added
    waits: set = field(default_factory=set)     # semaphores
    signals: set = field(default_factory=set)
    known: dict = field(default_factory=dict)   # queue -> last position complete before start


class Footprint:
    """Scratchpad lines (non-negative keys) and DRAM granules (negative keys) an instruction
    reads and writes, from npu_model.semantics (docs/isa.md field by field)."""

    def __init__(self, cfg: HwConfig, dram_granule: int = 64):
        self.cfg, self.gran = cfg, dram_granule

    def of(self, mnemonic: str, f: dict) -> tuple[set, set]:
        acc = sem.access(self.cfg, mnemonic, f)
        reads: set[int] = set()
        for span in acc.reads:
            reads.update(span.lines())
        writes = set(acc.write.lines()) if acc.write is not None else set()
        if acc.dram_read is not None:
            reads.update(-1 - g for g in acc.dram_read.granules(self.gran))
        if acc.dram_write is not None:
            writes.update(-1 - g for g in acc.dram_write.granules(self.gran))
        return reads, writes


_ZERO_FIELDS: dict[str, dict[str, int]] = {}


def _zero_fields(mnemonic: str) -> dict[str, int]:
    """The instruction's own fields (the header's left out), in encoding order, all 0."""
    zeros = _ZERO_FIELDS.get(mnemonic)
    if zeros is None:
        zeros = _ZERO_FIELDS[mnemonic] = dict.fromkeys(
            (fld.name for fld, _ in isa.BY_MNEMONIC[mnemonic].layout()[len(isa.HEADER):]), 0)
    return zeros


class ProgramFull(Exception):
    """More instructions than the emitter was allowed (the program would not fit in DRAM)."""


class SyncEmitter:
    """Collects a sequential program and adds the semaphores that make it concurrent.

    `serialize` lists queues that must never run at the same time (FLAT's schedule: the matrix
    and vector units alternate); each instruction of those queues then also depends on the
    previous instruction of the others. `max_insns` (None: no limit) makes `emit` raise
    ProgramFull beyond that many instructions, before a program too large for its DRAM has
    taken minutes and gigabytes to build.

    `dependencies=False` keeps only the instructions' fields and queues: no encoding, no
    footprints, no semaphores (the tiling search's lower bound, cost.LowerBound, needs no
    more, at a tenth of the cost). `encode=False` leaves the words out (the search's
    predictions need the semaphores, not the words; the chosen program is built again, with
    them). *observe*, if given, sees each instruction as it is
    emitted (and may raise to stop the emission)."""

    def __init__(self, cfg: HwConfig, serialize: tuple[isa.Queue, ...] = (),
                 max_insns: int | None = None, dependencies: bool = True, encode: bool = True,
                 observe: Callable[[Insn], object] | None = None):
        self.cfg = cfg
        self.max_insns = max_insns
        self.dependencies = dependencies
        self.encode = encode and dependencies
        self.observe = observe
        self.footprint = Footprint(cfg)
        self.insns: list[Insn] = []
        self.serialize = set(serialize)
        self._last_writer: dict[int, int] = {}
        self._readers: dict[int, list[int]] = {}
        self._queue_len = {q: 0 for q in QUEUES}
        self._queue_last: dict[isa.Queue, Insn] = {}
        self._last_serialized: Insn | None = None

    def emit(self, mnemonic: str, *, note: str = "", **fields: int) -> Insn:
        if self.max_insns is not None and len(self.insns) >= self.max_insns:
            raise ProgramFull(self.max_insns)
        queue = isa.BY_MNEMONIC[mnemonic].queue
        if not self.dependencies:       # the search's hot path: fields as given
            full = dict(_zero_fields(mnemonic))
            full.update(load_defaults(fields) if mnemonic == "DMA_LOAD" else fields)
            insn = Insn(len(self.insns), mnemonic, full, queue, self._queue_len[queue], note)
            self.insns.append(insn)
            self._queue_len[queue] += 1
            if self.observe is not None:
                self.observe(insn)
            return insn
        given = {k: int(v) for k, v in fields.items()}
        if mnemonic == "DMA_LOAD":
            given = load_defaults(given)
        full = dict(_zero_fields(mnemonic))
        full.update(given)
        # field ranges are checked here, where the bug is
        word = isa.encode(mnemonic, **given) if self.encode else 0
        reads, writes = self.footprint.of(mnemonic, full)
        last_writer, readers = self._last_writer, self._readers
        deps = {last_writer[key] for key in reads | writes if key in last_writer}
        for key in writes:
            deps.update(readers.get(key, ()))
        if queue in self.serialize and self._last_serialized is not None:
            deps.add(self._last_serialized.index)
        insn = Insn(len(self.insns), mnemonic, full, queue, self._queue_len[queue], note, word)
        self._add_waits(insn, deps)
        last_writer.update(dict.fromkeys(writes, insn.index))
        for key in writes:
            readers[key] = []
        for key in reads:
            if key in readers:
                readers[key].append(insn.index)
            else:
                readers[key] = [insn.index]
        self.insns.append(insn)
        self._queue_len[queue] += 1
        self._queue_last[queue] = insn
        if self.observe is not None:
            self.observe(insn)
        if queue in self.serialize:
            self._last_serialized = insn
        return insn

    def _add_waits(self, insn: Insn, deps: set[int]) -> None:
        prev = self._queue_last.get(insn.queue)
        known = dict(prev.known) if prev else {}
        if prev:
            known[insn.queue] = prev.position
        # Latest producer per other queue, newest first: waiting on it covers older ones.
        latest: dict[isa.Queue, Insn] = {}
        for index in deps:
            dep = self.insns[index]
            if dep.queue != insn.queue and (dep.queue not in latest
                                            or dep.position > latest[dep.queue].position):
                latest[dep.queue] = dep
        for dep in sorted(latest.values(), key=lambda d: -d.index):
            if known.get(dep.queue, -1) >= dep.position:
                continue   # implied by queue order or by an earlier wait
            sem = SEMAPHORE_OF[(dep.queue, insn.queue)]
            if sem in dep.signals:
                raise AssertionError("a producer signals one consumer queue at most once")
            dep.signals.add(sem)
            insn.waits.add(sem)
            known[dep.queue] = dep.position
            for q, pos in dep.known.items():
                if pos > known.get(q, -1):
                    known[q] = pos
        insn.known = known

    def program(self, base: int = 0) -> Program:
        """The finished program (semaphores final), HALT last, to be loaded at *base*."""
        if not self.encode:
            raise AssertionError("an emitter without words (encode=False) has no program")
        prog = Program(base)
        for insn in self.insns:
            prog.append(isa.with_semaphores(insn.word, insn.waits, insn.signals), note=insn.note,
                        checked=True)
        prog.halt()
        return prog
