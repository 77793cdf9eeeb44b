"""Directed pyuvm tests of issue 11's defects 1 and 2 on the whole NPU (tb/sv/npu_tb_top.sv).

* Operand aliasing (docs/isa.md "Operand aliasing"): every MATMUL / VECTOR whose write interval
  meets one of its read intervals stops with OPERAND_OVERLAP, and the scoreboard checks that
  the RTL gives the model's code, ERROR_PC and ERROR_INFO (dst_addr); exact in-place
  element-wise VECTOR (the softmax chain's kind) runs and is bit exact against the model.
* PROG_BASE: a value that is not a multiple of 32 stops at START with PROG_ALIGN (ERROR_PC =
  ERROR_INFO = PROG_BASE, nothing fetched or retired); multiples of 32 that are not DRAM-line or
  fetch-burst aligned run from exactly that word.

Every case builds its program with firmware_gen, runs it on the RTL and on the instruction-level
model (npu_model/executor.py) through `run_program`, and the scoreboard compares status, error
code, ERROR_PC, ERROR_INFO, the retired count of clean runs and every output byte.
"""

from __future__ import annotations

import numpy as np
import pytest
import pyuvm

from firmware_gen import Program
from hwdef import isa
from hwdef.isa import BMode, ElemType
from hwdef.params import SatMode, VecOp
from hwdef.regs import ErrorCode
from tb.top.env import run_on_npu
from tb.top.test_npu_top import DST, PROG, SRC, TopTest

# The MATMUL of issue 11 (found on `tiny`; the same fields overlap on `default` too): emitted
# rows of 2 lines at 0xae + 3i meet A's rows at 0xb1 + 3i.
ISSUE11_MATMUL = dict(a_addr=0xB1, a_pitch=3, rows=4, n_tiles=2, k_tiles=1, emit=1,
                      dst_addr=0xAE, dst_pitch=3, b_addr=0x10, b_pitch=1, a_signed=1)


class RuleTest(TopTest):
    async def expect_error(self, what: str, prog: Program, code: ErrorCode,
                           prog_base: int = PROG):
        """Run *prog* from a fresh reset; the model must stop with *code* (the scoreboard then
        holds the RTL to the model's code, ERROR_PC and ERROR_INFO)."""
        await self.reset()
        report = await self.run_program(prog, self.image, prog_base, {})
        want = self.model_result.error
        assert want is not None and want.code == code, f"{what}: the model says {want}"
        self.logger.info("%s: %s pc 0x%x info 0x%x (RTL %s pc 0x%x info 0x%x)", what,
                         want.code.name, want.pc, want.info, report.error_code.name,
                         report.error_pc, report.error_info)
        return report


def one_insn(mnemonic: str, **fields) -> Program:
    """NOP, the instruction (at PROG + 32), HALT."""
    prog = Program()
    prog.nop()
    prog.emit(mnemonic, **fields)
    prog.halt()
    return prog


