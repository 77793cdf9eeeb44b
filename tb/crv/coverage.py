"""Functional coverage of the random programs (cocotb-coverage covergroups).

Sampled once per program run that passed its check (a wrong RTL result covers nothing), from
two sources:

* the decoded instruction words the run reached (up to the one that stopped it): every opcode;
  VECTOR operation x element type x saturation; matmul shapes against the array size, tiles,
  transpose, accumulate, emit; DMA direction x ragged rows x 4 KiB crossings, padding, many
  rows; the overwrite-control fields; semaphore waits and signals per instruction, and which
  queue pairs the synchronization semaphores connect;
* the RTL's outcome (what happened): the error code it stopped with, overwrite-control waits
  and strict violations, bank conflicts, semaphore waits per queue, back-pressure from a full
  dispatch queue (the QUEUE_FULL counter), and the DRAM timing the program ran with;
* the matrix queue as the matrix engine sees it (it holds two MATMULs at once, hwdef
  matmul_inflight): what two consecutive instructions of the queue offer it (a second MATMUL
  with no semaphore wait, one reading lines the first emits, one accumulating onto the first's
  rows, an illegal one after a legal one), and what the simulation wrapper saw it do
  (Outcome.observed: two in flight, a launch held back by the read-after-write check, an error
  held behind an older instruction).

Bins are named (`report()` prints each covergroup with its holes); `docs/testplan.md` lists the
covergroups and what fills them. The coverage database is this process's
(`cocotb_coverage.coverage.coverage_db`), so a soak and a test each report their own.
"""

from __future__ import annotations

from pathlib import Path

from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db

from hwdef import isa, load_config
from hwdef.params import SatMode, VecOp
from hwdef.regs import ErrorCode
from npu_model import semantics as sem
from runner.job import HANG, SIM_FAILED, Outcome
from scheduler.sync import SEMAPHORE_OF
from tb.crv.generator import RandomProgram

ROOT = "crv"
_PAIR_OF_SEM = {sem: f"{p.name}->{c.name}" for (p, c), sem in SEMAPHORE_OF.items()}
_QUEUES = ("DMA_IN", "DMA_OUT", "MATRIX", "VECTOR")


def _count_bin(n: int) -> str:
    return "0" if n == 0 else "1" if n == 1 else "2+"


# ---- per instruction --------------------------------------------------------------------
@CoverPoint(f"{ROOT}.insn.opcode", xf=lambda m, f, cfg: m,
            bins=[c.mnemonic for c in isa.INSTRUCTIONS] + ["ILLEGAL"])
@CoverPoint(f"{ROOT}.sem.waits", xf=lambda m, f, cfg: _count_bin(bin(f["wait_mask"]).count("1")),
            bins=["0", "1", "2+"])
@CoverPoint(f"{ROOT}.sem.signals",
            xf=lambda m, f, cfg: _count_bin(bin(f["signal_mask"]).count("1")),
            bins=["0", "1", "2+"])
def _sample_insn(mnemonic: str, f: dict, cfg) -> None:
    pass


@CoverPoint(f"{ROOT}.sem.pair", xf=lambda pair: pair, bins=sorted(_PAIR_OF_SEM.values()))
def _sample_sem_pair(pair: str) -> None:
    pass


@CoverPoint(f"{ROOT}.vector.op", xf=lambda f, cfg: VecOp(f["op"]).name,
            bins=[op.name for op in VecOp])
@CoverPoint(f"{ROOT}.vector.a_type", xf=lambda f, cfg: isa.ElemType(f["a_type"]).name,
            bins=[t.name for t in isa.ElemType])
@CoverPoint(f"{ROOT}.vector.sat", xf=lambda f, cfg: SatMode(f["sat"]).name,
            bins=[s.name for s in SatMode])
@CoverPoint(f"{ROOT}.vector.dst_type", xf=lambda f, cfg: isa.ElemType(f["dst_type"]).name,
            bins=[t.name for t in isa.ElemType])
@CoverPoint(f"{ROOT}.vector.b_mode", xf=lambda f, cfg: isa.BMode(f["b_mode"]).name,
            bins=[b.name for b in isa.BMode])
@CoverPoint(f"{ROOT}.vector.causal", xf=lambda f, cfg: f["causal"], bins=[0, 1])
@CoverPoint(f"{ROOT}.vector.row",
            xf=lambda f, cfg: ("one vector" if f["row_len"] <= cfg.vector_lanes else "several")
            + (", tail" if f["row_len"] % cfg.vector_lanes else ", full"),
            bins=["one vector, full", "one vector, tail", "several, full", "several, tail"])
@CoverPoint(f"{ROOT}.vector.in_place",
            xf=lambda f, cfg: f["dst_addr"] == f["a_addr"] and f["dst_pitch"] == f["a_pitch"],
            bins=[False, True])
