"""`make dse`: design-space exploration of the NPU's own parameters for attention.

    python -m bench.dse                         # the grid below, cost model, on a local cluster
    python -m bench.dse --rtl 6 --sample 2      # + the RTL on up to 6 Pareto points and 2 random
    python -m bench.dse --grid array_dim=8,16 --grid dram_bytes_per_cycle=8,16 --base small

The space is a grid over the parameters of hwdef/configs.toml that size the NPU (GRID): the
systolic array, the vector lanes, the scratchpad (in KiB; its bank lines follow from the line
width), the accumulators and the DRAM bandwidth, around a base configuration. Every point is a
derived configuration (hwdef.derived_name, `default+array_dim=8+...`): built by hwdef, checked
legal by it (a refused point is listed with hwdef's reason), and usable by name everywhere
else (make sim CONFIG=..., the bench, the RTL builds). Nothing is edited by hand.

For every point, workload (bench.workloads) and strategy (mas and the faithful FLAT) the tiling
search and the cost model give cycles, and bench.energy.EnergyModel.predicted the energy, as
tasks on a Dask cluster (bench/cluster.py). Area comes from Yosys (bench/area.py). The Pareto
front of cycles against area is computed per workload and strategy; with --rtl the front's
points (and --sample random others) are run on the RTL through the bench's own tasks
(bench/tasks.py: bit-exact, toggles, energy), and the cost model's error on them is reported.

Outputs in --out (default bench/results/dse): dse.csv and dse.json (every point), refused.txt,
pareto_<workload>.png (cycles against area, energy as colour, per strategy), best.md (the
best configuration per area budget, with mas's speed-up over FLAT there) and rtl.csv (the
RTL-checked points).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.workloads import BenchWorkload, suite
from hwdef import ConfigError, derived_name, load_config, scratchpad_geometry

GRID: dict[str, tuple[int, ...]] = {
    "array_dim": (8, 16, 32),
    "vector_lanes": (8, 16, 32),        # 64 would make 2048-bit lines: hwdef refuses them
    "spad_kib": (32, 64, 128),
    "acc_lines": (128, 256, 512),
    "dram_bytes_per_cycle": (8, 16, 32),
}
WORKLOADS = ("bert-512", "vit-197")
STRATEGIES = ("mas", "flat")
OUT = Path(__file__).parent / "results" / "dse"


class DseError(ValueError):
    """A bad argument or an empty space, said in one line."""


@dataclass(frozen=True)
class DesignPoint:
    config: str                 # the derived configuration's name
    params: dict                # the grid's values at this point (spad_kib, not bank lines)


def design_space(base: str, grid: dict[str, tuple[int, ...]]
                 ) -> tuple[list[DesignPoint], list[tuple[dict, str]]]:
    """Every combination of *grid* around *base*: (legal points, [(params, hwdef's reason)]
    of the refused ones). spad_kib sets spad_bank_lines for the point's line width (the bank
    count stays the base's); the overwrite regions shrink with a bank smaller than them."""
    cfg0 = load_config(base)
    keys = list(grid)
    points, refused = [], []
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values))
        overrides = {k: v for k, v in params.items() if k != "spad_kib"}
        if "spad_kib" in params:
            overrides.update(scratchpad_geometry(
                cfg0, overrides.get("vector_lanes", cfg0.vector_lanes), params["spad_kib"] * 1024))
        changed = {k: v for k, v in overrides.items() if getattr(cfg0, k) != v}
        name = derived_name(base, **changed) if changed else base
        try:
            load_config(name)
        except ConfigError as exc:
            refused.append((params, str(exc)))
            continue
        points.append(DesignPoint(name, params))
    return points, refused


def predict_task(config: str, bench_wl: BenchWorkload, strategy: str) -> dict:
    """Cost-model figures of one (point, workload, strategy): cycles, energy (pJ), DRAM bytes,
    MACs, tiling; or {"error": ...} when no tiling fits."""
    from bench.energy import EnergyModel
    from bench.sim import BENCH_DRAM_BYTES, bench_inputs
    from scheduler import ScheduleError, build_schedule
    cfg = load_config(config)
    # The bench's calibrated scales and DRAM size, so an RTL check (bench.sim.run_case) runs
    # this very program.
    wl = bench_inputs(bench_wl)[1]
    try:
        sched = build_schedule(wl, cfg, strategy, dram_bytes=BENCH_DRAM_BYTES)
    except ScheduleError as exc:
        return {"error": " ".join(str(exc).split())}
    work, p = sched.work, sched.prediction
    return {"cycles": p.cycles, "energy_pj": EnergyModel.for_config(cfg).predicted(
                cfg, work, p.cycles),
            "dram_bytes": work.dram_read_bytes + work.dram_write_bytes, "macs": work.macs,
            "tiling": sched.tiling.describe()}


