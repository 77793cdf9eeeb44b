"""npu_model.semantics against docs/isa.md, case by case: the error each check reports (code
and ERROR_INFO, in the engines' order), the lines an operand spans, releases and locks, the
causal row rule and the work counted. Expected values are worked out by hand from the ISA
document for the `tiny` configuration (16-byte lines, 256 lines, 32 accumulator rows, 4x4
array, 4 lanes)."""

from __future__ import annotations

import pytest

from hwdef import isa, load_config
from hwdef.params import SatMode, VecOp
from hwdef.regs import ErrorCode
from npu_model import semantics as sem

CFG = load_config("tiny")
WINDOW = (0x1000, 0x1000)        # DRAM bytes 0x1000..0x1fff


def fields(mnemonic: str, **given: int) -> dict:
    """Every field of the instruction, zero unless given (as hwdef.isa.decode returns them)."""
    names = [f.name for f, _ in isa.BY_MNEMONIC[mnemonic].layout()[len(isa.HEADER):]]
    return {name: given.get(name, 0) for name in names}


LOAD = dict(dram_addr=0x1000, dram_stride=32, rows=2, row_bytes=20, spad_addr=10,
            spad_pitch=2, pad_rows=3, pad_bytes=24)


@pytest.mark.parametrize("change, code, info", [
    ({"rows": 0}, ErrorCode.BAD_FIELD, 0),
    ({"row_bytes": 0}, ErrorCode.BAD_FIELD, 0),
    ({"pad_rows": 1}, ErrorCode.BAD_FIELD, 1),              # fewer padded rows than rows
    ({"pad_bytes": 16}, ErrorCode.BAD_FIELD, 16),           # shorter padded rows than rows
    ({"spad_addr": 252}, ErrorCode.SPAD_RANGE, 252 + 2 * 2 + 2 - 1),   # 3 rows of 2 lines
    ({"dram_addr": 0xFFF}, ErrorCode.DRAM_RANGE, 0xFFF),    # starts below the window
    ({"dram_addr": 0x1FE0}, ErrorCode.DRAM_RANGE, 0x1FE0 + 32 + 20 - 1),   # ends past it
])
def test_dma_load_checks(change, code, info):
    assert sem.check(CFG, "DMA_LOAD", fields("DMA_LOAD", **dict(LOAD, **change)),
                     WINDOW) == sem.Fault(code, info)
    assert sem.check(CFG, "DMA_LOAD", fields("DMA_LOAD", **LOAD), WINDOW) is None


def test_dma_checks_need_the_window():
    with pytest.raises(ValueError, match="DRAM window"):
        sem.check(CFG, "DMA_STORE", fields("DMA_STORE", **LOAD))


def test_dma_store_releases_what_it_read():
    f = fields("DMA_STORE", dram_addr=0x1000, dram_stride=64, rows=3, row_bytes=40,
               spad_addr=16, spad_pitch=4, release_src=1)
    acc = sem.access(CFG, "DMA_STORE", f)
    assert acc.reads == acc.releases == (sem.Span(16, 3, 4, 3),)
    assert list(acc.reads[0].lines()) == [16, 17, 18, 20, 21, 22, 24, 25, 26]
    assert acc.reads[0].regions(CFG.spad_region_lines) == [1]
    assert acc.dram_write == sem.DramRows(0x1000, 3, 64, 40)
    assert acc.dram_write.granules(64) == {64, 65, 66}
    assert sem.work(CFG, "DMA_STORE", f) == sem.Work(dram_write_bytes=120)


MATMUL = dict(a_addr=0, a_pitch=1, rows=4, b_addr=64, b_pitch=1, k_tiles=2, n_tiles=3,
              transpose=1, emit=1, dst_addr=128, dst_pitch=3, acc_addr=0)


@pytest.mark.parametrize("change, code, info", [
    ({"k_tiles": 0}, ErrorCode.BAD_FIELD, 0),
    ({"acc_addr": 21}, ErrorCode.ACC_RANGE, 21 + 3 * 4),    # 3 tiles x 4 rows from row 21
    ({"a_addr": 255}, ErrorCode.SPAD_RANGE, 255 + 3),       # A: 4 rows of 8 bytes, 1 line each
    ({"b_addr": 250}, ErrorCode.SPAD_RANGE, 250 + 11),      # Bᵀ stored as 12 rows of 8 bytes
    ({"dst_addr": 250}, ErrorCode.SPAD_RANGE, 250 + 3 * 3 + 3 - 1),   # C: 48 B = 3 lines/row
])
def test_matmul_checks(change, code, info):
    f = fields("MATMUL", **dict(MATMUL, **change))
    assert sem.check(CFG, "MATMUL", f) == sem.Fault(code, info)


def test_matmul_access_and_work():
    f = fields("MATMUL", **dict(MATMUL, release_a=1, release_b=1, lock_readers=2))
    acc = sem.access(CFG, "MATMUL", f)
    a, b = acc.reads
    assert (a, b) == (sem.Span(0, 4, 1, 1), sem.Span(64, 12, 1, 1))
    assert acc.releases == (a, b) and acc.lock_readers == 2
    assert acc.write == sem.Span(128, 4, 3, 3)
    no_emit = sem.access(CFG, "MATMUL", fields("MATMUL", **dict(MATMUL, emit=0,
                                                                  lock_readers=2)))
    assert no_emit.write is None and no_emit.lock_readers == 0
    assert sem.work(CFG, "MATMUL", f).macs == 4 * 2 * 3 * 16


VECTOR = dict(op=VecOp.SUB, rows=3, row_len=10, a_addr=0, a_pitch=3, b_mode=isa.BMode.ROW,
              b_addr=20, b_pitch=1, dst_addr=40, dst_pitch=1, dst_type=isa.ElemType.UINT8,
              sat=SatMode.UINT8)


@pytest.mark.parametrize("change, code, info", [
    ({"rows": 0}, ErrorCode.BAD_FIELD, 0),
    ({"row_len": 0}, ErrorCode.BAD_FIELD, 0),
    ({"op": 15}, ErrorCode.BAD_FIELD, 15),
    ({"a_type": 3}, ErrorCode.BAD_FIELD, 3),
    ({"a_addr": 250}, ErrorCode.SPAD_RANGE, 250 + 2 * 3 + 3 - 1),   # 3 int32 vectors a row
    ({"b_addr": 254}, ErrorCode.SPAD_RANGE, 254 + 2),               # one line per row
    ({"dst_addr": 254}, ErrorCode.SPAD_RANGE, 254 + 2),             # 12 uint8: one line a row
])
def test_vector_checks(change, code, info):
    f = fields("VECTOR", **dict(VECTOR, **change))
    assert sem.check(CFG, "VECTOR", f) == sem.Fault(code, info)


def test_vector_causal_rows_and_reductions():
    f = fields("VECTOR", **dict(VECTOR, causal=1, diag=-1))
    assert [sem.row_length(f, r) for r in range(4)] == [0, 0, 1, 2]
    assert sem.row_length(fields("VECTOR", **dict(VECTOR, causal=1, diag=30)), 0) == 10
    rmax = sem.access(CFG, "VECTOR", fields("VECTOR", **dict(VECTOR, op=VecOp.RMAX,
                                                               dst_type=0)))
    assert rmax.write == sem.Span(40, 3, 1, 1)               # one int32 vector per row
    assert sem.work(CFG, "VECTOR", fields("VECTOR", **VECTOR)).vectors == 3 * 3
