"""Independent NumPy model of DMA_LOAD and DMA_STORE as the DMA engines execute them (docs/dma.md).

The model works on whole arrays: `dram` is a flat uint8 array (byte address = index) and
`spad` is a (lines, line_bytes) uint8 array. It applies an instruction to them and returns what
the engines must report: the error (code and info), the regions overwrite control must lock or
release, and the DRAM bus traffic (the bursts, the bytes the counters must show). It knows
nothing of the RTL's internal structure.

What an instruction checks and touches (its error in the engine's order, its scratchpad span,
its DRAM rows, the AXI bursts of a row) is npu_model/semantics.py; this module adds only the
block's bus behaviour: the burst order, the bytes on the bus, and what a failing burst leaves.

DRAM errors of the simulation memory (tb/sv/npu_dram_model.sv): a burst that reaches beyond
`mem_bytes` is answered SLVERR as a whole (reads return no data, writes change nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwdef import HwConfig
from hwdef.regs import ErrorCode
from npu_model import semantics as sem


@dataclass
class Outcome:
    error: ErrorCode = ErrorCode.NONE
    info: int = 0
    regions: set[int] = field(default_factory=set)   # locked (load) / released (store)
    bus_bytes: int = 0          # bytes over the bus: read beats * line_bytes / strobed bytes
    bursts: list[tuple[int, int]] = field(default_factory=list)   # (address, beats)
    failed_row: int | None = None   # AXI error: the row of the first failing burst


def bursts_of(f: dict, line_bytes: int) -> list[tuple[int, int, int]]:
    """(row, address, beats) of every burst of the instruction, in issue order."""
    return [(r, a, n) for r in range(f["rows"])
            for a, n in sem.row_bursts(f["dram_addr"] + r * f["dram_stride"], f["row_bytes"],
                                       line_bytes)]


def _first_failing(bursts, line_bytes: int, mem_bytes: int):
    for r, a, n in bursts:
        if a + n * line_bytes > mem_bytes:
            return r, a
    return None


def _rows_of(span: sem.Span, rows: int) -> sem.Span:
    return sem.Span(span.addr, rows, span.pitch, span.per_row)


def dma_load(f: dict, cfg: HwConfig, spad: np.ndarray, dram: np.ndarray, base: int,
             size: int, mem_bytes: int) -> Outcome:
    """Apply a DMA_LOAD to *spad* in place; return what must be reported.

    On an AXI error the rows before the failing burst's row are written (the RTL stops writing
    at the failing beat); the model then leaves *spad* with only those rows applied and the
    caller checks the rest of the failing row loosely (each line old or new)."""
    fault = sem.check(cfg, "DMA_LOAD", f, (base, size))
    if fault is not None:
        return Outcome(error=fault.code, info=fault.info)
    lb = cfg.line_bytes
    bursts = bursts_of(f, lb)
    out = Outcome(bursts=[(a, n) for _, a, n in bursts],
                  bus_bytes=sum(n for _, _, n in bursts) * lb)
    failing = _first_failing(bursts, lb, mem_bytes)
    last_row = f["pad_rows"]
    if failing is not None:
        out.error, out.info = ErrorCode.AXI_ERROR, failing[1]
        out.failed_row = last_row = failing[0]
    flat = spad.reshape(-1)
    for r in range(last_row):
        row = np.zeros(f["pad_bytes"], dtype=np.uint8)
        if r < f["rows"]:
            a = f["dram_addr"] + r * f["dram_stride"]
            row[:f["row_bytes"]] = dram[a:a + f["row_bytes"]]
        line0 = f["spad_addr"] + r * f["spad_pitch"]
        flat[line0 * lb:line0 * lb + f["pad_bytes"]] = row
    if f["lock_readers"] and failing is None:
        out.regions = set(sem.access(cfg, "DMA_LOAD", f).write.regions(cfg.spad_region_lines))
    return out


def dma_store(f: dict, cfg: HwConfig, spad: np.ndarray, dram: np.ndarray, base: int,
              size: int, mem_bytes: int) -> Outcome:
    """Apply a DMA_STORE to *dram* in place; return what must be reported.

    Rows are written in order (later rows win where rows overlap). On an AXI error every burst
    before the failing one is written and nothing after it (callers keep later bursts beyond
    `mem_bytes` so that this does not depend on timing); the rows completed before the failing
    one are released."""
    fault = sem.check(cfg, "DMA_STORE", f, (base, size))
    if fault is not None:
        return Outcome(error=fault.code, info=fault.info)
    lb = cfg.line_bytes
    flat = spad.reshape(-1)
    src = sem.access(cfg, "DMA_STORE", f).reads[0]
    out = Outcome()
    done_rows = f["rows"]
    for r, ba, n in bursts_of(f, lb):
        line0 = f["spad_addr"] + r * f["spad_pitch"]
        a = f["dram_addr"] + r * f["dram_stride"]
        out.bursts.append((ba, n))
        lo, hi = max(a, ba), min(a + f["row_bytes"], ba + n * lb)
        if ba + n * lb > mem_bytes:
            out.error, out.info, out.failed_row = ErrorCode.AXI_ERROR, ba, r
            done_rows = r
            break
        dram[lo:hi] = flat[line0 * lb + lo - a:line0 * lb + hi - a]
        out.bus_bytes += hi - lo
    if f["release_src"] and done_rows:
        out.regions = set(_rows_of(src, done_rows).regions(cfg.spad_region_lines))
    return out