def pareto_front(rows: list[dict]) -> list[dict]:
    """The rows no other row beats on both cycles and area (ties: the first kept)."""
    front: list[dict] = []
    for row in sorted(rows, key=lambda r: (r["area_mm2"], r["cycles"])):
        if not front or row["cycles"] < front[-1]["cycles"]:
            front.append(row)
    return front


def best_per_budget(rows: list[dict], budgets: list[float]) -> list[dict]:
    """Per area budget (mm²) and workload: the fastest mas point within it, with FLAT's cycles
    on the same point and on FLAT's own fastest point within the budget, and mas's speed-up
    over each."""
    out = []
    by_point = {(r["config"], r["workload"], r["strategy"]): r for r in rows}
    for wl in sorted({r["workload"] for r in rows}):
        for budget in budgets:
            fits = [r for r in rows if r["workload"] == wl and r["strategy"] == "mas"
                    and r["area_mm2"] <= budget]
            if not fits:
                out.append({"workload": wl, "budget_mm2": budget, "config": None})
                continue
            best = min(fits, key=lambda r: (r["cycles"], r["area_mm2"]))
            flat = by_point.get((best["config"], wl, "flat"))
            flats = [r for r in rows if r["workload"] == wl and r["strategy"] == "flat"
                     and r["area_mm2"] <= budget]
            flat_best = min(flats, key=lambda r: (r["cycles"], r["area_mm2"])) if flats else None
            out.append({"workload": wl, "budget_mm2": budget, "config": best["config"],
                        "area_mm2": best["area_mm2"], "cycles": best["cycles"],
                        "energy_uj": best["energy_pj"] / 1e6,
                        "flat_cycles": flat["cycles"] if flat else None,
                        "speedup_vs_flat": flat["cycles"] / best["cycles"] if flat else None,
                        "flat_best_config": flat_best["config"] if flat_best else None,
                        "flat_best_cycles": flat_best["cycles"] if flat_best else None,
                        "speedup_vs_best_flat": (flat_best["cycles"] / best["cycles"]
                                                 if flat_best else None)})
    return out


