"""Independent AXI check: the NPU against cocotbext-axi's AxiRam (DRAM) and AxiLiteMaster (host).

The project's own DRAM model and host agent were written together with the RTL, so a shared
misreading of AXI could hide in both. Here an independent implementation drives both ports of
npu_top (through tb/sv/npu_axi_ext_tb.sv, which only renames signals) while a tiled matmul and
a vector program run; the results must match the instruction-level golden model.
"""

from __future__ import annotations

from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, RisingEdge, Timer

from hwdef import regs
from hwdef.params import VecOp
from npu_model.executor import NpuModel
from tb.harness.cocotb_utils import npu_config, seeded_rng

RAM_BYTES = 1 << 20


class TB:
    def __init__(self, dut):
        from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam
        self.dut = dut
        self.cfg = npu_config()
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        self.ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=RAM_BYTES)
        self.host = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 5)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    async def reg(self, name: str, value: int | None = None) -> int:
        offset = regs.BY_NAME[name].offset
        if value is None:
            return await self.host.read_dword(offset)
        await self.host.write_dword(offset, value)
        return value

    async def run(self, image: np.ndarray, prog_base: int, timeout_cycles: int = 200_000):
        """Load *image* into the AxiRam, run from *prog_base*, return (status, model)."""
        model = NpuModel(self.cfg, image.copy(), dram_base=0, dram_size=RAM_BYTES)
        result = model.run(prog_base)
        assert result.error is None, f"test program is bad: {result.error}"
        self.ram.write(0, image.tobytes())
        await self.reg("PROG_BASE", prog_base)
        await self.reg("DRAM_BASE", 0)
        await self.reg("DRAM_SIZE", RAM_BYTES)
        await self.reg("CTRL", regs.CTRL_START | regs.CTRL_IRQ_EN)
        timer = Timer(timeout_cycles * 10, unit="ns")
        if await First(RisingEdge(self.dut.irq), timer) is timer:
            raise AssertionError("no interrupt")
        status = regs.status_fields(await self.reg("STATUS"))
        assert status["done"] == 1 and status["error"] == 0, status
        assert await self.reg("INSN_RETIRED") == result.retired
        return model


@cocotb.test()
async def matmul_and_vector_on_cocotbext_axi(dut):
    """Tiled matmul (A·Bᵀ) and an EXP2 pass, DRAM to DRAM, through independent AXI models."""
    from firmware_gen import Program
    tb = TB(dut)
    await tb.reset()
    cfg, rng = tb.cfg, seeded_rng(dut, "axi_cross_check")
    dim, lanes, lb = cfg.array_dim, cfg.vector_lanes, cfg.line_bytes
    rows, kt, nt = 2 * dim + 1, 2, 2
    k, n = kt * dim, nt * dim
    a = rng.integers(-128, 128, (rows, k), dtype=np.int8)
    bt = rng.integers(-128, 128, (n, k), dtype=np.int8)
    s = rng.integers(-20000, 1, (8, lanes)).astype("<i4")
    image = np.zeros(RAM_BYTES, dtype=np.uint8)
    A, B, S, C, E = 0x1000, 0x3000, 0x5000, 0x8000, 0xC000
    image[A + 3:A + 3 + a.size] = a.view(np.uint8).reshape(-1)   # unaligned source
    image[B:B + bt.size] = bt.view(np.uint8).reshape(-1)
    image[S:S + s.nbytes] = s.view(np.uint8).reshape(-1)
    rl = cfg.spad_region_lines
    sa, sb, sc, ss, se = 0, 2 * rl, 4 * rl, 8 * rl, 9 * rl
    a_pitch, b_pitch, c_pitch = -(-k // lb), -(-k // lb), -(-(n * 4) // lb)
    prog = Program()
    prog.dma_load(dram_addr=A + 3, dram_stride=k, rows=rows, row_bytes=k, spad_addr=sa,
                  spad_pitch=a_pitch, signal=[0])
    prog.dma_load(dram_addr=B, dram_stride=k, rows=n, row_bytes=k, spad_addr=sb,
                  spad_pitch=b_pitch, signal=[1])
    prog.dma_load(dram_addr=S, dram_stride=lb, rows=8, row_bytes=lb, spad_addr=ss,
                  spad_pitch=1, signal=[2])
    prog.matmul(wait=[0, 1], a_addr=sa, a_pitch=a_pitch, rows=rows, b_addr=sb, b_pitch=b_pitch,
                k_tiles=kt, n_tiles=nt, transpose=1, a_signed=1, emit=1, dst_addr=sc,
                dst_pitch=c_pitch, signal=[3])
    prog.vector(wait=[2], op=VecOp.EXP2, shift=2, a_addr=ss, a_pitch=1, dst_addr=se,
                dst_pitch=1, rows=8, row_len=lanes, signal=[4])
    prog.dma_store(wait=[3], dram_addr=C + 1, dram_stride=n * 4, rows=rows, row_bytes=n * 4,
                   spad_addr=sc, spad_pitch=c_pitch)
    prog.dma_store(wait=[4], dram_addr=E, dram_stride=lb, rows=8, row_bytes=lb, spad_addr=se,
                   spad_pitch=1)
    prog.halt()
    code = np.frombuffer(prog.to_bytes(), dtype=np.uint8)
    image[:code.size] = code
    model = await tb.run(image, 0)
    got = np.frombuffer(tb.ram.read(0, 0x10000), dtype=np.uint8)
    want = model.dram[:0x10000]
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, f"{bad.size} DRAM bytes differ from the model, first at 0x{bad[0]:x}"
    c = got[C + 1:C + 1 + rows * n * 4].view("<i4").reshape(rows, n)
    assert np.array_equal(c, a.astype(np.int64) @ bt.T.astype(np.int64))


SV = Path(__file__).resolve().parents[1] / "sv"


@pytest.mark.sim
@pytest.mark.parametrize("config", ["tiny"])
def test_axi_cross_check(config):
    from tb.harness.sim import run_cocotb
    run_cocotb("npu_axi_ext_tb", test_module=__name__, config=config,
               extra_sources=[SV / "npu_axi_ext_tb.sv"])
