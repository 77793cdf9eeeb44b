"""Analytical cost model: cycles of each instruction, and of a whole program on four queues.

`insn_cycles` estimates one instruction from its fields alone, with the throughputs measured on
the RTL's blocks (docs/matmul_engine.md, docs/vector_engine.md, docs/dma.md). `predict` then
plays the program the way the NPU runs it: instructions are dispatched in program order into
queues of the configuration's `queue_depth`, each queue runs its instructions one at a time,
and an instruction starts only after the producers it waits on (its semaphores) have finished.
The result is the predicted cycle count that `make sim` prints beside the measured one. DRAM
latency and bursts in flight are the configuration's too (hwdef/configs.toml).
"""

from __future__ import annotations

from dataclasses import dataclass

from hwdef import HwConfig, isa
from hwdef.params import AXI_MAX_BURST_BEATS, VecOp
from npu_model import semantics as sem
from scheduler.sync import Insn

START_CYCLES = 30        # fetch of the first instructions after START


@dataclass(frozen=True)
class CostParams:
    dram_latency: int | None = None  # cycles from AR to the first R beat (None: hwdef's)
    matmul_fixed: float = 3.6        # x Dim: checks, first weight tile, drain (570-cycle case)
    weight_tile_min: float = 1.4     # x Dim: cycles per weight tile when rows are few
    vector_fixed: int = 7            # handshake to done (RECIP: +6)
    dma_fixed: int = 8


def _bursts(row_bytes: int, line_bytes: int) -> int:
    """Bursts of one row, counting only the AXI length limit (4 KiB splits are ignored)."""
    return max(1, -(-row_bytes // (AXI_MAX_BURST_BEATS * line_bytes)))


def insn_cycles(cfg: HwConfig, insn: Insn, p: CostParams = CostParams()) -> float:
    f, lb, dim = insn.fields, cfg.line_bytes, cfg.array_dim
    if insn.mnemonic == "MATMUL":
        tiles = f["k_tiles"] * f["n_tiles"]
        per_tile = max(f["rows"], p.weight_tile_min * dim)
        regions = 2 * (f["release_a"] + f["release_b"] + (f["lock_readers"] > 0))
        return p.matmul_fixed * dim + tiles * per_tile + regions
    if insn.mnemonic == "VECTOR":
        op = VecOp(f["op"])
        per_row = sem.vectors_per_row(f["row_len"], cfg.vector_lanes)
        nvec = f["rows"] * per_row
        fixed = p.vector_fixed + (6 if op == VecOp.RECIP else 0)
        extra = 2 * (f["release_a"] + (f["lock_readers"] > 0))
        return nvec * _vector_bank_load(cfg, f, op, per_row) + fixed + extra
    if insn.mnemonic in ("DMA_LOAD", "DMA_STORE"):
        rows, rb = f["rows"], f["row_bytes"]
        beats = rows * -(-rb // lb)
        bursts = rows * _bursts(rb, lb)
        latency = cfg.dram_latency if p.dram_latency is None else p.dram_latency
        latency_bound = bursts * latency / cfg.dma_max_bursts
        pad = 0
        if insn.mnemonic == "DMA_LOAD":
            pad = max(0, f["pad_rows"] * -(-f["pad_bytes"] // lb) - beats)
        return p.dma_fixed + latency + max(beats, latency_bound) + pad
    return 1


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


def predict(cfg: HwConfig, insns: list[Insn], p: CostParams = CostParams(),
            cost=None, timeline: list | None = None) -> Prediction:
    """List-schedule *insns* (program order) on the four queues. *cost* replaces
    `insn_cycles` (tests use random durations); *timeline*, if given, receives
    (start, end) per instruction."""
    end: list[float] = []
    busy: dict[isa.Queue, float] = {}
    intervals: dict[isa.Queue, list[tuple[float, float]]] = {}
    producers: dict[int, list[int]] = {}
    # Map each wait back to its producer: the k-th signal of a semaphore meets its k-th wait.
    signals: dict[int, list[int]] = {}
    for insn in insns:
        for signal in insn.signals:
            signals.setdefault(signal, []).append(insn.index)
    taken: dict[int, int] = {}
    for insn in insns:
        producers[insn.index] = []
        for wait in insn.waits:
            k = taken.get(wait, 0)
            producers[insn.index].append(signals[wait][k])
            taken[wait] = k + 1
    dispatch = float(START_CYCLES)
    for insn in insns:
        q = insn.queue
        spans = intervals.setdefault(q, [])
        if len(spans) >= cfg.queue_depth:
            dispatch = max(dispatch, spans[-cfg.queue_depth][0])   # wait for a free queue slot
        dispatch += 1
        start = dispatch
        if spans:
            start = max(start, spans[-1][1] + 1)
        for prod in producers[insn.index]:
            start = max(start, end[prod] + 1)
        cycles = cost(insn) if cost else insn_cycles(cfg, insn, p)
        end.append(start + cycles)
        if timeline is not None:
            timeline.append((start, start + cycles))
        busy[q] = busy.get(q, 0) + cycles
        spans.append((start, start + cycles))
    total = max(end, default=0) + 2
    overlap = overlap_cycles(intervals.get(isa.Queue.MATRIX, []),
                             intervals.get(isa.Queue.VECTOR, []))
    return Prediction(int(total), {q.name: int(v) for q, v in busy.items()}, int(overlap))


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
