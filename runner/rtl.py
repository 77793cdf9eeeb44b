"""The RTL backend: one simulation of npu_tb_top (the NPU, the DRAM model, a clock in
SystemVerilog) per job, on the Verilator build of the job's configuration (built once per
parameter set and reused; a toggle-coverage job uses its own build variant).

The launcher writes the job into the run directory, runs the cocotb test of
runner/cocotb_job.py in the simulator, and reads the outcome back from the same directory.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from hwdef import load_config
from runner.job import Job, Outcome

JOB_ENV = "NPU_JOB_DIR"
TEST_MODULE = "runner.cocotb_job"


def _build_params(job: Job) -> dict:
    """The DRAM model's size overrides the configuration's only where the job asks for it."""
    return ({"MemBytes": job.mem_bytes} if job.mem_bytes != load_config(job.config).dram_bytes
            else {})


def run_dir_for(job: Job, tag: str = "") -> Path:
    """The job's working directory inside its build: run-cocotb_job-<tag>, the tag defaulting
    to the job's digest so that different untagged jobs never share a directory."""
    from tb.harness.sim import build_dir_for, build_variant
    from tb.top.env import EXTRA_SOURCES
    params = dict(load_config(job.config).sv_params("npu_tb_top"), **_build_params(job))
    build = build_dir_for("npu_tb_top", job.config, params,
                          build_variant(job.toggle_coverage), EXTRA_SOURCES)
    # tb.harness.sim.run_cocotb runs the simulation in run-<module>-<tag> of the build.
    return build / f"run-{TEST_MODULE.rsplit('.', 1)[-1]}-{tag or job.digest()}"


def run_rtl(job: Job, tag: str = "") -> Outcome:
    """Run *job* in its own simulation; raises AssertionError if the simulation fails (a
    scoreboard mismatch when the job is checked against the model, a timeout). Jobs with the
    same *tag* share a run directory: give concurrent jobs different tags (or none)."""
    from tb.harness.sim import run_cocotb
    from tb.top.env import EXTRA_SOURCES, TIMING_ARGS
    start = time.perf_counter()
    tag = tag or job.digest()
    run_dir = run_dir_for(job, tag)
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("outcome.json", "outputs.npz", "coverage.dat", "trace.txt"):
        (run_dir / stale).unlink(missing_ok=True)
    job.save(run_dir)
    plusargs = [f"+npu_trace={run_dir / 'trace.txt'}"] if job.trace else []
    results = run_cocotb("npu_tb_top", test_module=TEST_MODULE, config=job.config,
                         extra_params=_build_params(job), extra_sources=EXTRA_SOURCES,
                         build_args=TIMING_ARGS, run_tag=tag, plusargs=plusargs,
                         toggle_coverage=job.toggle_coverage,
                         extra_env={JOB_ENV: str(run_dir)})
    assert results.parent == run_dir, (results, run_dir)
    outcome = Outcome.load(run_dir)
    outcome.run_dir = str(run_dir)
    if job.trace and (run_dir / "trace.txt").exists():
        outcome.trace_path = str(run_dir / "trace.txt")
    if job.toggle_coverage and (run_dir / "coverage.dat").exists():
        outcome.coverage_path = str(run_dir / "coverage.dat")
    outcome.wall_s = time.perf_counter() - start
    return outcome


def job_dir_from_env() -> Path:
    return Path(os.environ[JOB_ENV])