@CoverCross(f"{ROOT}.vector.op_x_type_x_sat",
            items=[f"{ROOT}.vector.op", f"{ROOT}.vector.a_type", f"{ROOT}.vector.sat"])
def _sample_vector(f: dict, cfg) -> None:
    pass


def _rows_vs_dim(rows: int, dim: int) -> str:
    return "1" if rows == 1 else "<dim" if rows < dim else "=dim" if rows == dim else ">dim"


@CoverPoint(f"{ROOT}.matmul.rows", xf=lambda f, cfg: _rows_vs_dim(f["rows"], cfg.array_dim),
            bins=["1", "<dim", "=dim", ">dim"])
@CoverPoint(f"{ROOT}.matmul.k_tiles", xf=lambda f, cfg: min(f["k_tiles"], 3), bins=[1, 2, 3])
@CoverPoint(f"{ROOT}.matmul.n_tiles", xf=lambda f, cfg: min(f["n_tiles"], 3), bins=[1, 2, 3])
@CoverPoint(f"{ROOT}.matmul.transpose", xf=lambda f, cfg: f["transpose"], bins=[0, 1])
@CoverPoint(f"{ROOT}.matmul.accumulate", xf=lambda f, cfg: f["accumulate"], bins=[0, 1])
@CoverPoint(f"{ROOT}.matmul.emit", xf=lambda f, cfg: f["emit"], bins=[0, 1])
@CoverPoint(f"{ROOT}.matmul.a_signed", xf=lambda f, cfg: f["a_signed"], bins=[0, 1])
@CoverCross(f"{ROOT}.matmul.rows_x_transpose_x_accumulate",
            items=[f"{ROOT}.matmul.rows", f"{ROOT}.matmul.transpose",
                   f"{ROOT}.matmul.accumulate"])
def _sample_matmul(f: dict, cfg) -> None:
    pass


def _crosses_4k(f: dict) -> bool:
    return any((f["dram_addr"] + r * f["dram_stride"]) // 4096
               != (f["dram_addr"] + r * f["dram_stride"] + f["row_bytes"] - 1) // 4096
               for r in range(f["rows"]))


@CoverPoint(f"{ROOT}.dma.direction", xf=lambda m, f, cfg: m, bins=["DMA_LOAD", "DMA_STORE"])
@CoverPoint(f"{ROOT}.dma.ragged", xf=lambda m, f, cfg: f["row_bytes"] % cfg.line_bytes != 0,
            bins=[False, True])
@CoverPoint(f"{ROOT}.dma.crosses_4k", xf=lambda m, f, cfg: _crosses_4k(f), bins=[False, True])
@CoverPoint(f"{ROOT}.dma.rows", xf=lambda m, f, cfg: _count_bin(f["rows"]), bins=["1", "2+"])
@CoverCross(f"{ROOT}.dma.direction_x_ragged_x_4k",
            items=[f"{ROOT}.dma.direction", f"{ROOT}.dma.ragged", f"{ROOT}.dma.crosses_4k"])
def _sample_dma(mnemonic: str, f: dict, cfg) -> None:
    pass


@CoverPoint(f"{ROOT}.dma.padding",
            xf=lambda f: ("rows" if f["pad_rows"] > f["rows"] else "")
            + ("bytes" if f["pad_bytes"] > f["row_bytes"] else ""),
            bins=["", "rows", "bytes", "rowsbytes"],
            bins_labels=["none", "rows", "bytes", "rows and bytes"])
def _sample_dma_load(f: dict) -> None:
    pass


@CoverPoint(f"{ROOT}.overwrite.lock", xf=lambda m, f: f"{m} lock {f['lock_readers']}",
            bins=[f"{m} lock {n}" for m in ("DMA_LOAD", "MATMUL", "VECTOR") for n in range(4)])
def _sample_lock(mnemonic: str, f: dict) -> None:
    pass


@CoverPoint(f"{ROOT}.overwrite.release", xf=lambda name: name,
            bins=["DMA_STORE release_src", "MATMUL release_a", "MATMUL release_b",
                  "VECTOR release_a", "VECTOR release_b"])
def _sample_release(name: str) -> None:
    pass


# ---- per program: what the RTL did --------------------------------------------------------
def _level(n: int) -> str:
    return "none" if n == 0 else "some"


@CoverPoint(f"{ROOT}.end.error", xf=lambda prog, rtl: rtl.error or "NONE",
            bins=[code.name for code in ErrorCode])
@CoverPoint(f"{ROOT}.overwrite.waits",
            xf=lambda prog, rtl: _level(rtl.counters.get("OW_WAITS", 0)), bins=["none", "some"])