def _grid_arg(items: list[str]) -> dict[str, tuple[int, ...]]:
    grid = dict(GRID)
    for item in items:
        key, _, text = item.partition("=")
        if key not in GRID:
            raise DseError(f"--grid {item!r}: KEY one of {', '.join(GRID)}")
        try:
            values = tuple(int(v) for v in text.split(",") if v)
        except ValueError:
            raise DseError(f"--grid {item!r}: values are integers separated by commas") from None
        if not values:
            raise DseError(f"--grid {item!r}: no values")
        grid[key] = values
    return grid


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.dse", description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="default")
    ap.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                    help=f"replace one axis of the grid ({', '.join(GRID)})")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--budgets", default="0.5,1,2", help="area budgets in mm² for best.md")
    ap.add_argument("--rtl", type=int, default=0, help="RTL runs of up to N Pareto points")
    ap.add_argument("--sample", type=int, default=0, help="and of N random other points")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--synthesize", action="store_true",
                    help="synthesize missing area anchors with Yosys (bench/area.py; slow)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--scheduler")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    from bench.cluster import ClusterError
    try:
        return _run(args)
    except (DseError, ConfigError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args) -> int:
    from bench import area as area_model
    from bench import cluster
    grid = _grid_arg(args.grid)
    known = {w.name: w for w in suite(False)}
    workloads = []
    for name in (n for n in args.workloads.split(",") if n):
        if name not in known:
            raise DseError(f"--workloads {name!r}: one of {', '.join(known)}")
        workloads.append(known[name])
    try:
        budgets = [float(b) for b in args.budgets.split(",") if b]
    except ValueError:
        budgets = []
    if not budgets or any(not 0 < b < float("inf") for b in budgets):
        raise DseError(f"--budgets {args.budgets!r}: positive numbers (mm²) separated by commas")
    for name in ("rtl", "sample", "jobs"):
        if getattr(args, name) < (1 if name == "jobs" else 0):
            raise DseError(f"--{name} {getattr(args, name)}: "
                           f"{'at least 1' if name == 'jobs' else 'not negative'}")
    points, refused = design_space(args.base, grid)
    if not points:
        raise DseError(f"no legal point in the grid (first refusal: {refused[0][1]})"
                       if refused else "an empty grid")
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / ".dse-write-probe").write_text("")
        (out / ".dse-write-probe").unlink()
    except OSError as exc:
        raise DseError(f"--out {str(out)!r}: {exc.strerror or exc}") from None
    start = time.time()
    print(f"dse: {len(points)} legal points ({len(refused)} refused by hwdef) x "
          f"{len(workloads)} workloads x {len(STRATEGIES)} strategies = "
          f"{len(points) * len(workloads) * len(STRATEGIES)} cost-model runs", flush=True)
    areas: dict[str, area_model.Area | None] = {}
    missing: set[str] = set()
    for p in points:
        try:
            areas[p.config] = area_model.area(load_config(p.config), args.base,
                                              args.synthesize)
        except area_model.AreaError:
            areas[p.config] = None
            missing.add(area_model.anchor_config(load_config(p.config), args.base))
    if missing:
        print(f"dse: {sum(a is None for a in areas.values())} points without an area: no "
              f"Yosys figures for the anchors {', '.join(sorted(missing))} (--synthesize "
              "adds them; bench/area.py); they are predicted but not on the Pareto front",
              flush=True)
    rows: list[dict] = []
    with cluster.connect(args.scheduler, args.jobs) as client:
        print(f"dse: on {cluster.describe(client)}", flush=True)
        tasks = {client.submit(predict_task, p.config, wl, s, pure=False): (p, wl, s)
                 for p in points for wl in workloads for s in STRATEGIES}
        from distributed import as_completed
        for done, fut in enumerate(as_completed(tasks), start=1):
            p, wl, s = tasks[fut]
            try:
                fig = fut.result()
            except Exception as exc:    # recorded with the point, the sweep goes on
                fig = {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
            a = areas[p.config]
            rows.append({"config": p.config, **p.params, "workload": wl.name, "strategy": s,
                         **(asdict(a) if a is not None else {}), **fig})
            if done % 100 == 0:
                print(f"  [{time.time() - start:6.0f} s] {done}/{len(tasks)}", flush=True)
        cost_s = time.time() - start
        ok = [r for r in rows if "cycles" in r and "area_mm2" in r]
        rtl_rows = _rtl_check(client, ok, workloads, args, out) if args.rtl or args.sample \
            else []
    _write(out, rows, refused, ok, budgets, rtl_rows)
    no_tiling = sum("error" in r for r in rows)
    print(f"dse: {len(rows)} cost-model runs in {cost_s:.0f} s ({no_tiling} without a tiling); "
          f"total {time.time() - start:.0f} s; {out}/")
    if not ok:
        print("error: no point has both a tiling and an area: no Pareto front, no best "
              "configuration (bench/area.py --synthesize adds the missing anchors)",
              file=sys.stderr)
        return 1
    return 0


def _rtl_check(client, ok: list[dict], workloads, args, out: Path) -> list[dict]:
    """The RTL on the Pareto points (up to --rtl per workload and strategy) and --sample random
    others, through the bench's tasks; the cost model's error on each."""
    from bench.tasks import baseline_task, case_task, source_digest
    rng = random.Random(args.seed)
    chosen: dict[tuple, dict] = {}
    for wl in workloads:
        for s in STRATEGIES:
            rows = [r for r in ok if r["workload"] == wl.name and r["strategy"] == s]
            for r in pareto_front(rows)[:args.rtl]:
                chosen[(r["config"], wl.name, s)] = r
    others = [r for r in ok if (r["config"], r["workload"], r["strategy"]) not in chosen]
    for r in rng.sample(others, min(args.sample, len(others))):
        chosen[(r["config"], r["workload"], r["strategy"])] = r
    print(f"dse: {len(chosen)} RTL runs on {len({k[0] for k in chosen})} configurations "
          "(a Verilator build each)", flush=True)
    wl_by_name = {w.name: w for w in workloads}
    digest = source_digest()
    baselines = {c: client.submit(baseline_task, c, pure=False) for c in {k[0] for k in chosen}}
    futures = {client.submit(case_task, c, wl_by_name[w], s, "config", baselines[c], digest,
                             False, pure=False): (c, w, s) for c, w, s in chosen}
    from distributed import as_completed
    out_rows = []
    for fut in as_completed(futures):
        c, w, s = futures[fut]
        r = chosen[(c, w, s)]
        try:
            rec = fut.result()
        except Exception as exc:
            print(f"  FAILED {exc}", flush=True)
            out_rows.append({"config": c, "workload": w, "strategy": s, "error": str(exc)})
            continue
        row = {"config": c, "workload": w, "strategy": s, "predicted": r["cycles"],
               "rtl_cycles": rec.cycles, "cycles_error": r["cycles"] / rec.cycles - 1,
               "predicted_energy_pj": r["energy_pj"], "rtl_energy_pj": rec.energy_pj,
               "energy_error": r["energy_pj"] / rec.energy_pj - 1, "bit_exact": rec.bit_exact,
               "wall_s": rec.wall_s}
        print(f"  {c} {w} {s}: RTL {rec.cycles:,} cycles, predicted {r['cycles']:,} "
              f"({row['cycles_error']:+.1%}); energy {row['energy_error']:+.1%}", flush=True)
        out_rows.append(row)
    return out_rows


def _write(out: Path, rows, refused, ok, budgets, rtl_rows) -> None:
    (out / "dse.json").write_text(json.dumps(rows, indent=1))
    first = ["config", "workload", "strategy", *GRID, "cycles", "energy_pj", "area_mm2"]
    keys = {k for r in rows for k in r}
    columns = [k for k in first if k in keys] + sorted(keys - set(first))
    with open(out / "dse.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    (out / "refused.txt").write_text("".join(f"{json.dumps(p)}: {why}\n" for p, why in refused))
    best = best_per_budget(ok, budgets)
    lines = ["| workload | area budget (mm²) | best mas configuration | area (mm²) | cycles | "
             "energy (µJ) | FLAT cycles there | mas vs FLAT there | FLAT's best in the budget "
             "| mas vs FLAT's best |", "|---|---|---|---|---|---|---|---|---|---|"]
    for b in best:
        if b["config"] is None:
            lines.append(f"| {b['workload']} | {b['budget_mm2']:g} | none fits | | | | | | | |")
            continue
        flat = f"{b['flat_cycles']:,}" if b["flat_cycles"] else "no tiling"
        speed = f"{b['speedup_vs_flat']:.2f}x" if b["speedup_vs_flat"] else ""
        fbest = (f"`{b['flat_best_config']}`: {b['flat_best_cycles']:,}"
                 if b["flat_best_config"] else "none fits")
        fspeed = f"{b['speedup_vs_best_flat']:.2f}x" if b["speedup_vs_best_flat"] else ""
        lines.append(f"| {b['workload']} | {b['budget_mm2']:g} | `{b['config']}` | "
                     f"{b['area_mm2']:.2f} | {b['cycles']:,} | {b['energy_uj']:.1f} | {flat} | "
                     f"{speed} | {fbest} | {fspeed} |")
    (out / "best.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if rtl_rows:
        with open(out / "rtl.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, sorted({k for r in rtl_rows for k in r}))
            writer.writeheader()
            writer.writerows(rtl_rows)
        errs = [r["cycles_error"] for r in rtl_rows if "cycles_error" in r]
        if errs:
            print(f"dse: cost model vs RTL on {len(errs)} points: cycles {min(errs):+.1%}.."
                  f"{max(errs):+.1%}")
    _plot(out, ok)


def _plot(out: Path, ok: list[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for wl in sorted({r["workload"] for r in ok}):
        fig, axes = plt.subplots(1, len(STRATEGIES), figsize=(6 * len(STRATEGIES), 4.5),
                                 sharey=True)
        for ax, s in zip(axes, STRATEGIES):
            rows = [r for r in ok if r["workload"] == wl and r["strategy"] == s]
            if not rows:
                continue
            sc = ax.scatter([r["area_mm2"] for r in rows], [r["cycles"] for r in rows],
                            c=[r["energy_pj"] / 1e6 for r in rows], cmap="viridis", s=14)
            front = pareto_front(rows)
            ax.step([r["area_mm2"] for r in front], [r["cycles"] for r in front], "r-",
                    where="post", lw=1, label="Pareto front")
            ax.set_title(f"{wl}, {s}")
            ax.set_xlabel("area (mm², bench/area.py)")
            ax.set_yscale("log")
            ax.legend(loc="upper right")
            fig.colorbar(sc, ax=ax, label="energy (µJ)")
        axes[0].set_ylabel("cycles (cost model)")
        fig.tight_layout()
        fig.savefig(out / f"pareto_{wl}.png", dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
