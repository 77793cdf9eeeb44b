"""Stimulus of the DMA bench: instruction fields and random ragged 2-D blocks."""

from __future__ import annotations

from npu_model.semantics import ceil_div
from tb.agents.engine_port import insn_fields

SRC_BASE, SRC_SPAN = 0x0010_0000, 0x2_0000   # DRAM areas the bench fills with random bytes
DST_BASE, DST_SPAN = 0x0020_0000, 0x2_0000


def load_fields(**kw) -> dict:
    """Every DMA_LOAD field: 0, one row of one byte, pad_rows / pad_bytes = rows / row_bytes
    unless given."""
    f = insn_fields("DMA_LOAD", rows=1, row_bytes=1, pad_rows=None, pad_bytes=None)
    f.update(kw)
    if f["pad_rows"] is None:
        f["pad_rows"] = f["rows"]
    if f["pad_bytes"] is None:
        f["pad_bytes"] = f["row_bytes"]
    return f


def store_fields(**kw) -> dict:
    f = insn_fields("DMA_STORE", rows=1, row_bytes=1)
    f.update(kw)
    return f


def rint(rng, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi] (inclusive)."""
    return int(rng.integers(lo, hi + 1))



def random_load(env, rng, spad_lo: int, spad_hi: int, max_row_bytes: int | None = None,
                max_rows: int = 8, src=(SRC_BASE, SRC_SPAN)) -> dict:
    """A random ragged 2-D block inside scratchpad lines [spad_lo, spad_hi)."""
    lb = env.lb
    max_row_bytes = max_row_bytes or 6 * lb
    for _ in range(1000):
        row_bytes = int(rng.choice([rint(rng, 1, lb), rint(rng, 1, max_row_bytes),
                                    lb * rint(rng, 1, max(1, max_row_bytes // lb)),
                                    rint(rng, 1, max_row_bytes)]))
        pad_bytes = row_bytes + int(rng.choice([0, 0, rint(rng, 1, 2 * lb)]))
        rows = rint(rng, 1, max_rows)
        pad_rows = rows + int(rng.choice([0, 0, rint(rng, 1, 3)]))
        nlines = ceil_div(pad_bytes, lb)
        pitch = int(rng.choice([nlines, nlines, nlines + rint(rng, 1, 2),
                                rint(rng, 0, nlines)]))
        span = (pad_rows - 1) * pitch + nlines
        if span > spad_hi - spad_lo:
            continue
        stride = int(rng.choice([row_bytes, row_bytes + rint(rng, 1, 3 * lb),
                                 rint(rng, 0, row_bytes), rint(rng, 0, 5000)]))
        extent = (rows - 1) * stride + row_bytes
        if extent > src[1]:
            continue
        return load_fields(dram_addr=src[0] + rint(rng, 0, src[1] - extent),
                           dram_stride=stride, rows=rows, row_bytes=row_bytes,
                           spad_addr=rint(rng, spad_lo, spad_hi - span), spad_pitch=pitch,
                           pad_rows=pad_rows, pad_bytes=pad_bytes)
    raise AssertionError("no random block fits")

def store_of(env, rng, lf: dict, dst=(DST_BASE, DST_SPAN)) -> dict:
    """A random store of (part of) the block a load wrote."""
    rows = int(rng.choice([lf["pad_rows"], rint(rng, 1, lf["pad_rows"])]))
    row_bytes = int(rng.choice([lf["pad_bytes"], rint(rng, 1, lf["pad_bytes"])]))
    for _ in range(1000):
        stride = int(rng.choice([row_bytes, row_bytes + rint(rng, 1, 2 * env.lb),
                                 rint(rng, 0, row_bytes)]))
        extent = (rows - 1) * stride + row_bytes
        if extent <= dst[1]:
            return store_fields(dram_addr=dst[0] + rint(rng, 0, dst[1] - extent),
                                dram_stride=stride, rows=rows, row_bytes=row_bytes,
                                spad_addr=lf["spad_addr"], spad_pitch=lf["spad_pitch"])
    raise AssertionError("no store fits")