@CoverPoint(f"{ROOT}.overwrite.strict_x_violation",
            xf=lambda prog, rtl: (prog.strict, rtl.counters.get("OW_VIOLATIONS", 0) > 0),
            bins=[(False, False), (True, False), (True, True)],
            bins_labels=["relaxed", "strict, none", "strict, violated"])
@CoverPoint(f"{ROOT}.spad.bank_conflicts",
            xf=lambda prog, rtl: min(rtl.counters.get("BANK_CONFLICTS", 0), 16) // 16 * 2
            + (rtl.counters.get("BANK_CONFLICTS", 0) > 0),
            bins=[0, 1, 3], bins_labels=["none", "1-15", "16+"])
@CoverPoint(f"{ROOT}.dispatch.queue_full",
            xf=lambda prog, rtl: _level(rtl.counters.get("QUEUE_FULL", 0)),
            bins=["none", "some"])
@CoverPoint(f"{ROOT}.program.sync", xf=lambda prog, rtl: (prog.fences, prog.strict),
            bins=[(False, False), (False, True), (True, False), (True, True)],
            bins_labels=["sync pass", "sync pass, strict", "fences", "fences, strict"])
@CoverPoint(f"{ROOT}.program.dram",
            xf=lambda prog, rtl: (prog.dram_latency[0] != prog.dram_latency[1],
                                  prog.dram_bytes_per_cycle != 0),
            bins=[(False, False), (True, False), (False, True), (True, True)],
            bins_labels=["fixed latency", "random latency", "fixed latency, limited bandwidth",
                         "random latency, limited bandwidth"])
def _sample_outcome(prog: RandomProgram, rtl: Outcome) -> None:
    pass


@CoverPoint(f"{ROOT}.sem.wait_cycles", xf=lambda queue: queue, bins=list(_QUEUES))
def _sample_sem_wait(queue: str) -> None:
    pass


# ---- the matrix queue: two MATMULs in flight ---------------------------------------------
# Pairs of consecutive instructions of the matrix queue (program order; a SYNC of the queue
# separates them), each bin sampled once per pair that has it.
MATRIX_PAIRS = ["back to back", "RAW", "accumulate chain", "illegal after legal"]
# What the wrapper counted in the run (tb/top/env.py OBSERVED): bin -> Outcome.observed key.
MATRIX_OBSERVED = {"two in flight": "MM_DUAL_CYCLES", "RAW wait": "MM_RAW_WAIT",
                   "error behind an older one": "MM_ERR_BEHIND"}


@CoverPoint(f"{ROOT}.matrix_queue.pair", xf=lambda name: name, bins=MATRIX_PAIRS,
            bins_labels=["second waits on no semaphore", "second reads lines the first emits",
                         "second accumulates onto the first's rows",
                         "illegal MATMUL right after a legal one"])
def _sample_matrix_pair(name: str) -> None:
    pass


@CoverPoint(f"{ROOT}.matrix_queue.observed", xf=lambda name: name,
            bins=list(MATRIX_OBSERVED))
def _sample_matrix_observed(name: str) -> None:
    pass


def matrix_pairs(cfg, queue: list[tuple[str, dict]]) -> set[str]:
    """The MATRIX_PAIRS bins that consecutive entries of one matrix queue hit. *queue*: its
    instructions in program order as (mnemonic, fields); a MATMUL whose fields the checks
    reject (or cannot describe) is illegal."""
    hits: set[str] = set()

    def legal(mnemonic: str, f: dict) -> bool:
        try:
            return mnemonic == "MATMUL" and sem.check(cfg, mnemonic, f) is None
        except ValueError:
            return False

    for (m1, f1), (m2, f2) in zip(queue, queue[1:]):
        if not legal(m1, f1) or m2 != "MATMUL":
            continue
        if not legal(m2, f2):
            hits.add("illegal after legal")
            continue
        if f2["wait_mask"] == 0:
            hits.add("back to back")
        first, second = sem.access(cfg, m1, f1), sem.access(cfg, m2, f2)
        if first.write is not None and set(first.write.lines()) & {
                line for span in second.reads for line in span.lines()}:
            hits.add("RAW")
        rows1 = range(f1["acc_addr"], f1["acc_addr"] + f1["rows"] * f1["n_tiles"])
        rows2 = range(f2["acc_addr"], f2["acc_addr"] + f2["rows"] * f2["n_tiles"])
        if f2["accumulate"] and set(rows1) & set(rows2):
            hits.add("accumulate chain")
    return hits


