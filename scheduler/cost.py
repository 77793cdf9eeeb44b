"""Analytical cost model: cycles of each instruction, and of a whole program on four queues.

`insn_cycles` estimates one instruction from its fields alone, with the throughputs measured on
the RTL's blocks (docs/matmul_engine.md, docs/vector_engine.md, docs/dma.md). `predict` then
plays the program the way the NPU runs it: instructions are dispatched in program order into
queues of the configuration's `queue_depth`, each queue runs its instructions one at a time,
and an instruction starts only after the producers it waits on (its semaphores) have finished.
The result is the predicted cycle count that `make sim` prints beside the measured one. Bursts
in flight are the configuration's too (hwdef/configs.toml).

The DRAM is one of hwdef's DRAM_MODES (`CostParams.dram`): "config", the configuration's DRAM
(its bandwidth and latency), or "unlimited", the model before the bandwidth limit (a beat per
cycle in each direction, `dram_unlimited_latency`). The configuration's DRAM is one channel
shared by reads and writes (docs/dma.md): each DMA instruction's transfer (its beats x line
bytes / bytes per cycle) is booked on a channel timeline that both DMA queues share, in the
first free cycles from when its data can move (a load's after the read latency, a store's at
once; the store's write response follows its last beat). Instruction fetch reads the same
channel: each instruction's word is booked when it starts. The unlimited DRAM has no channel.

The MATMUL constants are measured, then fitted: `matmul_head` and `matmul_tail` are the
matrix engine's own latencies (docs/matmul_engine.md: checks, first weight tile, drain; the
block bench runs four MATMULs back to back 26 cycles over their rows), `matmul_gap` is fitted to
the RTL's per-instruction trace of BERT N=512 mas on `default` (take/retire of all 352 MATMULs,
bench/trace.py): in a real attention run the rows of consecutive MATMULs follow each other
about 28 cycles later than the engine alone allows (scratchpad bank conflicts with the vector
engine and DMA, the C port's turn between instructions). With 25, the bench's BERT N=512 runs
(README) are predicted within -0.9%..+1.4% for mas and -3.5%..+3.4% for FLAT on `default` and
`small`.

`CostParams()` is the unlimited DRAM; the tiling search (search.py) ranks its candidates with
the configuration's (`search.RANKING`), whatever DRAM a run will use, so a schedule's program
does not depend on it; `build_schedule` predicts the chosen program with the DRAM it is given
(default: the configuration's).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from hwdef import HwConfig, isa
from hwdef.params import AXI_MAX_BURST_BEATS, VecOp
from npu_model import semantics as sem
from scheduler.sync import Insn

START_CYCLES = 30        # fetch of the first instructions after START


@dataclass(frozen=True)
class CostParams:
    dram: str = "unlimited"          # hwdef.DRAM_MODES: the DRAM below defaults to this one's
    dram_latency: int | None = None  # cycles from AR to the first R beat (None: the mode's)
    dram_bytes_per_cycle: int | None = None  # the shared channel (None: the mode's; 0: none)
    matmul_head: int = 9             # + Dim: take to first row in the array (checks, launch,
                                     # the first weight tile's Dim rows, FIFO stages)
    matmul_tail: int = 2             # + 2 Dim with emit: last row to done (drain, C write)
    matmul_gap: float = 25.0         # cycles between two MATMULs' rows in flight together
                                     # (fitted: BERT N=512 mas on default's RTL, see above)
    weight_tile_min: float = 1.4     # x Dim: cycles per weight tile when rows are few
    vector_fixed: int = 7            # handshake to done (RECIP: +6)
    dma_fixed: int = 8


def _dram(cfg: HwConfig, p: CostParams) -> tuple[int, int]:
    """(bytes per cycle, latency) of the DRAM *p* describes."""
    bytes_per_cycle, latency = cfg.dram_model(p.dram)
    if p.dram_bytes_per_cycle is not None:
        bytes_per_cycle = p.dram_bytes_per_cycle
    return bytes_per_cycle, latency if p.dram_latency is None else p.dram_latency


def _bursts(row_bytes: int, line_bytes: int) -> int:
    """Bursts of one row, counting only the AXI length limit (4 KiB splits are ignored)."""
    return max(1, -(-row_bytes // (AXI_MAX_BURST_BEATS * line_bytes)))


def insn_cycles(cfg: HwConfig, insn: Insn, p: CostParams = CostParams()) -> float:
    f = insn.fields
    if insn.mnemonic == "MATMUL":
        return sum(matmul_phases(cfg, insn, p))
    if insn.mnemonic == "VECTOR":
        op = VecOp(f["op"])
        per_row = sem.vectors_per_row(f["row_len"], cfg.vector_lanes)
        nvec = f["rows"] * per_row
        fixed = p.vector_fixed + (6 if op == VecOp.RECIP else 0)
        extra = 2 * (f["release_a"] + (f["lock_readers"] > 0))
        return nvec * _vector_bank_load(cfg, f, op, per_row) + fixed + extra
    if insn.mnemonic in ("DMA_LOAD", "DMA_STORE"):
        d = _dma(cfg, insn, p)
        return p.dma_fixed + d.latency + d.stream + d.pad
    return 1


def matmul_phases(cfg: HwConfig, insn: Insn, p: CostParams = CostParams()) -> tuple[float, ...]:
    """A MATMUL's (head, stream, tail): from taken to its first row entering the array, its
    rows streaming (one per cycle, or the weight tile loads when a tile has few rows), and from
    the last row to done (the drain through the array and the C write with emit; the release
    reads and lock marks). With two in flight (hwdef matmul_inflight) the head and tail overlap
    the neighbours' streams (`predict`)."""
    f, dim = insn.fields, cfg.array_dim
    tiles = f["k_tiles"] * f["n_tiles"]
    per_tile = max(f["rows"], p.weight_tile_min * dim)
    regions = 2 * (f["release_a"] + f["release_b"] + (f["lock_readers"] > 0))
    tail = p.matmul_tail + (2 * dim if f["emit"] else 0) + regions
    return dim + p.matmul_head, tiles * per_tile, tail


