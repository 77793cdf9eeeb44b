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
from runner.job import SIM_FAILED, Job, Outcome

JOB_ENV = "NPU_JOB_DIR"
TEST_MODULE = "runner.cocotb_job"


def _build_params(job: Job) -> dict:
    """The DRAM model's size overrides the configuration's only where the job asks for it."""
    return ({"MemBytes": job.mem_bytes} if job.mem_bytes != load_config(job.config).dram_bytes
            else {})


def new_run_dir_for(job: Job, tag: str = "") -> Path:
    """A new working directory for one run of *job* inside its build: run-cocotb_job-<tag>
    @<pid>.<n> (tb.harness.sim.new_run_dir), the tag defaulting to the job's digest. Every run
    has its own, so concurrent runs with the same tag never share files."""
    from tb.harness.sim import new_run_dir, sim_build_dir
    from tb.top.env import EXTRA_SOURCES, PUBLIC_ONLY
    build = sim_build_dir("npu_tb_top", job.config, _build_params(job), EXTRA_SOURCES,
                          job.toggle_coverage, PUBLIC_ONLY)
    return new_run_dir(build, f"{TEST_MODULE.rsplit('.', 1)[-1]}-{tag or job.digest()}")


def run_rtl(job: Job, tag: str = "") -> Outcome:
    """Run *job* in its own simulation; raises AssertionError if the simulation fails (a
    scoreboard mismatch when the job is checked against the model, a timeout). The *tag*
    names the run directory (outcome.run_dir); each run gets a new one."""
    from tb.harness.sim import run_cocotb
    from tb.top.env import EXTRA_SOURCES, PUBLIC_ONLY, TIMING_ARGS
    start = time.perf_counter()
    run_dir = new_run_dir_for(job, tag)
    job.save(run_dir)
    plusargs = [f"+npu_trace={run_dir / 'trace.txt'}"] if job.trace else []
    results = run_cocotb("npu_tb_top", test_module=TEST_MODULE, config=job.config,
                         extra_params=_build_params(job), extra_sources=EXTRA_SOURCES,
                         build_args=TIMING_ARGS, run_dir=run_dir, plusargs=plusargs,
                         toggle_coverage=job.toggle_coverage, testcase="NpuJobTest",
                         extra_env={JOB_ENV: str(run_dir)}, public_only=PUBLIC_ONLY)
    assert results.parent == run_dir, (results, run_dir)
    outcome = Outcome.load(run_dir)
    outcome.run_dir = str(run_dir)
    if job.trace and (run_dir / "trace.txt").exists():
        outcome.trace_path = str(run_dir / "trace.txt")
    if job.toggle_coverage and (run_dir / "coverage.dat").exists():
        outcome.coverage_path = str(run_dir / "coverage.dat")
    outcome.wall_s = time.perf_counter() - start
    return outcome


def batch_dirs(directory: Path) -> list[Path]:
    """The numbered job directories of a batch run (empty for a single job)."""
    return sorted(d for d in directory.glob("job-*") if d.is_dir())


def run_rtl_batch(jobs: list[Job], tag: str) -> list[Outcome]:
    """Run *jobs* one after the other in ONE simulation (a reset before each `fresh` one)
    and return their outcomes, unscored: the caller compares them (with the model backend, for
    instance). The jobs must share a configuration and build parameters; *tag* names the run
    directory (each batch gets a new one). If the simulation ends early (an assertion fires),
    the job it was running is SIM_FAILED with the reason and the rest run again; if it never
    ran a job (the build failed), that error is raised."""
    from tb.harness.sim import run_cocotb
    from tb.top.env import EXTRA_SOURCES, PUBLIC_ONLY, TIMING_ARGS
    if not jobs:
        return []
    first = jobs[0]
    for job in jobs:
        if (job.config, _build_params(job), job.toggle_coverage, job.trace) != (
                first.config, _build_params(first), False, False):
            raise ValueError("a batch runs on one build: same configuration and DRAM model "
                             "size, no toggle coverage or trace")
    start = time.perf_counter()
    run_dir = new_run_dir_for(first, tag)
    dirs = [run_dir / f"job-{index:05d}" for index in range(len(jobs))]
    for job, directory in zip(jobs, dirs):
        job.save(directory)
    try:
        run_cocotb("npu_tb_top", test_module=TEST_MODULE, config=first.config,
                   extra_params=_build_params(first), extra_sources=EXTRA_SOURCES,
                   build_args=TIMING_ARGS, run_dir=run_dir, testcase="NpuJobBatchTest",
                   extra_env={JOB_ENV: str(run_dir)}, public_only=PUBLIC_ONLY)
        failure = None
    except (AssertionError, RuntimeError) as err:   # the simulation ended early
        if not (dirs[0] / "outcome.json").exists():
            raise                                    # nothing ran: a build or start-up error
        lines = str(err).splitlines() or [type(err).__name__]
        failure = next((ln.strip() for ln in lines if "[NPU ASSERT]" in ln), lines[0])
    if failure is not None and (dirs[-1] / "outcome.json").exists():
        (dirs[-1] / "outcome.json").unlink()         # ended after the last outcome: blame it
    outcomes: list[Outcome] = []
    for index, directory in enumerate(dirs):
        if (directory / "outcome.json").exists():
            outcome = Outcome.load(directory)
        elif failure is not None:
            # The job that was running when the simulation ended gets the blame; the ones
            # after it run again in a new simulation.
            outcome = Outcome(backend="rtl", done=False, error=SIM_FAILED,
                              message=f"{failure} (log: {run_dir / 'sim.log'})")
            outcome.run_dir = str(directory)
            outcomes.append(outcome)
            outcomes += run_rtl_batch(jobs[index + 1:], tag) if index + 1 < len(jobs) else []
            return outcomes
        else:
            raise AssertionError(f"{directory}: the simulation wrote no outcome")
        outcome.run_dir = str(directory)
        outcomes.append(outcome)
    wall = (time.perf_counter() - start) / len(jobs)
    for outcome in outcomes:
        outcome.wall_s = wall
    return outcomes


def job_dir_from_env() -> Path:
    return Path(os.environ[JOB_ENV])