def executed(prog: RandomProgram, rtl: Outcome) -> list[int]:
    """The words of *prog* the run reached: up to the one that stopped it (none when START
    itself failed, all up to the 256th signalling NOP of a semaphore overflow, whose ERROR_PC
    the RTL does not report)."""
    if rtl.error is None:
        return prog.words
    if rtl.error == "PROG_ALIGN":
        return []
    if rtl.error == "SEM_OVERFLOW":
        last = max(i for i, note in enumerate(prog.notes) if "256 signals" in note)
        return prog.words[:last + 1]
    return prog.words[:max(0, (rtl.error_pc - prog.prog_base) // isa.INSN_BYTES + 1)]


def sample(prog: RandomProgram, rtl: Outcome) -> None:
    """Sample one program run that passed its check: the words it reached and its RTL
    outcome."""
    if rtl.error in (HANG, SIM_FAILED):
        return
    cfg = load_config(prog.config)
    matrix_queue: list[tuple[str, dict]] = []
    for word in executed(prog, rtl):
        try:
            mnemonic, f = isa.decode(word)
        except isa.IsaError:
            _sample_insn("ILLEGAL", {"wait_mask": 0, "signal_mask": 0}, cfg)
            continue
        if mnemonic == "MATMUL" or (mnemonic == "SYNC" and f["target_queue"] == isa.Queue.MATRIX):
            matrix_queue.append((mnemonic, f))
        _sample_insn(mnemonic, f, cfg)
        for sem_index in range(isa.NUM_SEMAPHORES):
            if f["wait_mask"] >> sem_index & 1 and sem_index in _PAIR_OF_SEM:
                _sample_sem_pair(_PAIR_OF_SEM[sem_index])
        try:
            if mnemonic == "VECTOR":
                _sample_vector(f, cfg)
            elif mnemonic == "MATMUL":
                _sample_matmul(f, cfg)
            elif mnemonic in ("DMA_LOAD", "DMA_STORE"):
                _sample_dma(mnemonic, f, cfg)
                if mnemonic == "DMA_LOAD":
                    _sample_dma_load(f)
        except ValueError:      # a deliberately illegal field (an enum beyond the ISA's)
            continue
        if mnemonic in ("DMA_LOAD", "VECTOR") or (mnemonic == "MATMUL" and f["emit"]):
            _sample_lock(mnemonic, f)
        for name in ("release_src", "release_a", "release_b"):
            if f.get(name):
                _sample_release(f"{mnemonic} {name}")
    _sample_outcome(prog, rtl)
    for queue in _QUEUES:
        if rtl.counters.get(f"{queue}_SEM_WAIT", 0):
            _sample_sem_wait(queue)
    for name in sorted(matrix_pairs(cfg, matrix_queue)):
        _sample_matrix_pair(name)
    for name, key in MATRIX_OBSERVED.items():
        if rtl.observed.get(key, 0):
            _sample_matrix_observed(name)


def groups() -> list[str]:
    """The covergroups (second level of the coverage tree) in report order."""
    return sorted({name.split(".")[1] for name in coverage_db if name.count(".") >= 2})


def holes() -> list[str]:
    """Every bin not hit, as 'coverpoint: bin'."""
    out = []
    for name, item in sorted(coverage_db.items()):
        if name.count(".") < 2 or not hasattr(item, "detailed_coverage"):
            continue
        for key, hits in item.detailed_coverage.items():
            if hits < 1:
                out.append(f"{name}: {key}")
    return out


def thinnest(count: int = 8) -> list[tuple[str, int]]:
    """The bins hit least often (but hit), fewest first, as ('coverpoint: bin', hits): the
    ones a change of the generator would lose first."""
    hit = []
    for name, item in sorted(coverage_db.items()):
        if name.count(".") < 2 or not hasattr(item, "detailed_coverage") or \
                isinstance(item, CoverCross):
            continue
        hit += [(f"{name}: {key}", hits) for key, hits in item.detailed_coverage.items()
                if hits >= 1]
    return sorted(hit, key=lambda pair: pair[1])[:count]


def percent() -> float:
    return coverage_db[ROOT].cover_percentage


def report() -> str:
    """Coverage per covergroup and the holes."""
    lines = [f"functional coverage: {percent():.1f}% of {coverage_db[ROOT].size} bins"]
    for group in groups():
        item = coverage_db[f"{ROOT}.{group}"]
        lines.append(f"  {group:<10} {item.cover_percentage:5.1f}%  "
                     f"({item.coverage} of {item.size} bins)")
    missing = holes()
    lines.append(f"  holes ({len(missing)}):" + ("" if missing else " none"))
    lines += [f"    {hole}" for hole in missing]
    lines.append("  thinnest (hits; crosses left out):")
    lines += [f"    {name} ({hits})" for name, hits in thinnest()]
    lines.append("  matrix queue (hits): " + ", ".join(
        f"{key} {hits}" for group in ("pair", "observed")
        for key, hits in coverage_db[f"{ROOT}.matrix_queue.{group}"].detailed_coverage.items()))
    return "\n".join(lines)


def export(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    coverage_db.export_to_yaml(str(path))