@dataclass(frozen=True)
class _Dma:
    latency: int
    stream: float      # cycles the data moves on an idle channel
    pad: int           # padding lines a load writes after its data
    channel: float     # channel cycles its beats take (0: unlimited DRAM, no shared channel)


def _dma(cfg: HwConfig, insn: Insn, p: CostParams) -> _Dma:
    """A DMA instruction's phases: the data moves one beat per cycle, at the latency bound of
    its bursts in flight, or at the channel's bandwidth, whichever is slowest."""
    f, lb = insn.fields, cfg.line_bytes
    rows, rb = f["rows"], f["row_bytes"]
    beats = rows * -(-rb // lb)
    bursts = rows * _bursts(rb, lb)
    bpc, latency = _dram(cfg, p)
    latency_bound = bursts * latency / cfg.dma_max_bursts
    channel = beats * lb / bpc if bpc else 0.0
    pad = 0
    if insn.mnemonic == "DMA_LOAD":
        pad = max(0, f["pad_rows"] * -(-f["pad_bytes"] // lb) - beats)
    return _Dma(latency, max(beats, latency_bound, channel), pad, channel)


class Channel:
    """The DRAM channel's timeline: disjoint busy intervals, sorted. `book` gives a transfer
    the first free cycles from its ready time (split over gaps if need be)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []

    def book(self, ready: float, length: float) -> float:
        """Occupy *length* free cycles from *ready* on; returns the end of the last one."""
        i = bisect.bisect_right(self.ends, ready)    # first interval ending after ready
        t, left = ready, length
        pieces = []
        while left > 0:
            gap_end = self.starts[i] if i < len(self.starts) else float("inf")
            if t < gap_end:
                take = min(left, gap_end - t)
                pieces.append((t, t + take))
                left -= take
                t += take
            if left > 0:
                t = max(t, self.ends[i])
                i += 1
        for s, e in pieces:
            self._insert(s, e)
        return t

    def _insert(self, s: float, e: float) -> None:
        i = bisect.bisect_left(self.starts, s)
        # merge with the neighbours it touches
        if i > 0 and self.ends[i - 1] >= s:
            i -= 1
            s = self.starts[i]
            e = max(e, self.ends[i])
            del self.starts[i], self.ends[i]
        while i < len(self.starts) and self.starts[i] <= e:
            e = max(e, self.ends[i])
            del self.starts[i], self.ends[i]
        self.starts.insert(i, s)
        self.ends.insert(i, e)


def _vector_bank_load(cfg: HwConfig, f: dict, op: VecOp, per_row: int) -> float:
    """Cycles per vector: the busiest bank's accesses per vector (each bank serves one access
    per cycle), at least one."""
    def width(etype):   # line accesses per vector
        return 1.0 if etype == isa.ElemType.INT32 else 0.25

    load: dict[int, float] = {}
    bank = lambda addr: addr // cfg.spad_bank_lines  # noqa: E731
    load[bank(f["a_addr"])] = width(f["a_type"])
    if f["b_mode"] == isa.BMode.VECTOR:
        load[bank(f["b_addr"])] = load.get(bank(f["b_addr"]), 0) + width(f["a_type"])
    d = 1.0 / per_row if op.is_reduction else width(f["dst_type"])
    load[bank(f["dst_addr"])] = load.get(bank(f["dst_addr"]), 0) + d
    return max(1.0, max(load.values()))


@dataclass
class Prediction:
    cycles: int
    busy: dict          # queue name -> predicted busy cycles
    overlap: int        # predicted cycles with matrix and vector both busy


def semaphore_producers(insns: list[Insn]) -> dict[int, list[int]]:
    """Instruction index -> the indices of the instructions its semaphore waits meet: the k-th
    wait on a semaphore meets its k-th signal (the counting semaphores of scheduler/sync.py)."""
    signals: dict[int, list[int]] = {}
    for insn in insns:
        for signal in insn.signals:
            signals.setdefault(signal, []).append(insn.index)
    taken: dict[int, int] = {}
    out: dict[int, list[int]] = {}
    for insn in insns:
        out[insn.index] = []
        for wait in insn.waits:
            k = taken.get(wait, 0)
            out[insn.index].append(signals[wait][k])
            taken[wait] = k + 1
    return out


def predict(cfg: HwConfig, insns: list[Insn], p: CostParams = CostParams(),
            cost=None, timeline: list | None = None) -> Prediction:
    """List-schedule *insns* (program order) on the four queues. *cost* replaces
    `insn_cycles` (tests use random durations); *timeline*, if given, receives
    (start, end) per instruction."""
    end: list[float] = []
    busy: dict[isa.Queue, float] = {}
    intervals: dict[isa.Queue, list[tuple[float, float]]] = {}
    producers = semaphore_producers(insns)
    dispatch = float(START_CYCLES)
    channel = Channel()
    bytes_per_cycle = _dram(cfg, p)[0]
    stream_end = 0.0      # the matrix engine's last row of the previous MATMUL
    for insn in insns:
        q = insn.queue
        spans = intervals.setdefault(q, [])
        if len(spans) >= cfg.queue_depth:
            dispatch = max(dispatch, spans[-cfg.queue_depth][0])   # wait for a free queue slot
        dispatch += 1
        start = dispatch
        # An engine takes an instruction while fewer than its maximum are in flight: one, or
        # the matrix engine's matmul_inflight.
        depth = cfg.matmul_inflight if q == isa.Queue.MATRIX else 1
        if len(spans) >= depth:
            start = max(start, spans[-depth][1] + 1)
        if spans:
            start = max(start, spans[-1][0] + 1)      # taken in program order
        for prod in producers[insn.index]:
            start = max(start, end[prod] + 1)
        cycles = cost(insn) if cost else insn_cycles(cfg, insn, p)
        if not cost and insn.mnemonic == "MATMUL" and depth > 1:
            # Two in flight: this one's rows follow the previous one's last row as soon as its
            # own checks and first weight tile are done (the engine loads that tile while the
            # previous one's last tile streams, docs/matmul_engine.md), matmul_gap later.
            head, stream, tail = matmul_phases(cfg, insn, p)
            first = start + head
            if spans:
                first = max(first, stream_end + 1 + p.matmul_gap)
            stream_end = first + stream
            cycles = stream_end + tail - start
        if not cost and bytes_per_cycle:
            channel.book(start, isa.INSN_BYTES / bytes_per_cycle)     # its fetch, about then
        if not cost and bytes_per_cycle and insn.mnemonic in ("DMA_LOAD", "DMA_STORE"):
            d = _dma(cfg, insn, p)
            if d.channel:
                # A load's beats move after the read latency, a store's at once (its write
                # response follows the last beat); both wait for free channel cycles.
                load = insn.mnemonic == "DMA_LOAD"
                ready = start + p.dma_fixed + (d.latency if load else 0)
                moved = max(ready + d.stream, channel.book(ready, d.channel))
                cycles = max(cycles, moved + (d.pad if load else d.latency) - start)
        if depth > 1 and spans:
            # Instructions in flight together retire in program order (a semaphore a later one
            # signals implies every earlier one of its queue is done, as on one at a time).
            cycles = max(cycles, spans[-1][1] + 1 - start)
        end.append(start + cycles)
        if timeline is not None:
            timeline.append((start, start + cycles))
        # Busy: the union of the queue's instructions in flight (they overlap on the matrix
        # engine with two in flight).
        busy[q] = busy.get(q, 0) + max(0.0, start + cycles - max(start, spans[-1][1]
                                                                   if spans else start))
        spans.append((start, start + cycles))
    total = max(end, default=0) + 2
    overlap = overlap_cycles(union(intervals.get(isa.Queue.MATRIX, [])),
                             intervals.get(isa.Queue.VECTOR, []))
    return Prediction(int(total), {q.name: int(v) for q, v in busy.items()}, int(overlap))


class LowerBound:
    """Cycles `predict` cannot go below for a program, whatever semaphores it gets, taken one
    instruction at a time (`add`; `cycles` only grows): the busiest queue, each instruction
    at its own `insn_cycles` one after the other (the matrix engine's streams one after the
    other, `matmul_gap` apart, with two in flight), the queues in *serialize* as one queue,
    and the DRAM channel's beats. It needs only the instructions' fields (sync.SyncEmitter
    without dependencies, a tenth of the cost of the program), so the tiling search predicts
    only the candidates whose bound can still win, and stops emitting a candidate once its
    bound is above the best prediction.

    Each term follows a rule of `predict`: an instruction starts after its queue's previous
    one is done (one in flight) or its rows after the previous one's (two in flight:
    stream_end + 1 + matmul_gap); a serialized queue's instruction waits for the previous
    serialized one; a DMA instruction ends no earlier than its booking on the channel, whose
    bookings are disjoint and start after START_CYCLES."""

    def __init__(self, cfg: HwConfig, p: CostParams = CostParams(),
                 serialize: tuple[isa.Queue, ...] = ()):
        self.cfg, self.p, self.serialize = cfg, p, serialize
        self.bytes_per_cycle = _dram(cfg, p)[0]
        self.chains: dict[object, float] = {}   # queue (or "serialized") -> end so far
        self.last: dict[object, Insn] = {}      # queue (or "serialized") -> its last insn
        self.channel = 0.0
        self.cycles = START_CYCLES

    def add(self, insn: Insn) -> int:
        """Take the next instruction (program order); returns the bound so far."""
        cfg, p = self.cfg, self.p
        key = "serialized" if insn.queue in self.serialize else insn.queue
        prev = self.last.get(key)
        if (insn.mnemonic == "MATMUL" and cfg.matmul_inflight > 1 and prev is not None
                and prev.mnemonic == "MATMUL"):
            # Its rows follow the previous MATMUL's last row: the previous one's tail gives
            # way to this one's gap, stream and tail.
            _, _, prev_tail = matmul_phases(cfg, prev, p)
            _, stream, tail = matmul_phases(cfg, insn, p)
            chain = self.chains[key] + 1 + p.matmul_gap + stream + tail - prev_tail
        else:
            chain = self.chains.get(key, 0.0) + insn_cycles(cfg, insn, p) + 1
        self.chains[key] = chain
        self.last[key] = insn
        if self.bytes_per_cycle and insn.mnemonic in ("DMA_LOAD", "DMA_STORE"):
            self.channel += _dma(cfg, insn, p).channel
        self.cycles = max(self.cycles, int(START_CYCLES + max(chain, self.channel)))
        return self.cycles


def lower_bound(cfg: HwConfig, insns: list[Insn], p: CostParams = CostParams(),
                serialize: tuple[isa.Queue, ...] = ()) -> int:
    """`LowerBound` of a whole program."""
    bound = LowerBound(cfg, p, serialize)
    for insn in insns:
        bound.add(insn)
    return bound.cycles


def union(spans: list) -> list:
    """Sorted (start, end) intervals merged where they overlap or touch."""
    out: list[tuple[float, float]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def overlap_cycles(a: list, b: list) -> float:
    """Cycles in which both lists of (start, end) intervals are busy (each list sorted and
    non-overlapping): the prediction's and the RTL trace's matrix-vector overlap."""
    i = j = 0
    total = 0.0
    while i < len(a) and j < len(b):
        total += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total
