"""`make bench`: run the workload suite on the RTL and report cycles, utilization, energy and
the roofline for every strategy: layer-wise, FLAT, the serial ablation and MAS.

    python -m bench                      # full suite, default and small configurations
    python -m bench --quick              # two small workloads (a smoke run of the flow)
    python -m bench --configs default --workloads bert-512 --strategies flat,mas
    python -m bench --dram unlimited     # the DRAM model before the bandwidth limit

Each (configuration, workload, strategy) is one simulation of the bench build (toggle coverage,
64 MiB DRAM model, activity trace), run two at a time; every output is checked bit for bit
against the golden model. Results go to --out (default bench/results): results.json and
results.csv (every figure), summary.md (the table), cycles_vs_n.png, energy_breakdown.png,
timeline.png and trace.json (Perfetto) of one workload.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from bench import report
from bench.energy import EnergyModel
from bench.record import BenchRecord
from bench.sim import CaseRun, run_baseline, run_case
from bench.toggles import read_toggles, subtract
from bench.trace import overlaps, perfetto, plot_timelines, read_trace, write_perfetto
from bench.workloads import CONFIGS, suite
from hwdef import DRAM_MODES, load_config
from scheduler import STRATEGIES

TIMELINE_WORKLOAD = "vit-197"


def _record(config: str, bench_wl, strategy: str, run: CaseRun, baseline,
            dram: str = "config") -> BenchRecord:
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="two small workloads only")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--workloads", default="", help="comma-separated names (default: all)")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--dram", choices=DRAM_MODES, default="config",
                    help="the configuration's DRAM (hwdef/configs.toml) or the unlimited "
                         "model (a beat per cycle each way, 20 cycles); every record says which")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    ap.add_argument("--report-only", action="store_true",
                    help="redo tables and plots from --out/results.json without simulating")
    args = ap.parse_args(argv)
    if args.report_only:
        records = [BenchRecord.from_dict(r)
                   for r in json.loads((Path(args.out) / "results.json").read_text())]
        _report(records, Path(args.out))
        return 0
    configs = [c for c in args.configs.split(",") if c]
    strategies = [s for s in args.strategies.split(",") if s]
    workloads = suite(args.quick)
    if args.workloads:
        names = set(args.workloads.split(","))
        workloads = [w for w in workloads if w.name in names]
    cases = [(c, w, s) for c in configs for w in workloads for s in strategies]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"bench: {len(cases)} runs ({len(configs)} configurations x {len(workloads)} "
          f"workloads x {len(strategies)} strategies), {args.jobs} at a time, DRAM "
          f"{args.dram}; results in {out}", flush=True)
    start = time.time()
    # The reset-only baseline of each configuration also builds it (once; reruns reuse it).
    baselines = {}
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_baseline, c): c for c in configs}
        for fut in as_completed(futures):
            coverage = fut.result().coverage_path
            if coverage is None:
                raise RuntimeError(f"'{futures[fut]}': the reset baseline wrote no coverage.dat")
            baselines[futures[fut]] = read_toggles(coverage)
            print(f"  [{time.time() - start:7.0f} s] '{futures[fut]}' built, reset baseline "
                  f"{sum(baselines[futures[fut]].values()):,} toggles", flush=True)
    records, failures = [], []
    # Longest first, so two workers finish together.
    cases.sort(key=lambda c: -c[1].workload.seq_q * c[1].workload.seq_kv)
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = {}
        for config, wl, strategy in cases:
            tag = f"{config}-{wl.name}-{strategy}"
            runs[pool.submit(run_case, config, wl, strategy, tag, True, args.dram)] = \
                (config, wl, strategy)
        for done, finished in enumerate(as_completed(runs), start=1):
            config, wl, strategy = runs[finished]
            try:
                rec = _record(config, wl, strategy, finished.result(), baselines[config],
                              args.dram)
            except Exception as exc:   # report and go on: one failure must not hide the rest
                failures.append(f"{config} {wl.name} {strategy}: {exc}")
                print(f"  [{time.time() - start:7.0f} s] {done}/{len(cases)} {config} "
                      f"{wl.name} {strategy}: FAILED {exc}", flush=True)
                continue
            records.append(rec)
            print(f"  [{time.time() - start:7.0f} s] {done}/{len(cases)} {config} {wl.name} "
                  f"{strategy}: {rec.cycles:,} cycles (predicted {rec.predicted:,}), "
                  f"{rec.energy_pj / 1e6:.1f} µJ, "
                  f"{'bit-exact' if rec.bit_exact else 'MISMATCH'}, {rec.wall_s:.0f} s",
                  flush=True)
    # Runs of earlier invocations that this one did not repeat stay in the report.
    previous = out / "results.json"
    if previous.exists():
        rerun = {r.key for r in records}
        records += [old for old in map(BenchRecord.from_dict, json.loads(previous.read_text()))
                    if old.key not in rerun]
    _report(records, out)
    print(f"bench: {len(cases)} runs in {time.time() - start:.0f} s; {out}/")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _report(records: list[BenchRecord], out: Path) -> None:
    if not records:
        return
    records = report.derive(records)
    shown = report.plotted(records)
    focus = TIMELINE_WORKLOAD if any(r.workload_name == TIMELINE_WORKLOAD
                                     for r in shown) else shown[0].workload_name
    table = report.write_tables(records, out, keep_notes=focus)
    report.plot_cycles_vs_n(shown, out / "cycles_vs_n.png")
    report.plot_energy_breakdown(shown, out / "energy_breakdown.png", focus)
    _timeline(shown, out, focus)
    print(table)


def _timeline(records, out: Path, workload_name: str) -> None:
    """Timeline picture of every strategy on one workload, full run and a zoom,
    and the Perfetto trace of the mas run."""
    runs = {r.strategy: r for r in records
            if r.workload_name == workload_name and r.config == records[0].config}
    panels, zoom = [], []
    for strategy, rec in runs.items():     # all or nothing: never half a picture
        trace = Path(rec.run_dir) / "trace.txt"
        if not trace.is_file():    # a record of another machine or a pruned run directory
            print(f"bench: no trace of {rec.config} {workload_name} {strategy} at {trace}; "
                  "the timeline pictures and trace.json are left as they were (rerun that "
                  "workload to redraw them)", flush=True)
            return
    for strategy in STRATEGIES:
        if strategy not in runs:
            continue
        rec = runs[strategy]
        intervals = read_trace(Path(rec.run_dir) / "trace.txt")
        panels.append((f"{strategy}: {rec.cycles:,} cycles", intervals))
        if strategy == "mas":
            write_perfetto(out / "trace.json", perfetto(
                intervals, rec.queue_notes, name=f"{rec.config} {workload_name} mas"))
    if panels:
        plot_timelines(panels, out / "timeline.png")
        span = min(max(e for spans in p[1].values() for _, e in spans) for p in panels)
        zoom = [(f"{title} (cycles {span // 3:,}..{span // 3 + 6000:,})", iv)
                for title, iv in panels]
        plot_timelines(zoom, out / "timeline_zoom.png", (span // 3, span // 3 + 6000))


if __name__ == "__main__":
    sys.exit(main())
