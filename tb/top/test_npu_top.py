"""Directed pyuvm tests of the whole NPU running microcode (tb/sv/npu_tb_top.sv).

Every test builds a program with firmware_gen, runs it on the RTL and on the instruction-level
golden model (npu_model/executor.py), and the scoreboard compares status, retired count and
every output byte. The pytest functions at the bottom build the bench once per configuration.
"""

from __future__ import annotations

import numpy as np
import pytest
import pyuvm

from firmware_gen import Program
from hwdef import isa
from hwdef.params import VecOp
from hwdef.regs import ErrorCode
from npu_model.executor import ModelError
from tb.harness.cocotb_utils import seeded_rng
from tb.top.env import NpuBaseTest, run_on_npu

PROG = 0x0000          # program base
SRC = 0x10000          # input data
DST = 0x40000          # outputs


def _lines(nbytes: int, lb: int) -> int:
    return -(-nbytes // lb)


class TopTest(NpuBaseTest):
    """Adds a random generator and a DRAM image to the base test."""

    def start_of_simulation_phase(self):
        self.rng = seeded_rng(self.dut, type(self).__name__)
        self.image = np.zeros(self.dram_size // 4, dtype=np.uint8)   # first quarter used

    def region(self, index: int) -> int:
        """First scratchpad line of region *index* (buffers are region aligned)."""
        return index * self.cfg.spad_region_lines

    def alloc(self, *sizes: int) -> list[int]:
        """Region-aligned scratchpad buffers of the given sizes in lines, one after another."""
        out, line, rl = [], 0, self.cfg.spad_region_lines
        for size in sizes:
            out.append(line)
            line += -(-size // rl) * rl
        assert line <= self.cfg.spad_lines, f"buffers need {line} lines"
        return out


@pyuvm.test()
class HaltOnlyTest(TopTest):
    """Smoke test of cocotb + pyuvm + Verilator: a program of one HALT retires one instruction
    and raises the interrupt."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        assert len(self.dut.u_npu.m_axi_rdata_i) == self.cfg.line_bits, "built for another config"
        prog = Program()
        prog.halt()
        report = await self.run_program(prog, self.image, PROG, {})
        assert report.counters["INSN_RETIRED"] == 1
        assert report.counters["CYCLES"] > 0
        self.drop_objection()


@pyuvm.test()
class DmaRoundTripTest(TopTest):
    """A ragged 2-D block (unaligned address and stride, row not a multiple of the line) goes
    DRAM -> scratchpad (with zero padding) -> DRAM."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset(lat_min=5, lat_max=40, bytes_per_cycle=8)
        lb = self.cfg.line_bytes
        rows, row_bytes, stride = 13, lb + 5, lb + 19
        pad_rows, pad_bytes = 16, 2 * lb
        src = SRC + 3
        for r in range(rows):
            self.image[src + r * stride: src + r * stride + row_bytes] = \
                self.rng.integers(1, 256, row_bytes)
        pitch = _lines(pad_bytes, lb)
        prog = Program()
        prog.dma_load(dram_addr=src, dram_stride=stride, rows=rows, row_bytes=row_bytes,
                      spad_addr=self.region(1), spad_pitch=pitch, pad_rows=pad_rows,
                      pad_bytes=pad_bytes, signal=[0])
        prog.dma_store(wait=[0], dram_addr=DST + 5, dram_stride=pad_bytes + 1, rows=pad_rows,
                       row_bytes=pad_bytes, spad_addr=self.region(1), spad_pitch=pitch)
        prog.halt()
        span = (pad_rows - 1) * (pad_bytes + 1) + pad_bytes
        report = await self.run_program(prog, self.image, PROG,
                                        {"block": (DST, span + 16)})
        got = report.outputs["block"][5:5 + span]
        # Independent of the model: rows of data, then zeros.
        for r in range(pad_rows):
            row = got[r * (pad_bytes + 1): r * (pad_bytes + 1) + pad_bytes]
            want = np.zeros(pad_bytes, dtype=np.uint8)
            if r < rows:
                want[:row_bytes] = self.image[src + r * stride: src + r * stride + row_bytes]
            assert np.array_equal(row, want), f"row {r}"
        self.drop_objection()


def matmul_program(cfg, lb, rows, k_tiles, n_tiles, a_addr, b_addr, c_addr, spad,
                   transpose=False):
    """DMA A and B in, one MATMUL emitting C, DMA C out."""
    dim = cfg.array_dim
    k, n = k_tiles * dim, n_tiles * dim
    a_pitch, c_pitch = _lines(k, lb), _lines(n * 4, lb)
    b_rows, b_cols = (n, k) if transpose else (k, n)
    b_pitch = _lines(b_cols, lb)
    prog = Program()
    prog.dma_load(dram_addr=a_addr, dram_stride=k, rows=rows, row_bytes=k,
                  spad_addr=spad[0], spad_pitch=a_pitch, signal=[0])
    prog.dma_load(dram_addr=b_addr, dram_stride=b_cols, rows=b_rows, row_bytes=b_cols,
                  spad_addr=spad[1], spad_pitch=b_pitch, signal=[1])
    prog.matmul(wait=[0, 1], a_addr=spad[0], a_pitch=a_pitch, rows=rows, b_addr=spad[1],
                b_pitch=b_pitch, k_tiles=k_tiles, n_tiles=n_tiles, transpose=int(transpose),
                a_signed=1, emit=1, dst_addr=spad[2], dst_pitch=c_pitch, signal=[2])
    prog.dma_store(wait=[2], dram_addr=c_addr, dram_stride=n * 4, rows=rows, row_bytes=n * 4,
                   spad_addr=spad[2], spad_pitch=c_pitch)
    prog.halt()
    return prog


@pyuvm.test()
class TiledMatmulTest(TopTest):
    """A·B and A·Bᵀ larger than the array (several k and n tiles, ragged row count), DRAM to
    DRAM, checked against NumPy's matmul as well as the model."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset(lat_min=10, lat_max=60)
        dim, lb = self.cfg.array_dim, self.cfg.line_bytes
        for transpose in (False, True):
            rows, k_tiles, n_tiles = 2 * dim + 3, 3, 2
            k, n = k_tiles * dim, n_tiles * dim
            a = self.rng.integers(-128, 128, (rows, k), dtype=np.int8)
            b = self.rng.integers(-128, 128, (n, k) if transpose else (k, n), dtype=np.int8)
            a[0, :] = -128
            b[0, :] = -128
            a_addr, b_addr = SRC, SRC + 0x8000
            self.image[a_addr:a_addr + a.size] = a.view(np.uint8).reshape(-1)
            self.image[b_addr:b_addr + b.size] = b.view(np.uint8).reshape(-1)
            spad = (self.region(0), self.region(4), self.region(8))
            prog = matmul_program(self.cfg, lb, rows, k_tiles, n_tiles, a_addr, b_addr, DST,
                                  spad, transpose)
            report = await self.run_program(prog, self.image, PROG,
                                            {"C": (DST, rows * n * 4)})
            c = report.outputs["C"].view("<i4").reshape(rows, n)
            ref = a.astype(np.int64) @ (b.T if transpose else b).astype(np.int64)
            assert np.array_equal(c, ref), "C differs from NumPy's matmul"
            self.logger.info("matmul %dx%dx%d transpose=%s: %d cycles, matrix busy %d",
                             rows, k, n, transpose, report.counters["CYCLES"],
                             report.counters["MATRIX_BUSY"])
        self.drop_objection()


@pyuvm.test()
class VectorRowReductionTest(TopTest):
    """RMAX and RSUM over rows spanning several vectors (ragged length, causal mask), then a
    subtract-broadcast of the row max; every intermediate stored and compared."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        lanes, lb = self.cfg.vector_lanes, self.cfg.line_bytes
        rows, row_len = 5, 3 * lanes + 2
        nvec = _lines(row_len, lanes)
        s = self.rng.integers(-5000, 5000, (rows, nvec * lanes)).astype("<i4")
        s[1, :] = 7                                   # ties across vectors
        self.image[SRC:SRC + s.nbytes] = s.view(np.uint8).reshape(-1)
        pitch = nvec                                   # int32 row: one line per vector
        S, M, X = self.alloc(rows * pitch, 2 * rows, rows * pitch)
        L = M + rows                                   # sums right after the maxima
        prog = Program()
        prog.dma_load(dram_addr=SRC, dram_stride=nvec * lb, rows=rows, row_bytes=nvec * lb,
                      spad_addr=S, spad_pitch=pitch, signal=[0])
        prog.vector(wait=[0], op=VecOp.RMAX, a_addr=S, a_pitch=pitch, dst_addr=M, dst_pitch=1,
                    rows=rows, row_len=row_len, signal=[1])
        prog.vector(op=VecOp.RSUM, a_addr=S, a_pitch=pitch, dst_addr=L, dst_pitch=1,
                    rows=rows, row_len=row_len, causal=1, diag=lanes + 1, signal=[2])
        prog.vector(op=VecOp.SUB, b_mode=isa.BMode.ROW, a_addr=S, a_pitch=pitch, b_addr=M,
                    b_pitch=1, dst_addr=X, dst_pitch=pitch, rows=rows, row_len=row_len,
                    signal=[3])
        prog.dma_store(wait=[1, 2, 3], dram_addr=DST, dram_stride=lb, rows=2 * rows,
                       row_bytes=lb, spad_addr=M, spad_pitch=1)
        prog.dma_store(dram_addr=DST + 0x1000, dram_stride=nvec * lb, rows=rows,
                       row_bytes=nvec * lb, spad_addr=X, spad_pitch=pitch)
        prog.halt()
        report = await self.run_program(prog, self.image, PROG, {
            "max_sum": (DST, 2 * rows * lb), "sub": (DST + 0x1000, rows * nvec * lb)})
        mx = report.outputs["max_sum"][:rows * lb].view("<i4").reshape(rows, lanes)
        assert np.array_equal(mx[:, 0], s[:, :row_len].max(axis=1)), "row max"
        self.drop_objection()


@pyuvm.test()
class OverlapTest(TopTest):
    """Independent matrix and vector work in one program: the busy counters show both units
    busy in the same cycles (MATRIX_VECTOR_OVERLAP), and the results are still exact."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        dim, lanes, lb = self.cfg.array_dim, self.cfg.vector_lanes, self.cfg.line_bytes
        rows, k_tiles, n_tiles = 4 * dim, 2, 2
        k, n = k_tiles * dim, n_tiles * dim
        a = self.rng.integers(-128, 128, (rows, k), dtype=np.int8)
        b = self.rng.integers(-128, 128, (k, n), dtype=np.int8)
        v = self.rng.integers(-1000, 1000, (64, lanes)).astype("<i4")
        self.image[SRC:SRC + a.size] = a.view(np.uint8).reshape(-1)
        self.image[SRC + 0x8000:SRC + 0x8000 + b.size] = b.view(np.uint8).reshape(-1)
        self.image[SRC + 0x10000:SRC + 0x10000 + v.nbytes] = v.view(np.uint8).reshape(-1)
        a_pitch, b_pitch, c_pitch = _lines(k, lb), _lines(n, lb), _lines(n * 4, lb)
        A, B, C, V, W = self.alloc(rows * a_pitch, k * b_pitch, rows * c_pitch, 64, 64)
        prog = Program()
        # Both units start when the last load (B) is in: it signals s5 for the first vector op.
        prog.dma_load(dram_addr=SRC + 0x10000, dram_stride=lb, rows=64, row_bytes=lb,
                      spad_addr=V, spad_pitch=1, signal=[2])
        prog.dma_load(dram_addr=SRC, dram_stride=k, rows=rows, row_bytes=k, spad_addr=A,
                      spad_pitch=a_pitch, signal=[0])
        prog.dma_load(dram_addr=SRC + 0x8000, dram_stride=n, rows=k, row_bytes=n, spad_addr=B,
                      spad_pitch=b_pitch, signal=[1, 5])
        for i in range(4):   # both queues get several long instructions
            prog.matmul(wait=[0, 1], a_addr=A, a_pitch=a_pitch, rows=rows, b_addr=B,
                        b_pitch=b_pitch, k_tiles=k_tiles, n_tiles=n_tiles, a_signed=1,
                        emit=1, dst_addr=C, dst_pitch=c_pitch, signal=[0, 1, 3])
            prog.vector(wait=[2, 5] if i == 0 else [2], op=VecOp.EXP2, shift=3, a_addr=V,
                        a_pitch=4, dst_addr=W, dst_pitch=4, rows=16, row_len=4 * lanes,
                        signal=[2, 4])
        for _ in range(4):   # every matmul and every vector op has completed
            prog.sync(isa.Queue.DMA_OUT, wait=[3, 4])
        prog.dma_store(dram_addr=DST, dram_stride=n * 4, rows=rows, row_bytes=n * 4,
                       spad_addr=C, spad_pitch=c_pitch)
        prog.dma_store(dram_addr=DST + 0x10000, dram_stride=lb, rows=64, row_bytes=lb,
                       spad_addr=W, spad_pitch=1)
        prog.halt()
        report = await self.run_program(prog, self.image, PROG, {
            "C": (DST, rows * n * 4), "W": (DST + 0x10000, 64 * lb)})
        c = report.counters
        overlap, mbusy, vbusy = (c["MATRIX_VECTOR_OVERLAP"], c["MATRIX_BUSY"],
                                 c["VECTOR_BUSY"])
        self.logger.info("matrix busy %d, vector busy %d, both %d cycles of %d", mbusy, vbusy,
                         overlap, c["CYCLES"])
        assert overlap >= 0.5 * min(mbusy, vbusy), "matrix and vector did not run together"
        self.drop_objection()


@pyuvm.test()
class SemaphoreOrderingTest(TopTest):
    """A ping-pong pipeline (load -> vector -> store, two buffers, 'buffer free' semaphores)
    under random DRAM latency: results are exact only if every wait/signal orders correctly."""

    async def run_phase(self):
        self.raise_objection()
        await self.reset(lat_min=1, lat_max=150, bytes_per_cycle=16,
                         seed=int(self.rng.integers(1, 2**31)))
        lanes, lb = self.cfg.vector_lanes, self.cfg.line_bytes
        blocks, lines = 8, 6
        data = self.rng.integers(-10**6, 10**6, (blocks, lines, lanes)).astype("<i4")
        self.image[SRC:SRC + data.nbytes] = data.view(np.uint8).reshape(-1)
        IN, OUT = (self.region(0), self.region(1)), (self.region(2), self.region(3))
        prog = Program()
        # s0/s1: input buffer 0/1 full; s2/s3: input buffer 0/1 free; s4/s5: output full;
        # s6/s7: output free. Free semaphores start at 0, so the first use of each buffer
        # skips its wait.
        for blk in range(blocks):
            p = blk % 2
            prog.dma_load(wait=[2 + p] if blk >= 2 else None,
                          dram_addr=SRC + blk * lines * lb, dram_stride=lb, rows=lines,
                          row_bytes=lb, spad_addr=IN[p], spad_pitch=1, signal=[p])
            prog.vector(wait=[p] + ([6 + p] if blk >= 2 else []), op=VecOp.ADD,
                        b_mode=isa.BMode.SCALAR, scalar=blk * 1000 + 1, a_addr=IN[p],
                        a_pitch=1, dst_addr=OUT[p], dst_pitch=1, rows=lines,
                        row_len=lanes, signal=[2 + p, 4 + p])
            prog.dma_store(wait=[4 + p], dram_addr=DST + blk * lines * lb, dram_stride=lb,
                           rows=lines, row_bytes=lb, spad_addr=OUT[p], spad_pitch=1,
                           signal=[6 + p])
        prog.halt()
        report = await self.run_program(prog, self.image, PROG,
                                        {"out": (DST, blocks * lines * lb)})
        out = report.outputs["out"].view("<i4").reshape(blocks, lines, lanes)
        want = data.astype(np.int64) + (np.arange(blocks) * 1000 + 1)[:, None, None]
        assert np.array_equal(out, want)
        self.drop_objection()


# ---- bad input: each stops the NPU cleanly with its own error code -----------------------------
class ErrorTest(TopTest):
    expect: ErrorCode

    async def check(self, prog: Program, **kwargs):
        report = await self.run_program(prog, self.image, PROG, {}, **kwargs)
        assert report.status["error"] == 1
        assert report.error_code == self.expect, report.status
        assert report.status["done"] == 0
        return report


@pyuvm.test()
class IllegalOpcodeTest(ErrorTest):
    expect = ErrorCode.ILLEGAL_OPCODE

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        prog = Program()
        prog.nop()
        prog.words.append(0xF)               # opcode 15 does not exist
        prog.halt()
        report = await self.check(prog)
        assert report.error_pc == PROG + isa.INSN_BYTES
        self.drop_objection()


@pyuvm.test()
class SpadRangeTest(ErrorTest):
    expect = ErrorCode.SPAD_RANGE

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        prog = Program()
        prog.dma_load(dram_addr=SRC, dram_stride=16, rows=4, row_bytes=16,
                      spad_addr=self.cfg.spad_lines - 2, spad_pitch=1)
        prog.halt()
        await self.check(prog)
        self.drop_objection()


@pyuvm.test()
class DramWindowTest(ErrorTest):
    expect = ErrorCode.DRAM_RANGE

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        prog = Program()
        prog.dma_load(dram_addr=0x200000, dram_stride=16, rows=2, row_bytes=16, spad_addr=0,
                      spad_pitch=1)
        prog.halt()
        await self.check(prog, dram_window=(0, 0x100000))
        self.drop_objection()


@pyuvm.test()
class DeadlockTest(ErrorTest):
    expect = ErrorCode.DEADLOCK

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        prog = Program()
        prog.vector(wait=[5], op=VecOp.COPY, a_addr=0, a_pitch=1, dst_addr=16, dst_pitch=1,
                    rows=1, row_len=4)
        prog.halt()
        # The sequential model has no semaphores, so the expected error is given here: ERROR_INFO
        # holds the awaited semaphores (bit 5) and, from bit 16, the blocked queues (vector).
        info = 1 << int(isa.Queue.VECTOR) << 16 | 1 << 5
        report = await self.check(prog, watchdog=2000,
                                  model_error=ModelError(ErrorCode.DEADLOCK, PROG, info))
        assert report.status["error_queue"] == int(isa.Queue.VECTOR)
        assert report.error_pc == PROG
        self.drop_objection()


@pyuvm.test()
class StrictOverwriteTest(ErrorTest):
    expect = ErrorCode.OW_VIOLATION

    async def run_phase(self):
        self.raise_objection()
        await self.reset()
        lb = self.cfg.line_bytes
        prog = Program()
        prog.dma_load(dram_addr=SRC, dram_stride=lb, rows=2, row_bytes=lb, spad_addr=0,
                      spad_pitch=1, lock_readers=1, signal=[0])
        # Overwrites the locked buffer before anyone read it.
        prog.dma_load(wait=[0], dram_addr=SRC, dram_stride=lb, rows=2, row_bytes=lb,
                      spad_addr=0, spad_pitch=1)
        prog.halt()
        report = await self.check(prog, strict=True)
        assert report.error_pc == PROG + isa.INSN_BYTES
        assert report.counters["OW_VIOLATIONS"] >= 1
        self.drop_objection()


# ---- pytest launchers ----------------------------------------------------------------------------
@pytest.mark.sim
@pytest.mark.parametrize("config", ["tiny", "default"])
def test_npu_top(config):
    run_on_npu(__name__, config)
