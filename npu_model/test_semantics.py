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


# ---- operand aliasing (docs/isa.md "Operand aliasing"): OPERAND_OVERLAP, info dst_addr --------
# The defect of issue 11 on `tiny`: emitted rows (2 lines each, pitch 3 from 0xae) meet A's rows
# (1 line each, pitch 3 from 0xb1); the RTL re-read A per n tile, the model read it once.
ISSUE11_MATMUL = dict(a_addr=0xB1, a_pitch=3, rows=4, n_tiles=2, k_tiles=1, emit=1,
                      dst_addr=0xAE, dst_pitch=3, b_addr=0x10, b_pitch=1)


@pytest.mark.parametrize("given, fault", [
    (ISSUE11_MATMUL, sem.Fault(ErrorCode.OPERAND_OVERLAP, 0xAE)),
    (dict(MATMUL, dst_addr=3), sem.Fault(ErrorCode.OPERAND_OVERLAP, 3)),     # C from A's last
    (dict(MATMUL, dst_addr=4), None),                                      # C just after A
    (dict(MATMUL, dst_addr=75), sem.Fault(ErrorCode.OPERAND_OVERLAP, 75)),   # B is 64..75
    (dict(MATMUL, dst_addr=53), sem.Fault(ErrorCode.OPERAND_OVERLAP, 53)),   # C 53..64 meets B
    (dict(MATMUL, dst_addr=52), None),                                     # C 52..63: no line
    # bounding intervals: C rows between A rows share no line, yet the intervals meet
    (dict(MATMUL, a_pitch=4, n_tiles=1, dst_addr=1, dst_pitch=4),
     sem.Fault(ErrorCode.OPERAND_OVERLAP, 1)),
    (dict(MATMUL, dst_addr=0, emit=0), None),                              # nothing written
    (dict(MATMUL, dst_addr=250), sem.Fault(ErrorCode.SPAD_RANGE, 261)),    # range first
    (dict(MATMUL, dst_addr=0, acc_addr=30), sem.Fault(ErrorCode.ACC_RANGE, 42)),
])
def test_matmul_aliasing(given, fault):
    assert sem.check(CFG, "MATMUL", fields("MATMUL", **given)) == fault


INT32 = isa.ElemType.INT32
# SUB of the softmax chain in place (a 3 lines a row, pitch 3), b a row max elsewhere
IN_PLACE = dict(VECTOR, dst_addr=0, dst_pitch=3, dst_type=INT32, sat=SatMode.NONE)


@pytest.mark.parametrize("given, fault", [
    (IN_PLACE, None),
    (dict(IN_PLACE, op=VecOp.MULSHR, b_mode=isa.BMode.SCALAR), None),
    (dict(IN_PLACE, op=VecOp.EXP2, b_mode=isa.BMode.SCALAR), None),
    (dict(IN_PLACE, rows=1, a_pitch=0, dst_pitch=0), None),          # one row: pitch free
    (dict(IN_PLACE, dst_addr=1), sem.Fault(ErrorCode.OPERAND_OVERLAP, 1)),          # shifted
    (dict(IN_PLACE, dst_pitch=4), sem.Fault(ErrorCode.OPERAND_OVERLAP, 0)),         # pitch
    (dict(IN_PLACE, dst_type=isa.ElemType.UINT8, sat=SatMode.UINT8),
     sem.Fault(ErrorCode.OPERAND_OVERLAP, 0)),                                     # type
    (dict(IN_PLACE, op=VecOp.RMAX), sem.Fault(ErrorCode.OPERAND_OVERLAP, 0)),       # reduction
    (dict(IN_PLACE, op=VecOp.RSUM, dst_addr=9), None),               # after a's last line
    (dict(IN_PLACE, op=VecOp.RSUM, dst_addr=8), sem.Fault(ErrorCode.OPERAND_OVERLAP, 8)),
    # rows sharing lines (pitch 2 < 3 lines a row): row 1 would read what row 0 wrote
    (dict(IN_PLACE, a_pitch=2, dst_pitch=2), sem.Fault(ErrorCode.OPERAND_OVERLAP, 0)),
    # b ROW (one line a row) meeting the result: never in place
    (dict(IN_PLACE, b_addr=5), sem.Fault(ErrorCode.OPERAND_OVERLAP, 0)),
    (dict(IN_PLACE, b_addr=0, b_pitch=3, dst_addr=0),
     sem.Fault(ErrorCode.OPERAND_OVERLAP, 0)),
    # b SCALAR: b_addr is not an operand
    (dict(IN_PLACE, b_mode=isa.BMode.SCALAR, b_addr=0, b_pitch=0), None),
    # b VECTOR: in place on b, on both, or b meeting the result otherwise
    (dict(IN_PLACE, op=VecOp.ADD, b_mode=isa.BMode.VECTOR, a_addr=20, a_pitch=3, b_addr=0,
          b_pitch=3), None),
    (dict(IN_PLACE, op=VecOp.MULSHR, b_mode=isa.BMode.VECTOR, b_addr=0, b_pitch=3), None),
    (dict(IN_PLACE, op=VecOp.ADD, b_mode=isa.BMode.VECTOR, a_addr=20, b_addr=1, b_pitch=3),
     sem.Fault(ErrorCode.OPERAND_OVERLAP, 0)),
    # range before aliasing
    (dict(IN_PLACE, a_addr=250, dst_addr=250), sem.Fault(ErrorCode.SPAD_RANGE, 258)),
])
def test_vector_aliasing(given, fault):
    assert sem.check(CFG, "VECTOR", fields("VECTOR", **given)) == fault


