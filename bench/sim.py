"""One benchmark run on the RTL: a cocotb test (runs inside the simulator) and its launcher.

The run uses the bench's own Verilator build of npu_tb_top: toggle coverage on (per-bit toggle
counts per module, written to coverage.dat when the simulation ends) and a larger DRAM model
(layer-wise keeps S and P in DRAM). Each run is its own simulation, so its coverage.dat holds
exactly one NPU run; a reset-only run of the same build is the baseline that is subtracted.
With a trace file the wrapper also logs every change of the engines' busy bits.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyuvm

from scheduler import Workload
from tb.top.attention_env import AttentionTestBase
from tb.top.env import EXTRA_SOURCES, TIMING_ARGS

BENCH_DRAM_BYTES = 64 * 1024 * 1024
CASE_ENV, RESULT_ENV = "NPU_BENCH_CASE", "NPU_BENCH_RESULT"


@pyuvm.test()
class BenchRunTest(AttentionTestBase):
    """The case in $NPU_BENCH_CASE (workload fields, "strategy"); with "baseline" only reset."""

    async def run_phase(self):
        self.raise_objection()
        case = json.loads(os.environ[CASE_ENV])
        if case.get("baseline"):
            await self.reset()
        else:
            strategy = case.pop("strategy")
            wl = Workload(**case)
            q, k, v = self.random_inputs(wl)
            wl = self.calibrated(wl, q, k, v)
            run = await self.run_attention(wl, strategy, q, k, v, use_model=False,
                                           dram_bytes=BENCH_DRAM_BYTES)
            queue_notes, macs = self.schedule.queue_notes(), self.schedule.work().macs
            Path(os.environ[RESULT_ENV]).write_text(json.dumps(
                dict(run.to_dict(), queue_notes=queue_notes, macs=macs,
                     workload=self.schedule.workload.to_dict(),
                     prediction={"cycles": self.schedule.prediction.cycles,
                                 "busy": self.schedule.prediction.busy,
                                 "overlap": self.schedule.prediction.overlap})))
        self.drop_objection()

    def check_phase(self):
        if json.loads(os.environ[CASE_ENV]).get("baseline"):
            return   # nothing was run, nothing to score
        super().check_phase()


def run_case(config: str, case: dict, tag: str, trace: bool = False) -> Path:
    """Run one case in its own simulation; returns its run directory (coverage.dat,
    result.json, trace.txt)."""
    from tb.harness.sim import SIM_BUILD, build_dir_for, run_cocotb
    from hwdef import load_config
    params = dict(load_config(config).sv_params("npu_tb_top"), MemBytes=BENCH_DRAM_BYTES)
    build = build_dir_for("npu_tb_top", config, params, "toggle", EXTRA_SOURCES)
    run_dir = build / f"run-sim-{tag}"
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in ("coverage.dat", "result.json", "trace.txt"):
        (run_dir / name).unlink(missing_ok=True)
    plusargs = [f"+npu_trace={run_dir / 'trace.txt'}"] if trace else []
    run_cocotb("npu_tb_top", test_module=__name__, config=config,
               extra_params={"MemBytes": BENCH_DRAM_BYTES}, extra_sources=EXTRA_SOURCES,
               build_args=TIMING_ARGS, run_tag=tag, plusargs=plusargs, toggle_coverage=True,
               extra_env={CASE_ENV: json.dumps(case),
                          RESULT_ENV: str(run_dir / "result.json")})
    assert SIM_BUILD in run_dir.parents
    return run_dir
