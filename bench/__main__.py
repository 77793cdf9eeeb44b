"""`make bench`: run the workload suite on the RTL and report cycles, utilization, energy and
the roofline for every strategy: layer-wise, FLAT, the serial ablation and MAS.

    python -m bench                      # full suite, default and small configurations
    python -m bench --quick              # two small workloads (a smoke run of the flow)
    python -m bench --configs default --workloads bert-512 --strategies flat,mas
    python -m bench --configs tiny --workloads t40=40x40x16c     # a workload of your own
    python -m bench --dram unlimited     # the DRAM model before the bandwidth limit
    python -m bench --scheduler tcp://host:8786      # on a running Dask cluster
    python -m bench --jobqueue slurm --jobs 16       # on a batch farm (docs/bench-cluster.md)

Each (configuration, workload, strategy) is one task on a Dask cluster (bench/cluster.py: by
default a local cluster of --jobs worker processes), one simulation of the bench build (toggle
coverage, 64 MiB DRAM model, activity trace); every output is checked bit for bit against the
integer contract. A configuration's build is made once, by its reset-baseline task, before its
cases start (bench/tasks.py). A case whose record in --out was measured with the same sources
(bench.tasks.source_digest) is not run again unless --force; every finished case is saved at
once, so an interrupted bench resumes where it stopped. A failed case is reported with its log
and the others go on. Results go to --out (default bench/results): results.json and
results.csv (every figure), summary.md (the table), cycles_vs_n.png, energy_breakdown.png,
timeline.png and trace.json (Perfetto) of one workload.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from pathlib import Path

from bench import report
from bench.record import BenchRecord
from bench.tasks import baseline_task, case_task, source_digest
from bench.trace import perfetto, plot_timelines, read_trace, write_perfetto
from bench.workloads import CONFIGS, BenchWorkload, suite
from hwdef import DRAM_MODES
from scheduler import STRATEGIES, ScheduleError, Workload

TIMELINE_WORKLOAD = "vit-197"
_SPEC = re.compile(r"([\w.-]+)=(\d+)x(\d+)x(\d+)(c?)")


class BenchUsageError(ValueError):
    """A bad argument, said in one line before anything runs."""


def parse_workloads(spec: str, quick: bool) -> list[BenchWorkload]:
    """The suite (--quick: its smoke subset) filtered by *spec*, comma-separated names of the
    suite or workloads of your own, NAME=SEQ_QxSEQ_KVxD with a trailing c for a causal mask."""
    workloads = suite(quick)
    if not spec:
        return workloads
    known = {w.name: w for w in suite(False)}
    out: list[BenchWorkload] = []
    for item in (x for x in spec.split(",") if x):
        own = _SPEC.fullmatch(item)
        if own:
            name, nq, nk, d, causal = own.groups()
            if name in known:   # its records would be taken for the suite's, and vice versa
                raise BenchUsageError(f"--workloads {item!r}: {name!r} is a workload of the "
                                      "suite; give yours another name")
            try:
                wl = Workload(int(nq), int(nk), int(d), causal=bool(causal))
            except ValueError as exc:
                raise BenchUsageError(f"--workloads {item!r}: {exc}") from None
            bench_wl = BenchWorkload(name, wl)
        elif item in known:
            bench_wl = known[item]
        else:
            raise BenchUsageError(f"--workloads {item!r}: not in the suite "
                                  f"({', '.join(known)}) and not NAME=SEQ_QxSEQ_KVxD[c]")
        if any(w.name == bench_wl.name for w in out):
            raise BenchUsageError(f"--workloads {item!r}: {bench_wl.name!r} is named twice")
        out.append(bench_wl)
    if not out:
        raise BenchUsageError(f"--workloads {spec!r}: no workload")
    return out


def _names(option: str, text: str) -> list[str]:
    """The comma-separated names of *option*: at least one, each once."""
    names = [x for x in text.split(",") if x]
    if not names:
        raise BenchUsageError(f"{option} {text!r}: no name")
    twice = sorted({x for x in names if names.count(x) > 1})
    if twice:
        raise BenchUsageError(f"{option} {text!r}: {', '.join(twice)} named twice")
    return names


def _measured(rec: BenchRecord | None, wl: BenchWorkload, digest: str) -> bool:
    """*rec* measured this very case: the same sources and the workload's shape (a workload
    of your own may be given another shape under the same name)."""
    if rec is None or rec.source_digest != digest:
        return False
    shape = ("seq_q", "seq_kv", "head_dim", "heads", "batch", "causal")
    return all(rec.workload.get(f) == getattr(wl.workload, f) for f in shape)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="two small workloads only")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--workloads", default="",
                    help="comma-separated suite names or NAME=SEQ_QxSEQ_KVxD[c] (default: all)")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--dram", choices=DRAM_MODES, default="config",
                    help="the configuration's DRAM (hwdef/configs.toml) or the unlimited "
                         "model (a beat per cycle each way, 20 cycles); every record says which")
    ap.add_argument("--jobs", type=int, default=2,
                    help="workers of the local cluster (or jobs of --jobqueue)")
    ap.add_argument("--scheduler", help="address or scheduler file of a running Dask cluster")
    ap.add_argument("--jobqueue", help="a batch farm through dask-jobqueue: slurm, lsf, sge, "
                                       "pbs or htcondor (settings: Dask's config)")
    ap.add_argument("--force", action="store_true",
                    help="run every case, also those already measured with these sources")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    ap.add_argument("--report-only", action="store_true",
                    help="redo tables and plots from --out/results.json without simulating")
    args = ap.parse_args(argv)
    out = Path(args.out)
    try:
        if args.report_only:
            _report(_load(out, required=True), out)
            return 0
        return _run(args, out)
    except BenchUsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:        # bench.cluster.ClusterError and the like: one line
        from bench.cluster import ClusterError
        if isinstance(exc, ClusterError):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise


def _load(out: Path, required: bool = False) -> list[BenchRecord]:
    """The records of out/results.json (none if it does not exist, unless *required*)."""
    path = out / "results.json"
    if not path.exists():
        if required:
            raise BenchUsageError(f"--report-only: no {path}")
        return []
    try:
        return [BenchRecord.from_dict(r) for r in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise BenchUsageError(f"{path}: not a bench results file "
                              f"({' '.join(str(exc).split())[:120]})") from None


def _save(records: dict, out: Path) -> None:
    """results.json of every record so far (the report rewrites it with the metrics)."""
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps([r.to_dict(notes=False) for r in records.values()], indent=1))
    tmp.replace(out / "results.json")


def _run(args, out: Path) -> int:
    from bench import cluster
    from hwdef import ConfigError, load_config
    configs = _names("--configs", args.configs)
    strategies = _names("--strategies", args.strategies)
    for c in configs:
        try:
            load_config(c)
        except ConfigError as exc:
            raise BenchUsageError(f"--configs {c!r}: {exc}") from None
    for s in strategies:
        if s not in STRATEGIES:
            raise BenchUsageError(f"--strategies {s!r}: one of {', '.join(STRATEGIES)}")
    if args.jobs < 1:
        raise BenchUsageError(f"--jobs {args.jobs}: at least 1 worker")
    if args.jobqueue is not None and args.jobqueue not in cluster.JOBQUEUE_KINDS:
        raise BenchUsageError(f"--jobqueue {args.jobqueue!r}: one of "
                              f"{', '.join(cluster.JOBQUEUE_KINDS)}")
    workloads = parse_workloads(args.workloads, args.quick)
    for c in configs:
        for w in workloads:
            try:
                w.workload.validate(load_config(c))
            except ScheduleError as exc:
                raise BenchUsageError(f"--workloads {w.name!r} on {c!r}: {exc}") from None
    cases = [(c, w, s) for c in configs for w in workloads for s in strategies]
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".bench-write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise BenchUsageError(f"--out {str(out)!r}: {exc.strerror or exc}") from None
    digest = source_digest()
    records = {r.key: r for r in _load(out)}
    todo = [(c, w, s) for c, w, s in cases if args.force or
            not _measured(records.get((c, w.name, s, args.dram)), w, digest)]
    # Longest first, so the workers finish together.
    todo.sort(key=lambda c: -c[1].workload.seq_q * c[1].workload.seq_kv)
    start = time.time()
    failures: list[str] = []
    print(f"bench: {len(cases)} runs ({len(configs)} configurations x {len(workloads)} "
          f"workloads x {len(strategies)} strategies), {len(cases) - len(todo)} already "
          f"measured with these sources (digest {digest}), {len(todo)} to run; DRAM "
          f"{args.dram}; results in {out}", flush=True)
    if todo:
        with cluster.connect(args.scheduler, args.jobs, args.jobqueue) as client:
            print(f"bench: running on {cluster.describe(client)}", flush=True)
            failures = _submit(client, todo, args.dram, digest, records, out, start)
    _report(list(records.values()), out)
    print(f"bench: {len(todo)} runs in {time.time() - start:.0f} s; {out}/")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _submit(client, todo: list, dram: str, digest: str, records: dict, out: Path,
            start: float) -> list[str]:
    """Run the *todo* cases on *client*'s cluster: one baseline task per configuration (it
    builds), then one task per case on its configuration's baseline; *records* gains each
    finished case's record and is saved at once. Returns the failures, one line each."""
    from distributed import as_completed
    failures = []
    run_id = uuid.uuid4().hex[:8]     # task keys unique on a cluster others share
    baselines = {c: client.submit(baseline_task, c, key=f"baseline-{c}-{run_id}",
                                  pure=False, priority=len(todo) + 1)
                 for c in sorted({c for c, _, _ in todo})}
    futures = {}
    for rank, (config, wl, strategy) in enumerate(todo):
        fut = client.submit(case_task, config, wl, strategy, dram, baselines[config], digest,
                            key=f"case-{config}-{wl.name}-{strategy}-{run_id}", pure=False,
                            priority=len(todo) - rank, retries=0)
        futures[fut] = (config, wl, strategy)
    for done, finished in enumerate(as_completed(futures), start=1):
        config, wl, strategy = futures[finished]
        stamp = f"  [{time.time() - start:7.0f} s] {done}/{len(todo)}"
        try:
            rec = finished.result()
        except Exception as exc:   # report and go on: one failure must not hide the rest
            failures.append(str(exc))
            print(f"{stamp} FAILED {exc}", flush=True)
            continue
        records[rec.key] = rec
        _save(records, out)
        print(f"{stamp} {config} {wl.name} {strategy}: {rec.cycles:,} cycles (predicted "
              f"{rec.predicted:,}), {rec.energy_pj / 1e6:.1f} µJ, "
              f"{'bit-exact' if rec.bit_exact else 'MISMATCH'}, {rec.wall_s:.0f} s",
              flush=True)
    return failures


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
