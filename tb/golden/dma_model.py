"""Independent NumPy model of DMA_LOAD and DMA_STORE (docs/isa.md, docs/dma.md).

The model works on whole arrays: `dram` is a flat uint8 array (byte address = index) and
`spad` is a (lines, line_bytes) uint8 array. It computes what the instructions must leave in
memory, the error they must report (code and info value), the regions overwrite control must
lock or release, and the DRAM bus traffic (bursts of whole beats, split at 4 KiB and 256 beats)
that the byte counters must show. It knows nothing of the RTL's internal structure.

DRAM errors of the simulation memory (tb/sv/npu_dram_model.sv): a burst that reaches beyond
`mem_bytes` is answered SLVERR as a whole (reads return no data, writes change nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwdef.regs import ErrorCode

PAGE_BYTES = 4096
MAX_BURST_BEATS = 256


@dataclass(frozen=True)
class Geometry:
    line_bytes: int
    spad_lines: int
    region_lines: int

    @classmethod
    def from_config(cls, cfg) -> "Geometry":
        return cls(cfg.line_bytes, cfg.spad_lines, cfg.spad_region_lines)


@dataclass
class Outcome:
    error: ErrorCode = ErrorCode.NONE
    info: int = 0
    regions: set[int] = field(default_factory=set)   # locked (load) / released (store)
    bus_bytes: int = 0          # bytes over the bus: read beats * line_bytes / strobed bytes
    bursts: list[tuple[int, int]] = field(default_factory=list)   # (address, beats)
    failed_row: int | None = None   # AXI error: the row of the first failing burst


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def row_bursts(addr: int, nbytes: int, line_bytes: int) -> list[tuple[int, int]]:
    """AXI bursts (beat-aligned address, beats) covering DRAM bytes [addr, addr + nbytes)."""
    cur = addr - addr % line_bytes
    end = ceil_div(addr + nbytes, line_bytes) * line_bytes
    out = []
    while cur < end:
        stop = min(end, (cur // PAGE_BYTES + 1) * PAGE_BYTES, cur + MAX_BURST_BEATS * line_bytes)
        out.append((cur, (stop - cur) // line_bytes))
        cur = stop
    return out


def _dram_check(f: dict, base: int, size: int) -> tuple[ErrorCode, int] | None:
    first = f["dram_addr"]
    end = first + (f["rows"] - 1) * f["dram_stride"] + f["row_bytes"]
    if first < base:
        return ErrorCode.DRAM_RANGE, first
    if end > base + size or end > 1 << 32:
        return ErrorCode.DRAM_RANGE, (end - 1) & 0xFFFFFFFF
    return None


def check_load(f: dict, geom: Geometry, base: int, size: int) -> tuple[ErrorCode, int] | None:
    """The error a DMA_LOAD reports before any access, or None."""
    if f["rows"] == 0 or f["row_bytes"] == 0:
        return ErrorCode.BAD_FIELD, 0
    if f["pad_rows"] < f["rows"]:
        return ErrorCode.BAD_FIELD, f["pad_rows"]
    if f["pad_bytes"] < f["row_bytes"]:
        return ErrorCode.BAD_FIELD, f["pad_bytes"]
    last = (f["spad_addr"] + (f["pad_rows"] - 1) * f["spad_pitch"]
            + ceil_div(f["pad_bytes"], geom.line_bytes) - 1)
    if last >= geom.spad_lines:
        return ErrorCode.SPAD_RANGE, last
    return _dram_check(f, base, size)


def check_store(f: dict, geom: Geometry, base: int, size: int) -> tuple[ErrorCode, int] | None:
    """The error a DMA_STORE reports before any access, or None."""
    if f["rows"] == 0 or f["row_bytes"] == 0:
        return ErrorCode.BAD_FIELD, 0
    last = (f["spad_addr"] + (f["rows"] - 1) * f["spad_pitch"]
            + ceil_div(f["row_bytes"], geom.line_bytes) - 1)
    if last >= geom.spad_lines:
        return ErrorCode.SPAD_RANGE, last
    return _dram_check(f, base, size)


def _bursts_of(f: dict, geom: Geometry) -> list[tuple[int, int, int]]:
    """(row, address, beats) of every burst, in issue order."""
    return [(r, a, n) for r in range(f["rows"])
            for a, n in row_bursts(f["dram_addr"] + r * f["dram_stride"], f["row_bytes"],
                                   geom.line_bytes)]


def _first_failing(bursts, line_bytes: int, mem_bytes: int):
    for r, a, n in bursts:
        if a + n * line_bytes > mem_bytes:
            return r, a
    return None


def dma_load(f: dict, geom: Geometry, spad: np.ndarray, dram: np.ndarray, base: int,
             size: int, mem_bytes: int) -> Outcome:
    """Apply a DMA_LOAD to *spad* in place; return what must be reported.

    On an AXI error the rows before the failing burst's row are written (the RTL stops writing
    at the failing beat); the model then leaves *spad* with only those rows applied and the
    caller checks the rest of the failing row loosely (each line old or new)."""
    err = check_load(f, geom, base, size)
    if err is not None:
        return Outcome(error=err[0], info=err[1])
    lb = geom.line_bytes
    bursts = _bursts_of(f, geom)
    out = Outcome(bursts=[(a, n) for _, a, n in bursts],
                  bus_bytes=sum(n for _, _, n in bursts) * lb)
    failing = _first_failing(bursts, lb, mem_bytes)
    last_row = f["pad_rows"]
    if failing is not None:
        out.error, out.info = ErrorCode.AXI_ERROR, failing[1]
        out.failed_row = last_row = failing[0]
    flat = spad.reshape(-1)
    nlines = ceil_div(f["pad_bytes"], lb)
    for r in range(last_row):
        row = np.zeros(f["pad_bytes"], dtype=np.uint8)
        if r < f["rows"]:
            a = f["dram_addr"] + r * f["dram_stride"]
            row[:f["row_bytes"]] = dram[a:a + f["row_bytes"]]
        line0 = f["spad_addr"] + r * f["spad_pitch"]
        flat[line0 * lb:line0 * lb + f["pad_bytes"]] = row
        if f["lock_readers"] and failing is None:
            out.regions.update((line0 + j) // geom.region_lines for j in range(nlines))
    return out


def dma_store(f: dict, geom: Geometry, spad: np.ndarray, dram: np.ndarray, base: int,
              size: int, mem_bytes: int) -> Outcome:
    """Apply a DMA_STORE to *dram* in place; return what must be reported.

    Rows are written in order (later rows win where rows overlap). On an AXI error every burst
    before the failing one is written and nothing after it (callers keep later bursts beyond
    `mem_bytes` so that this does not depend on timing)."""
    err = check_store(f, geom, base, size)
    if err is not None:
        return Outcome(error=err[0], info=err[1])
    lb = geom.line_bytes
    flat = spad.reshape(-1)
    out = Outcome()
    dlines = ceil_div(f["row_bytes"], lb)
    for r in range(f["rows"]):
        line0 = f["spad_addr"] + r * f["spad_pitch"]
        data = flat[line0 * lb:line0 * lb + f["row_bytes"]]
        a = f["dram_addr"] + r * f["dram_stride"]
        for ba, n in row_bursts(a, f["row_bytes"], lb):
            out.bursts.append((ba, n))
            lo, hi = max(a, ba), min(a + f["row_bytes"], ba + n * lb)
            if ba + n * lb > mem_bytes:
                out.error, out.info, out.failed_row = ErrorCode.AXI_ERROR, ba, r
                return out
            dram[lo:hi] = data[lo - a:hi - a]
            out.bus_bytes += hi - lo
        if f["release_src"]:
            out.regions.update((line0 + j) // geom.region_lines for j in range(dlines))
    return out
