"""The bench's units of work, as plain functions a Dask worker runs (bench/cluster.py).

    baseline_task(config)                      the reset-only run of the configuration's bench
                                               build; building it is part of the first call
    case_task(config, bench_wl, strategy, dram, baseline, digest)
                                               one (configuration, workload, strategy) run:
                                               schedule, simulation, bit-exact check, record

Every case depends on its configuration's baseline task, so a configuration's Verilator build
is made once, by whichever worker runs the baseline, before any of its cases starts; the other
workers reuse it from `sim_build/` (a shared filesystem: on one machine, or a farm whose nodes
mount the repository) or, with `NPU_SIM_BUILD` pointing at a local directory, build it
themselves on first use (tb/harness/sim.py: one build per parameter set and directory, made
under a lock). Arguments and results are plain data (dicts, dataclasses of strings and
numbers), so they travel to and from remote workers.

`source_digest` names what a record was measured with: the hash of every file that decides the
program, its inputs and the figures (RTL, simulation wrappers, hardware definition, scheduler,
the bench's run and energy code). A rerun skips a case whose record carries the same digest.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from bench.record import BenchRecord
from bench.workloads import BenchWorkload
from hwdef import load_config

REPO = Path(__file__).resolve().parent.parent
# What a record depends on: change any file here and every record is measured again. The
# simulation's RTL, wrappers, control files and build flags; the hardware definition; the
# program (scheduler, firmware_gen) and its inputs (bench/workloads: the names seed them);
# the model and runner the run goes through; the bench's own run, energy and trace code.
# bench/test_cluster.py checks that every project module a case imports is covered.
DIGEST_SOURCES = ("rtl", "tb/sv", "tb/harness", "tb/top/env.py", "hwdef", "scheduler",
                  "firmware_gen", "npu_model", "runner", "tools/rtl_sources.py",
                  "tools/verilator_env.py", "bench/sim.py", "bench/energy.py",
                  "bench/toggles.py", "bench/trace.py", "bench/tasks.py", "bench/record.py",
                  "bench/workloads.py")
# Project files that cannot change a record: the command line and the cluster it uses, and
# the report, whose metrics are derived anew from the records every time.
DIGEST_EXEMPT = ("bench/__init__.py", "bench/__main__.py", "bench/cluster.py",
                 "bench/report.py", "bench/roofline.py", "tb/__init__.py", "tools/__init__.py",
                 "tb/top/__init__.py")


class CaseFailed(RuntimeError):
    """A case that did not give a record; the message names the case and its log."""


@cache
def source_digest() -> str:
    """SHA-256 (16 hex digits) over the contents of every file of DIGEST_SOURCES (compiled
    Python excepted), in path order."""
    h = hashlib.sha256()
    for entry in DIGEST_SOURCES:
        path = REPO / entry
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            and p.suffix != ".pyc")
        for f in files:
            h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def record_of(config: str, bench_wl: BenchWorkload, strategy: str, run, baseline: dict[str, int],
              dram: str = "config") -> BenchRecord:
    """The record of a finished run (bench.sim.CaseRun): its counters, its toggles less the
    configuration's reset *baseline*, the energy they cost, the prediction, the trace's
    overlaps."""
    from bench.energy import EnergyModel
    from bench.toggles import read_toggles, subtract
    from bench.trace import overlaps, read_trace
    sched, outcome = run.schedule, run.outcome
    cfg = load_config(config)
    if outcome.coverage_path is None:
        raise RuntimeError(f"{config} {bench_wl.name} {strategy}: the simulation wrote no "
                           f"coverage.dat in {outcome.run_dir}")
    coverage = Path(outcome.coverage_path)
    toggles = subtract(read_toggles(coverage), baseline)
    coverage.unlink()     # tens of MB per run; the per-block sums are kept in the results
    model = EnergyModel.for_config(cfg)
    energy = model.breakdown(toggles, outcome.counters)
    macs = sched.work.macs
    p = sched.prediction
    return BenchRecord(
        config=config, workload_name=bench_wl.name, strategy=strategy,
        workload=sched.workload.to_dict(), tiling=sched.tiling.describe(),
        instructions=len(sched.words), predicted=p.cycles,
        prediction={"cycles": p.cycles, "busy": p.busy, "overlap": p.overlap},
        counters=dict(outcome.counters), toggles=toggles, energy=energy,
        energy_pj=sum(energy.values()), energy_model=model.to_dict(), macs=macs,
        matrix_toggles_per_mac=toggles.get("matrix", 0) / max(macs, 1),
        bit_exact=run.check.bit_exact, cosine=run.check.cosine, wall_s=run.wall_s,
        run_dir=str(outcome.run_dir),
        overlaps=overlaps(read_trace(outcome.trace_path)) if outcome.trace_path else {},
        queue_notes=sched.queue_notes, dram=dram,
        dram_bytes_per_cycle=cfg.dram_model(dram)[0], dram_latency=cfg.dram_model(dram)[1])


def baseline_task(config: str) -> dict[str, int]:
    """Per-component toggles of a reset-only run of *config*'s bench build (built on the first
    call)."""
    from bench.sim import run_baseline
    from bench.toggles import read_toggles
    try:
        coverage = run_baseline(config).coverage_path
    except Exception as exc:     # a failed build: one line, named, for every case waiting on it
        raise CaseFailed(f"'{config}': the bench build or its reset baseline failed: "
                         f"{' '.join(str(exc).split())[:400]}") from None
    if coverage is None:
        raise CaseFailed(f"'{config}': the reset baseline wrote no coverage.dat")
    return read_toggles(coverage)


def case_task(config: str, bench_wl: BenchWorkload, strategy: str, dram: str,
              baseline: dict[str, int], digest: str, trace: bool = True) -> BenchRecord:
    """One bench run and its record (bench/__main__.py `_record`); raises CaseFailed with the
    case's name and the simulation's log on any failure."""
    from bench.sim import run_case
    tag = f"{config}-{bench_wl.name}-{strategy}"
    try:
        run = run_case(config, bench_wl, strategy, tag, trace, dram)
        rec = record_of(config, bench_wl, strategy, run, baseline, dram)
    except Exception as exc:
        raise CaseFailed(f"{config} {bench_wl.name} {strategy}: "
                         f"{' '.join(str(exc).split())}") from None
    rec.source_digest = digest
    return rec
