"""Run a hand-written program (assembly text or binary image) on the NPU.

    make sim PROGRAM=firmware_gen/examples/tiny_matmul_relu.s CONFIG=tiny

DRAM 0x10000..0x1ffff is filled with random bytes (seeded; SEED=<n> reproduces), the program is
placed at 0 and run on the RTL and on the instruction-level golden model, and DRAM
0x20000..0x2ffff (the conventional output area) is compared byte for byte. Status, cycles and
every counter are printed. Without PROGRAM, every example under firmware_gen/examples/ runs on
the configuration its name starts with, so the examples stay correct.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import pyuvm

from firmware_gen import assemble, read_image
from firmware_gen.program import Program
from hwdef import isa, regs
from tb.harness.cocotb_utils import seeded_rng
from tb.top.env import NpuBaseTest

DATA, DATA_BYTES = 0x10000, 0x10000
OUT, OUT_BYTES = 0x20000, 0x10000
EXAMPLES = Path(__file__).resolve().parents[2] / "firmware_gen" / "examples"


def load_program(path: str) -> Program:
    prog = Program()
    if path.endswith(".bin"):
        prog.words = read_image(path)
    else:
        prog.words = assemble(Path(path).read_text(), source=path)
    return prog


@pyuvm.test()
class ProgramFileTest(NpuBaseTest):
    async def run_phase(self):
        self.raise_objection()
        path = os.environ["NPU_PROGRAM"]
        prog = load_program(path)
        code_bytes = len(prog.to_bytes())
        assert code_bytes <= DATA, (
            f"{path}: {len(prog)} instructions ({code_bytes} bytes) do not fit below the data "
            f"area at 0x{DATA:x}, where this runner places programs (at most "
            f"{DATA // isa.INSN_BYTES} instructions); an attention program from "
            f"`firmware_gen attention` needs its own memory map: run it with `make sim SEQ=...`")
        rng = seeded_rng(self.dut, Path(path).name)
        image = np.zeros(OUT + OUT_BYTES, dtype=np.uint8)
        image[DATA:DATA + DATA_BYTES] = rng.integers(0, 256, DATA_BYTES, dtype=np.uint8)
        await self.reset()
        report = await self.run_program(prog, image, 0, {"output area": (OUT, OUT_BYTES)})
        status = report.status
        lines = [f"program {path}: {len(prog)} instructions on '{self.cfg.name}'",
                 f"  status: done={status['done']} error={status['error']} "
                 f"code={regs.ErrorCode(status['error_code']).name}"]
        lines += [f"  {name:<22} {value}" for name, value in report.counters.items()]
        self.logger.info("\n".join(lines))
        Path(os.environ.get("NPU_PROGRAM_REPORT", "program_report.txt")).write_text(
            "\n".join(lines) + "\n")
        # The scoreboard has checked RTL against the model; a program is also expected to
        # finish cleanly (an error is reported with its code and address).
        assert status["done"] == 1 and status["error"] == 0, (
            f"{path} stopped with {regs.ErrorCode(status['error_code']).name} at "
            f"0x{report.error_pc:x} (info 0x{report.error_info:x})")
        self.drop_objection()


def _cases():
    if os.environ.get("NPU_PROGRAM"):
        return [(os.environ["NPU_PROGRAM"], os.environ.get("NPU_SIM_CONFIG", "tiny"))]
    return [(str(p), p.name.split("_", 1)[0]) for p in sorted(EXAMPLES.glob("*.s"))]


@pytest.mark.sim
@pytest.mark.parametrize("program, config", _cases(), ids=lambda v: Path(v).name)
def test_program(program, config):
    from tb.harness.sim import SIM_BUILD
    from tb.top.env import run_on_npu
    report = SIM_BUILD / f"program-{Path(program).stem}-{config}.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    try:
        run_on_npu(__name__, config, run_tag=Path(program).stem,
                   NPU_PROGRAM=str(Path(program).resolve()), NPU_PROGRAM_REPORT=str(report))
    finally:
        if report.exists():
            print(report.read_text())
