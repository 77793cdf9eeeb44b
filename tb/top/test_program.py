"""Run a hand-written program (assembly text or binary image) on the NPU.

    make sim PROGRAM=firmware_gen/examples/tiny_matmul_relu.s CONFIG=tiny

DRAM 0x10000..0x1ffff is filled with random bytes (seeded; SEED=<n> changes them), the program
is placed at 0 and run through the runner (runner/) on the RTL, where the scoreboard compares
DRAM 0x20000..0x2ffff (the conventional output area) byte for byte with the instruction-level
model. Status, cycles and every counter are printed. Without PROGRAM, every example under
firmware_gen/examples/ runs on the configuration its name starts with, so the examples stay
correct.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import pytest

from runner.program_file import DATA, DATA_BYTES, OUT, OUT_BYTES, load_words, program_words

EXAMPLES = Path(__file__).resolve().parents[2] / "firmware_gen" / "examples"


def program_job(path: str, config: str, seed: int):
    """The runner job of a program file: the program at 0, seeded random bytes in the data
    area, the output area read back (and compared with the model inside the simulation)."""
    from runner import Job
    words = program_words(path)
    rng = np.random.default_rng((seed ^ zlib.crc32(Path(path).name.encode())) & 0xFFFFFFFF)
    data = np.zeros(OUT + OUT_BYTES, dtype=np.uint8)
    data[DATA:DATA + DATA_BYTES] = rng.integers(0, 256, DATA_BYTES, dtype=np.uint8)
    return Job.for_program(config, words, 0, data, outputs={"output area": (OUT, OUT_BYTES)},
                           dram=os.environ.get("NPU_DRAM") or "config")


def _cases():
    if os.environ.get("NPU_PROGRAM"):
        from runner.check_sim_args import SimArgsError, program_case
        try:
            return [program_case(os.environ)]
        except SimArgsError as exc:
            raise pytest.UsageError(str(exc)) from None
    return [(str(p), p.name.split("_", 1)[0]) for p in sorted(EXAMPLES.glob("*.s"))]


@pytest.mark.sim
@pytest.mark.parametrize("program, config", _cases(), ids=lambda v: Path(v).name)
def test_program(program, config):
    from runner import run
    seed = int(os.environ.get("SEED") or 1)
    job = program_job(program, config, seed)
    outcome = run(job, "rtl", tag=f"program-{Path(program).stem}")
    lines = [f"program {program}: {len(load_words(program))} instructions on '{config}' "
             f"(data seed {seed}; SEED=<n> changes it)",
             f"  status: done={int(outcome.done)} error={outcome.error or 'NONE'}"]
    lines += [f"  {name:<22} {value}" for name, value in outcome.counters.items()]
    print("\n".join(lines))
    # The scoreboard has checked RTL against the model; a program is also expected to
    # finish cleanly (an error is reported with its code and address).
    assert outcome.ok, (f"{program} stopped with {outcome.error} at 0x{outcome.error_pc:x} "
                        f"(info 0x{outcome.error_info:x})")
