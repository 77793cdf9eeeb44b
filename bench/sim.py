"""One benchmark run on the RTL, through the runner (runner/): schedule, inputs, job, check.

The run uses the bench's own Verilator build of npu_tb_top: toggle coverage on (per-bit toggle
counts per module, written to coverage.dat when the simulation ends) and a larger DRAM model
(layer-wise keeps S and P in DRAM). Each run is its own simulation, so its coverage.dat holds
exactly one NPU run; a reset-only run of the same build is the baseline that is subtracted.
With a trace the wrapper also logs every instruction handed to an engine and retired by it,
and every change of the engines' busy bits (bench/trace.py).

Inputs are Gaussian, quantized to int8, from a generator seeded by the workload's name: every
strategy and configuration of a workload sees the same Q, K and V, and a rerun the same
toggles. The output is checked bit for bit against the integer contract here (the bench
skips the instruction-level model's run inside the simulation for speed).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass

import numpy as np

from bench.workloads import BenchWorkload
from hwdef import load_config
from npu_model.attention import gaussian_inputs
from runner import Job, Outcome
from runner.attention import AttentionCheck, calibrated, check_attention
from runner.rtl import run_rtl
from scheduler import Schedule, Tiling, build_schedule

BENCH_DRAM_BYTES = 64 * 1024 * 1024


@dataclass
class CaseRun:
    schedule: Schedule
    outcome: Outcome
    check: AttentionCheck
    wall_s: float


def bench_inputs(bench_wl: BenchWorkload):
    """(q, k, v) and the calibrated workload of a bench workload (seeded by its name)."""
    wl = bench_wl.workload
    rng = np.random.default_rng(zlib.crc32(bench_wl.name.encode()))
    (q, k, v), scales = gaussian_inputs(rng, wl.heads_total, wl.seq_q, wl.seq_kv, wl.head_dim)
    return (q, k, v), calibrated(wl, scales, q, k, v)


def run_baseline(config: str) -> Outcome:
    """A reset-only run of the bench build (its toggles are subtracted from every run's);
    the first call also builds it."""
    job = Job(config=config, image=np.zeros(0, np.uint8), mem_bytes=BENCH_DRAM_BYTES,
              toggle_coverage=True, reset_only=True)
    return run_rtl(job, tag="baseline")


def run_case(config: str, bench_wl: BenchWorkload, strategy: str, tag: str,
             trace: bool = False, dram: str = "config", tiling: Tiling | None = None,
             bench_build: bool = True) -> CaseRun:
    """*dram*: the DRAM model (hwdef DRAM_MODES) of the run and of the prediction. *tiling*:
    forced (default: searched). *bench_build*: the bench's build (toggle coverage, 64 MiB
    DRAM model); else the `make sim` build of the configuration (no toggles, its own DRAM
    size), for runs that only count cycles."""
    start = time.perf_counter()
    (q, k, v), wl = bench_inputs(bench_wl)
    sched = build_schedule(wl, load_config(config), strategy, tiling,
                           dram_bytes=BENCH_DRAM_BYTES if bench_build else None, dram=dram)
    build = dict(toggle_coverage=True, mem_bytes=BENCH_DRAM_BYTES) if bench_build else {}
    job = Job.for_schedule(sched, q, k, v, check_with_model=False, trace=trace, dram=dram,
                           **build)
    outcome = run_rtl(job, tag=tag)
    if not outcome.ok:
        raise AssertionError(f"NPU stopped with {outcome.error} at 0x{outcome.error_pc:x} "
                             f"(info 0x{outcome.error_info:x}); log: {outcome.run_dir}/sim.log")
    check = check_attention(sched, outcome.outputs["O"], q, k, v)
    if not check.bit_exact:
        raise AssertionError(f"{check.mismatches} of {check.output.size} output bytes differ "
                             f"from the integer contract, first at {check.first_mismatch}; "
                             f"run: {outcome.run_dir}")
    return CaseRun(sched, outcome, check, time.perf_counter() - start)