def test_scheduler_programs_pass_the_aliasing_rule():
    """No recorded scheduler program (every strategy, tiny/default/small) has an instruction
    the checks reject: the bounding-interval rule costs the scheduler nothing, and its in-place
    vector ops (SUB, MULSHR, ADD, MAX of the softmax chain) are the exact in-place kind."""
    import numpy as np

    from tools.program_snapshots import RECORD
    record = np.load(RECORD)
    in_place = 0
    for name in record.files:
        cfg = load_config(name.split("/")[0])
        for word in isa.from_bytes(record[name].tobytes()):
            mnemonic, f = isa.decode(word)
            if mnemonic in ("MATMUL", "VECTOR"):
                assert sem.check(cfg, mnemonic, f) is None, (name, isa.format_insn(word))
                in_place += mnemonic == "VECTOR" and sem.in_place(f, "a") and \
                    f["a_addr"] == f["dst_addr"]
    assert in_place > 0


def test_executor_prog_align_and_overlap():
    """PROG_ALIGN: ERROR_PC = ERROR_INFO = PROG_BASE, nothing retired; any multiple of 32 runs.
    The issue-11 MATMUL stops with OPERAND_OVERLAP at its own pc."""
    import numpy as np

    from hwdef.regs import ERROR_DOCS
    from npu_model.executor import ModelError, NpuModel
    assert set(ERROR_DOCS) == set(ErrorCode)
    halt = isa.to_bytes([isa.encode("NOP"), isa.encode("HALT")])
    for base in (0x10, 0x1, 0x3F, 0x1010):
        dram = np.zeros(0x2000, np.uint8)
        dram[base:base + len(halt)] = np.frombuffer(halt, np.uint8)
        res = NpuModel(CFG, dram).run(base)
        assert (res.error, res.retired) == (ModelError(ErrorCode.PROG_ALIGN, base, base), 0)
    for base in (0x20, 0x40, 0x60, 0x1FC0):
        dram = np.zeros(0x2000, np.uint8)
        dram[base:base + len(halt)] = np.frombuffer(halt, np.uint8)
        res = NpuModel(CFG, dram).run(base)
        assert (res.error, res.retired) == (None, 2)
    words = [isa.encode("NOP"), isa.encode("MATMUL", **ISSUE11_MATMUL), isa.encode("HALT")]
    dram = np.zeros(0x1000, np.uint8)
    dram[:96] = np.frombuffer(isa.to_bytes(words), np.uint8)
    res = NpuModel(CFG, dram).run(0)
    assert (res.error, res.retired) == (ModelError(ErrorCode.OPERAND_OVERLAP, 32, 0xAE), 1)


def test_executor_fetches_whole_bursts():
    """Fetch reads aligned bursts of fetch_burst_beats lines (64 bytes on `tiny`): a word whose
    burst leaves the DRAM window is a DRAM_RANGE at its pc, as the RTL's fetch reports it."""
    import numpy as np

    from npu_model.executor import ModelError, NpuModel
    assert CFG.fetch_burst_beats * CFG.line_bytes == 64
    words = [isa.encode("NOP")] * 4 + [isa.encode("HALT")]
    dram = np.zeros(0x2000, np.uint8)
    dram[0x1000:0x10A0] = np.frombuffer(isa.to_bytes(words), np.uint8)
    dram[0x1020:0x10C0] = np.frombuffer(isa.to_bytes(words), np.uint8)
    for (base, size), prog_base, err_pc in [((0x1020, 0x400), 0x1020, 0x1020),
                                            ((0x1000, 0xA0), 0x1000, 0x1080),
                                            ((0x1000, 0xC0), 0x1000, None)]:
        res = NpuModel(CFG, dram.copy(), dram_base=base, dram_size=size).run(prog_base)
        want = None if err_pc is None else ModelError(ErrorCode.DRAM_RANGE, err_pc, err_pc)
        assert res.error == want, (base, size)
