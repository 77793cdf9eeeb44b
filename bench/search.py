"""`make bench-search`: how fast the tiling search is, and whether its pick is the fastest
on the RTL.

    python -m bench.search                       # search time, every suite workload and strategy
    python -m bench.search --validate            # + the five best predicted tilings on the RTL
    python -m bench.search --validate --configs small --validate-workloads vit-197 --skip-timing

Timing: every (configuration, workload, strategy) of the bench suite (bench/workloads.py, the
workloads `make bench` runs, with its DRAM size), searched warm (imports done, one search run
before), once with the branch and bound (search.search, what every schedule uses) and once
exhaustively (every legal candidate predicted, `top` = all), side by side: wall seconds,
candidates, legal ones, ones predicted, and whether both picked the same tiling.

Validation: for each (configuration, workload) of --validate-workloads, the five tilings of
--strategy the cost model predicts fastest (search(top=5)) each run on the RTL (the `make
sim` build of npu_tb_top, the configuration's DRAM), every output checked bit for bit against
the integer contract. The report gives each tiling's predicted and measured cycles, the
prediction's error, and how far the search's pick is from the fastest of the five measured.

Results: --out (default bench/results) search_timing.json and .md, search_validation.json
and .md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.sim import BENCH_DRAM_BYTES, bench_inputs, run_case
from bench.workloads import CONFIGS, BenchWorkload, suite
from hwdef import load_config
from scheduler import STRATEGIES, Tiling
from scheduler.search import EVERY, search

VALIDATE_WORKLOADS = ("sweep-128", "vit-197", "vit-256")
TOP = 5


@dataclass
class SearchTiming:
    config: str
    workload: str
    strategy: str
    seconds: float              # branch and bound
    exhaustive_seconds: float
    candidates: int
    legal: int
    predicted: int              # by the branch and bound
    tiling: str
    same_pick: bool


@dataclass
class ValidationRun:
    config: str
    workload: str
    strategy: str
    rank: int                   # 1: the search's pick
    tiling: str
    predicted: int              # the whole workload, configured DRAM
    measured: int               # RTL cycles
    bit_exact: bool
    wall_s: float


def _workloads(names: str | None, default: tuple[str, ...] | None = None) -> list[BenchWorkload]:
    every = {w.name: w for w in suite()}
    wanted = [n for n in (names.split(",") if names else default or every) if n]
    if not wanted:
        raise SystemExit(f"bench.search: no workload named in {names!r}; the suite has "
                         f"{', '.join(every)}")
    unknown = [n for n in wanted if n not in every]
    if unknown:
        raise SystemExit(f"bench.search: unknown workload(s) {', '.join(unknown)}; the suite "
                         f"has {', '.join(every)}")
    return [every[n] for n in wanted]


def time_searches(configs, workloads, strategies) -> list[SearchTiming]:
    search(bench_inputs(workloads[0])[1], load_config(configs[0]), strategies[0],
           BENCH_DRAM_BYTES)                                         # warm up
    out = []
    for config in configs:
        cfg = load_config(config)
        for bench_wl in workloads:
            wl = bench_inputs(bench_wl)[1]
            for strategy in strategies:
                start = time.perf_counter()
                pick, cands = search(wl, cfg, strategy, BENCH_DRAM_BYTES)
                seconds = time.perf_counter() - start
                start = time.perf_counter()
                every_pick, _ = search(wl, cfg, strategy, BENCH_DRAM_BYTES, top=EVERY)
                exhaustive = time.perf_counter() - start
                row = SearchTiming(config, bench_wl.name, strategy, round(seconds, 3),
                                   round(exhaustive, 3), len(cands),
                                   sum(c.legal for c in cands),
                                   sum(c.cycles is not None for c in cands), pick.describe(),
                                   pick == every_pick)
                print(f"  {config:8s} {bench_wl.name:10s} {strategy:9s} {seconds:6.2f} s "
                      f"(exhaustive {exhaustive:6.2f} s), {row.predicted:3d} of {row.legal:3d} "
                      f"legal predicted, {row.tiling}"
                      + ("" if row.same_pick else "  PICK DIFFERS"), flush=True)
                out.append(row)
    return out


def _run_tiling(config: str, bench_wl: BenchWorkload, strategy: str, rank: int,
                tiling: Tiling) -> ValidationRun:
    run = run_case(config, bench_wl, strategy, f"search-{config}-{bench_wl.name}-{strategy}-"
                   f"{rank}", tiling=tiling, bench_build=False)   # raises unless bit-exact
    return ValidationRun(config, bench_wl.name, strategy, rank, tiling.describe(),
                         run.schedule.prediction.cycles, int(run.outcome.counters["CYCLES"]),
                         run.check.bit_exact, round(run.wall_s, 1))


def validate(configs, workloads, strategy: str, jobs: int) -> list[ValidationRun]:
    cases = []
    for config in configs:
        cfg = load_config(config)
        for bench_wl in workloads:
            wl = bench_inputs(bench_wl)[1]
            _, cands = search(wl, cfg, strategy, top=TOP)
            best = sorted((c for c in cands if c.cycles is not None),
                          key=lambda c: (c.cycles, -c.tiling.block_rows,
                                         c.tiling.score_buffers))[:TOP]
            cases += [(config, bench_wl, strategy, rank, c.tiling)
                      for rank, c in enumerate(best, start=1)]
    print(f"bench.search: {len(cases)} RTL runs ({strategy}, the {TOP} best predicted tilings "
          f"of {len(workloads)} workloads on {len(configs)} configurations), {jobs} at a time",
          flush=True)
    start = time.time()
    with ThreadPoolExecutor(jobs) as pool:
        runs = list(pool.map(lambda c: _run_tiling(*c), cases))
    for r in runs:
        print(f"  {r.config:8s} {r.workload:10s} #{r.rank} {r.tiling:28s} predicted "
              f"{r.predicted:9,} measured {r.measured:9,} "
              f"({(r.predicted - r.measured) / r.measured:+.1%})", flush=True)
    print(f"bench.search: RTL runs done in {time.time() - start:.0f} s", flush=True)
    return runs


def report(timing: list[SearchTiming], runs: list[ValidationRun]) -> str:
    lines = []
    if timing:
        secs = [t.seconds for t in timing]
        lines += ["## Tiling search time (warm, wall seconds)", "",
                  f"{len(timing)} searches: median {statistics.median(secs):.2f} s, max "
                  f"{max(secs):.2f} s (branch and bound); exhaustive median "
                  f"{statistics.median(t.exhaustive_seconds for t in timing):.2f} s, max "
                  f"{max(t.exhaustive_seconds for t in timing):.2f} s; picks identical: "
                  f"{sum(t.same_pick for t in timing)} of {len(timing)}.", "",
                  "| config | workload | strategy | search s | exhaustive s | predicted / legal "
                  "| pick |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {t.config} | {t.workload} | {t.strategy} | {t.seconds:.2f} | "
                  f"{t.exhaustive_seconds:.2f} | {t.predicted} / {t.legal} | {t.tiling} |"
                  for t in timing]
        lines.append("")
    if runs:
        lines += [f"## Search validation on the RTL (the {TOP} best predicted tilings)", "",
                  "| config | workload | strategy | pick | pick measured | best measured "
                  "(rank) | pick vs best | prediction error range |",
                  "|---|---|---|---|---|---|---|---|"]
        groups: dict[tuple, list[ValidationRun]] = {}
        for r in runs:
            groups.setdefault((r.config, r.workload, r.strategy), []).append(r)
        for (config, workload, strategy), group in groups.items():
            pick = next(r for r in group if r.rank == 1)
            best = min(group, key=lambda r: r.measured)
            errors = [(r.predicted - r.measured) / r.measured for r in group]
            lines.append(f"| {config} | {workload} | {strategy} | {pick.tiling} | "
                         f"{pick.measured:,} | {best.measured:,} (#{best.rank}) | "
                         f"{(pick.measured - best.measured) / best.measured:+.1%} | "
                         f"{min(errors):+.1%}..{max(errors):+.1%} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.search",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--workloads", default="", help="timing: comma-separated (default: all)")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--validate", action="store_true",
                    help=f"run the {TOP} best predicted tilings on the RTL")
    ap.add_argument("--validate-workloads", default=",".join(VALIDATE_WORKLOADS))
    ap.add_argument("--strategy", default="mas", help="the strategy validated")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    if args.jobs < 1:
        raise SystemExit(f"bench.search: --jobs {args.jobs}: at least 1")
    configs = [c for c in args.configs.split(",") if c]
    if not configs:
        raise SystemExit(f"bench.search: no configuration named in {args.configs!r}")
    for config in configs:
        load_config(config)           # an unknown configuration fails before any work
    strategies = [s for s in args.strategies.split(",") if s]
    unknown = [s for s in [*strategies, args.strategy] if s not in STRATEGIES]
    if unknown:
        raise SystemExit(f"bench.search: unknown strategy {unknown[0]!r}; choose from "
                         f"{', '.join(STRATEGIES)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    timing: list[SearchTiming] = []
    runs: list[ValidationRun] = []
    if not args.skip_timing:
        timing = time_searches(configs, _workloads(args.workloads), strategies)
        (out / "search_timing.json").write_text(
            json.dumps([asdict(t) for t in timing], indent=1) + "\n")
    if args.validate:
        runs = validate(configs, _workloads(args.validate_workloads, VALIDATE_WORKLOADS),
                        args.strategy, args.jobs)
        (out / "search_validation.json").write_text(
            json.dumps([asdict(r) for r in runs], indent=1) + "\n")
    for name, text in (("search_timing.md", report(timing, [])),
                       ("search_validation.md", report([], runs))):
        if text:
            (out / name).write_text(text)
            print(text)
    return 0 if all(t.same_pick for t in timing) else 1


if __name__ == "__main__":
    sys.exit(main())