@pyuvm.test()
class MatmulAliasingTest(RuleTest):
    """MATMUL's emitted rows against A and B: the issue's case, C meeting B, C rows between A
    rows (intervals meet, no line shared), and the range check first."""

    async def run_phase(self):
        self.raise_objection()
        lines = self.cfg.spad_lines
        dst1 = -(-self.cfg.array_dim * 4 // self.cfg.line_bytes)   # lines of one C tile
        base = dict(rows=2, k_tiles=1, n_tiles=1, a_addr=0, a_pitch=1, b_addr=0x40, b_pitch=1,
                    emit=1, dst_addr=0x80, dst_pitch=dst1, a_signed=1)
        cases = [
            ("issue 11", ISSUE11_MATMUL, ErrorCode.OPERAND_OVERLAP),
            ("C ends on B's first line", dict(base, dst_addr=0x40 - 2 * dst1 + 1),
             ErrorCode.OPERAND_OVERLAP),
            ("C starts on A's last line", dict(base, dst_addr=1), ErrorCode.OPERAND_OVERLAP),
            ("C rows between A rows", dict(base, a_pitch=2, dst_addr=1, dst_pitch=2),
             ErrorCode.OPERAND_OVERLAP),
            ("C past the end over A", dict(base, a_addr=lines - 4, dst_addr=lines - 3,
                                          dst_pitch=3), ErrorCode.SPAD_RANGE),
        ]
        for name, fields, code in cases:
            report = await self.expect_error(name, one_insn("MATMUL", **fields), code)
            assert report.error_pc == PROG + isa.INSN_BYTES
            assert report.status["error_queue"] == int(isa.Queue.MATRIX)
            if code == ErrorCode.OPERAND_OVERLAP:
                assert report.error_info == fields["dst_addr"]
        self.drop_objection()


@pyuvm.test()
class MatmulNextToOperandsTest(TopTest):
    """C placed right after A's last line and ending right before B's first line runs, bit
    exact (the intervals touch, they do not meet)."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset(lat_min=5, lat_max=30)
        dim, lb = self.cfg.array_dim, self.cfg.line_bytes
        rows, k_tiles, n_tiles = dim + 1, 2, 2
        k, n = k_tiles * dim, n_tiles * dim
        a = self.rng.integers(-128, 128, (rows, k), dtype=np.int8)
        b = self.rng.integers(-128, 128, (k, n), dtype=np.int8)
        self.image[SRC:SRC + a.size] = a.view(np.uint8).reshape(-1)
        self.image[SRC + 0x8000:SRC + 0x8000 + b.size] = b.view(np.uint8).reshape(-1)
        a_pitch, b_pitch, c_pitch = -(-k // lb), -(-n // lb), -(-n * 4 // lb)
        a_addr = 0
        c_addr = a_addr + (rows - 1) * a_pitch + a_pitch           # right after A
        b_addr = c_addr + (rows - 1) * c_pitch + c_pitch           # right after C
        prog = Program()
        prog.dma_load(dram_addr=SRC, dram_stride=k, rows=rows, row_bytes=k, spad_addr=a_addr,
                      spad_pitch=a_pitch, signal=[0])
        prog.dma_load(dram_addr=SRC + 0x8000, dram_stride=n, rows=k, row_bytes=n,
                      spad_addr=b_addr, spad_pitch=b_pitch, signal=[1])
        prog.matmul(wait=[0, 1], a_addr=a_addr, a_pitch=a_pitch, rows=rows, b_addr=b_addr,
                    b_pitch=b_pitch, k_tiles=k_tiles, n_tiles=n_tiles, a_signed=1, emit=1,
                    dst_addr=c_addr, dst_pitch=c_pitch, signal=[2])
        prog.dma_store(wait=[2], dram_addr=DST, dram_stride=n * 4, rows=rows, row_bytes=n * 4,
                       spad_addr=c_addr, spad_pitch=c_pitch)
        prog.halt()
        report = await self.run_program(prog, self.image, PROG, {"C": (DST, rows * n * 4)})
        got = report.outputs["C"].view("<i4").reshape(rows, n)
        assert np.array_equal(got, a.astype(np.int64) @ b.astype(np.int64))
        self.drop_objection()


@pyuvm.test()
class VectorAliasingTest(RuleTest):
    """VECTOR's result against a and b: every way of missing exact in-place is an error."""

    async def run_phase(self):
        self.raise_objection()
        lanes, lines = self.cfg.vector_lanes, self.cfg.spad_lines
        # a: 3 rows of 2 int32 vectors (2 lines), pitch 2, at 0x20; b (ROW) at 0x60.
        base = dict(op=VecOp.SUB, b_mode=BMode.ROW, a_addr=0x20, a_pitch=2, b_addr=0x60,
                    b_pitch=1, dst_addr=0x20, dst_pitch=2, rows=3, row_len=2 * lanes)
        assert self.model_check(base) is None
        over = ErrorCode.OPERAND_OVERLAP
        cases = [
            ("shifted by a line", dict(base, dst_addr=0x21), over),
            ("other pitch", dict(base, dst_pitch=3), over),
            ("other type", dict(base, dst_type=ElemType.INT8, sat=SatMode.INT8), over),
            ("reduction in place", dict(base, op=VecOp.RMAX), over),
            ("reduction on a's last row", dict(base, op=VecOp.RSUM, dst_addr=0x24), over),
            ("rows sharing lines", dict(base, a_pitch=1, dst_pitch=1), over),
            ("row b meets the result", dict(base, b_addr=0x25), over),
            ("row b in the result's place", dict(base, a_addr=0x40, b_addr=0x20, b_pitch=2),
             over),
            ("vector b meets the result", dict(base, op=VecOp.ADD, b_mode=BMode.VECTOR,
                                               a_addr=0x40, b_addr=0x1F), over),
            ("past the end over a", dict(base, a_addr=lines - 6, dst_addr=lines - 5),
             ErrorCode.SPAD_RANGE),
        ]
        for name, fields, code in cases:
            report = await self.expect_error(name, one_insn("VECTOR", **fields), code)
            assert report.error_pc == PROG + isa.INSN_BYTES
            assert report.status["error_queue"] == int(isa.Queue.VECTOR)
        self.drop_objection()

    def model_check(self, fields: dict):
        from npu_model import semantics as sem
        _, decoded = isa.decode(isa.encode("VECTOR", **fields))
        return sem.check(self.cfg, "VECTOR", decoded)


@pyuvm.test()
class InPlaceVectorTest(TopTest):
    """Exact in-place element-wise VECTOR, the allowed case, bit exact against the model: the
    softmax chain (RMAX to a row line, then SUB with b ROW, MULSHR, EXP2 in place on int32
    rows of ragged length), ADD in place on b (b_mode VECTOR), MAX in place on a and b, 8-bit
    rows in place under a causal mask, and one row with pitch 0."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset(lat_min=5, lat_max=40, bytes_per_cycle=8)
        lanes, lb = self.cfg.vector_lanes, self.cfg.line_bytes
        rows, vecs = 5, 3
        row_len = vecs * lanes - 1
        x = self.rng.integers(-2 ** 14, 2 ** 14, (rows, vecs * lanes)).astype("<i4")
        y = self.rng.integers(-2 ** 20, 2 ** 20, (rows, vecs * lanes)).astype("<i4")
        z = self.rng.integers(-128, 128, (rows, 8 * lanes), dtype=np.int8)
        for offset, arr in ((0, x), (0x1000, y), (0x2000, z)):
            self.image[SRC + offset:SRC + offset + arr.nbytes] = arr.view(np.uint8).reshape(-1)
        X, Y, M, Z = 0x00, 0x40, 0x80, 0xA0           # x pitch 3, y pitch 4, m 1, z 2
        i8 = dict(a_type=ElemType.INT8, dst_type=ElemType.INT8, sat=SatMode.INT8)
        prog = Program()
        prog.dma_load(dram_addr=SRC, dram_stride=x.shape[1] * 4, rows=rows,
                      row_bytes=x.shape[1] * 4, spad_addr=X, spad_pitch=vecs, signal=[0])
        prog.dma_load(dram_addr=SRC + 0x1000, dram_stride=y.shape[1] * 4, rows=rows,
                      row_bytes=y.shape[1] * 4, spad_addr=Y, spad_pitch=vecs + 1, signal=[1])
        prog.dma_load(dram_addr=SRC + 0x2000, dram_stride=z.shape[1], rows=rows,
                      row_bytes=z.shape[1], spad_addr=Z, spad_pitch=2, signal=[2])
        common = dict(rows=rows, row_len=row_len)
        prog.vector(wait=[0], op=VecOp.RMAX, a_addr=X, a_pitch=vecs, dst_addr=M, dst_pitch=1,
                    **common)
        prog.vector(op=VecOp.SUB, b_mode=BMode.ROW, b_addr=M, b_pitch=1, a_addr=X,
                    a_pitch=vecs, dst_addr=X, dst_pitch=vecs, **common)
        prog.vector(op=VecOp.MULSHR, b_mode=BMode.SCALAR, scalar=3 << 10, shift=4, a_addr=X,
                    a_pitch=vecs, dst_addr=X, dst_pitch=vecs, **common)
        prog.vector(op=VecOp.EXP2, b_mode=BMode.SCALAR, shift=2, a_addr=X, a_pitch=vecs, dst_addr=X,
                    dst_pitch=vecs, **common)
        prog.vector(wait=[1], op=VecOp.ADD, b_mode=BMode.VECTOR, a_addr=Y, a_pitch=vecs + 1,
                    b_addr=X, b_pitch=vecs, dst_addr=X, dst_pitch=vecs, **common)
        prog.vector(op=VecOp.MAX, b_mode=BMode.VECTOR, a_addr=X, a_pitch=vecs, b_addr=X,
                    b_pitch=vecs, dst_addr=X, dst_pitch=vecs, **common)
        prog.vector(wait=[2], op=VecOp.ADD, b_mode=BMode.SCALAR, scalar=-77, a_addr=Z,
                    a_pitch=2, dst_addr=Z, dst_pitch=2, rows=rows, row_len=7 * lanes + 1,
                    causal=1, diag=3 * lanes, **i8)
        prog.vector(op=VecOp.COPY, b_mode=BMode.SCALAR, a_addr=X + 1, a_pitch=0,
                    dst_addr=X + 1, dst_pitch=0, rows=1, row_len=lanes, signal=[3])
        prog.dma_store(wait=[3], dram_addr=DST, dram_stride=vecs * lb, rows=rows,
                       row_bytes=vecs * lb, spad_addr=X, spad_pitch=vecs)
        prog.dma_store(dram_addr=DST + 0x1000, dram_stride=2 * lb, rows=rows,
                       row_bytes=2 * lb, spad_addr=Z, spad_pitch=2)
        prog.halt()
        report = await self.run_program(prog, self.image, PROG, {
            "X": (DST, rows * vecs * lb), "Z": (DST + 0x1000, rows * 2 * lb)})
        assert self.model_result.error is None
        assert np.any(report.outputs["X"]) and np.any(report.outputs["Z"])
        self.drop_objection()


@pyuvm.test()
class ProgAlignTest(RuleTest):
    """START with PROG_BASE not a multiple of 32: PROG_ALIGN from the dispatch/fetch queue with
    ERROR_PC = ERROR_INFO = PROG_BASE, no DRAM read, nothing retired; the next START with an
    aligned base runs normally."""

    async def run_phase(self):
        self.raise_objection()
        prog = Program()
        prog.nop()
        prog.halt()
        for base in (0x10, 0x1, 0x3F8, 0x101C):
            report = await self.expect_error(f"PROG_BASE 0x{base:x}", prog,
                                             ErrorCode.PROG_ALIGN, prog_base=base)
            assert report.error_pc == report.error_info == base
            assert report.status["error_queue"] == int(isa.Queue.DISPATCH)
            assert report.counters["INSN_RETIRED"] == 0
            assert report.counters["DRAM_READ_BYTES"] == 0
            # no reset: an aligned START right after the error runs
            report = await self.run_program(prog, self.image, base & ~0x1F, {})
            assert report.counters["INSN_RETIRED"] == 2
        self.drop_objection()


@pyuvm.test()
class ProgBaseOffsetTest(TopTest):
    """PROG_BASE a multiple of 32 but not of the DRAM line (64 bytes on `default`) or of the
    fetch burst: the program runs from exactly that word (the words before it in its burst are
    skipped), across burst boundaries, with the model's results."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset(lat_min=3, lat_max=30)
        lanes, lb = self.cfg.vector_lanes, self.cfg.line_bytes
        burst = self.cfg.line_bytes * 4                   # fetch_burst_beats lines
        data = self.rng.integers(-10 ** 6, 10 ** 6, (4, lanes)).astype("<i4")
        self.image[SRC:SRC + data.nbytes] = data.view(np.uint8).reshape(-1)
        for base in (0x20, 0x60, burst - 0x20, 0x1000 + burst + 0x20, 0x1000 + 2 * burst - 0x20):
            prog = Program()
            prog.dma_load(dram_addr=SRC, dram_stride=lb, rows=4, row_bytes=lb, spad_addr=0,
                          spad_pitch=1, signal=[0])
            for _ in range(9):                             # cross at least one burst
                prog.nop()
            prog.vector(wait=[0], op=VecOp.ADD, b_mode=BMode.SCALAR, scalar=base, a_addr=0,
                        a_pitch=1, dst_addr=8, dst_pitch=1, rows=4, row_len=lanes,
                        signal=[1])
            prog.dma_store(wait=[1], dram_addr=DST, dram_stride=lb, rows=4, row_bytes=lb,
                           spad_addr=8, spad_pitch=1)
            prog.halt()
            # a HALT in the word before PROG_BASE: running it would retire 1 instruction
            image = self.image.copy()
            image[base - 0x20:base] = np.frombuffer(isa.to_bytes([isa.encode("HALT")]),
                                                    np.uint8)
            report = await self.run_program(prog, image, base, {"out": (DST, 4 * lb)})
            assert report.counters["INSN_RETIRED"] == len(prog.words), hex(base)
            out = report.outputs["out"].view("<i4").reshape(4, lanes)
            assert np.array_equal(out, data.astype(np.int64) + base), hex(base)
        self.drop_objection()


@pyuvm.test()
class FetchWindowEdgeTest(RuleTest):
    """Fetch reads whole fetch bursts (fetch_burst_beats lines, aligned to their size): an
    instruction whose burst reaches outside the DRAM window stops with DRAM_RANGE at its pc
    (ERROR_INFO too), in the model as in the RTL, at either edge of a window whose base or end
    is not burst aligned. A burst-aligned window runs the same words."""

    async def run_phase(self):
        self.raise_objection()
        burst = self.cfg.fetch_burst_beats * self.cfg.line_bytes
        prog = Program()
        for _ in range(4):
            prog.nop()
        prog.halt()
        size = len(prog.words) * isa.INSN_BYTES
        base = 0x1000 + 2 * burst
        cases = [   # (window, prog_base, expected pc of the error or None)
            ((base + 0x20, 4 * burst), base + 0x20, base + 0x20),
            ((base, size), base, base + (size // burst) * burst),
            ((base, -(-size // burst) * burst), base, None),
        ]
        for window, prog_base, err_pc in cases:
            await self.reset()
            image = self.image.copy()
            report = await self.run_program(prog, image, prog_base, {}, dram_window=window)
            want = self.model_result.error
            if err_pc is None:
                assert want is None and report.counters["INSN_RETIRED"] == len(prog.words)
            else:
                assert want is not None and (want.code, want.pc, want.info) == \
                    (ErrorCode.DRAM_RANGE, err_pc, err_pc), (window, want)
        self.drop_objection()


# ---- pytest launcher (shares the npu_tb_top build of tb/top/test_npu_top.py) ---------------------
@pytest.mark.sim
@pytest.mark.parametrize("config", ["tiny", "default"])
def test_operand_rules(config):
    run_on_npu(__name__, config)
