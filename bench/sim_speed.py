"""`make bench-sim`: how fast one attention head simulates, on both RTL paths side by side.

    python -m bench.sim_speed                        # N = 128, 512, 2048 on default, mas
    python -m bench.sim_speed --sizes 512 --config small --strategy flat

For each sequence length the same program and inputs (BERT-like, d = 64, Gaussian, seeded)
run on
  * the cocotb path (runner backend "rtl": npu_tb_top with its clock and DRAM model in
    SystemVerilog, the host in Python, the build public only where Python looks,
    tb/sv/npu_tb_top.vlt), and
  * the pure-Verilator path (backend "verilator": a --binary build, the host in SystemVerilog,
    tb/sv/npu_bench_top.sv),
each after a warm-up run that also builds it, both checked bit for bit against the integer
contract. It prints, per path, the wall time of the whole run (launch to outcome) and of the
simulation alone (cocotb's own test time; Verilator's reported walltime), simulated cycles
per second, and the cocotb path's speed as a fraction of the pure path's; and the host-side
parts of a run: the tiling search (fresh, and from the search cache) and the instruction-
level model. Written to --out (default bench/results/sim_speed.json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

OUT = Path(__file__).parent / "results" / "sim_speed.json"


def _cocotb_test_seconds(run_dir: Path) -> float:
    case = ElementTree.parse(run_dir / "results.xml").getroot().find(".//testcase")
    if case is None:
        raise RuntimeError(f"no test case in {run_dir / 'results.xml'}")
    return float(case.get("time", "nan"))


def _verilator_seconds(run_dir: Path) -> float:
    found = re.search(r"walltime ([0-9.]+) s", (run_dir / "sim.log").read_text())
    if not found:
        raise RuntimeError(f"no Verilator walltime in {run_dir / 'sim.log'}")
    return float(found.group(1))


def measure(n: int, config: str, strategy: str) -> dict:
    from hwdef import load_config
    from npu_model.attention import gaussian_inputs
    from runner import Job, run
    from runner.attention import calibrated, check_attention
    from runner.model import run_model
    from scheduler import Workload, build_schedule
    cfg = load_config(config)
    rng = np.random.default_rng(n)
    (q, k, v), scales = gaussian_inputs(rng, 1, n, n, 64)
    wl = calibrated(Workload(n, n, 64), scales, q, k, v)
    saved = os.environ.get("NPU_SEARCH_CACHE")
    try:
        os.environ["NPU_SEARCH_CACHE"] = "0"
        t = time.perf_counter()
        build_schedule(wl, cfg, strategy)
        search_fresh = time.perf_counter() - t
        os.environ["NPU_SEARCH_CACHE"] = "1"
        build_schedule(wl, cfg, strategy)       # stores the answer
        t = time.perf_counter()
        sched = build_schedule(wl, cfg, strategy)
        search_cached = time.perf_counter() - t
    finally:
        if saved is None:
            os.environ.pop("NPU_SEARCH_CACHE", None)
        else:
            os.environ["NPU_SEARCH_CACHE"] = saved
    job = Job.for_schedule(sched, q, k, v, check_with_model=False)
    t = time.perf_counter()
    run_model(job)
    model_s = time.perf_counter() - t
    row: dict = {"n": n, "config": config, "strategy": strategy,
                 "instructions": len(sched.words), "search_fresh_s": search_fresh,
                 "search_cached_s": search_cached, "model_s": model_s}
    for backend, sim_seconds in (("rtl", _cocotb_test_seconds),
                                 ("verilator", _verilator_seconds)):
        run(job, backend=backend, tag="bench-sim-warmup")      # builds if needed
        t = time.perf_counter()
        outcome = run(job, backend=backend, tag="bench-sim")
        whole = time.perf_counter() - t
        check = check_attention(sched, outcome.outputs["O"], q, k, v)
        if not (outcome.ok and check.bit_exact):
            raise AssertionError(f"N = {n} on the {backend} path: {outcome.error or ''} "
                                 f"{check.mismatches} output bytes differ from the contract")
        cycles = int(outcome.counters["CYCLES"])
        sim = sim_seconds(Path(outcome.run_dir or ""))
        row[backend] = {"cycles": cycles, "whole_s": whole, "sim_s": sim,
                        "cycles_per_s_whole": cycles / whole, "cycles_per_s_sim": cycles / sim}
    if row["rtl"]["cycles"] != row["verilator"]["cycles"]:
        raise AssertionError(f"N = {n}: {row['rtl']['cycles']} cycles on the cocotb path, "
                             f"{row['verilator']['cycles']} on the pure one")
    row["ratio_whole"] = (row["rtl"]["cycles_per_s_whole"]
                          / row["verilator"]["cycles_per_s_whole"])
    row["ratio_sim"] = row["rtl"]["cycles_per_s_sim"] / row["verilator"]["cycles_per_s_sim"]
    return row


def table(rows: list[dict]) -> str:
    lines = ["| N | cycles | cocotb whole s | cocotb sim s | cocotb k cycles/s | pure whole s | "
             "pure sim s | pure k cycles/s | cocotb / pure (whole, sim) | search fresh / "
             "cached s | model s |", "|" + "---|" * 11]
    for r in rows:
        c, p = r["rtl"], r["verilator"]
        lines.append(
            f"| {r['n']} | {c['cycles']:,} | {c['whole_s']:.2f} | {c['sim_s']:.2f} | "
            f"{c['cycles_per_s_whole'] / 1e3:.0f} | {p['whole_s']:.2f} | {p['sim_s']:.2f} | "
            f"{p['cycles_per_s_whole'] / 1e3:.0f} | {r['ratio_whole']:.0%}, "
            f"{r['ratio_sim']:.0%} | {r['search_fresh_s']:.2f} / {r['search_cached_s']:.3f} | "
            f"{r['model_s']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sim_speed",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="128,512,2048")
    ap.add_argument("--config", default="default")
    ap.add_argument("--strategy", default="mas")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    from hwdef import ConfigError, load_config
    from scheduler import STRATEGIES, ScheduleError, Workload
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s]
    except ValueError:
        sizes = []
    problem = None
    if not sizes:
        problem = f"--sizes {args.sizes!r}: sequence lengths separated by commas"
    elif args.strategy not in STRATEGIES:
        problem = f"--strategy {args.strategy!r}: one of {', '.join(STRATEGIES)}"
    else:
        try:
            cfg = load_config(args.config)
            for n in sizes:
                Workload(n, n, 64).validate(cfg)
        except ConfigError as exc:
            problem = f"--config {args.config!r}: {exc}"
        except ScheduleError as exc:
            problem = f"--sizes {args.sizes!r}: {exc}"
        try:    # refuse an unwritable --out before minutes of simulation, not after
            with open(args.out, "a"):
                pass
        except OSError as exc:
            problem = problem or f"--out {args.out!r}: {exc.strerror or exc}"
    if problem:
        print(f"error: {' '.join(problem.split())}", file=sys.stderr)
        return 2
    rows = []
    for n in sizes:
        try:
            rows.append(measure(n, args.config, args.strategy))
        except (ScheduleError, ConfigError, ValueError) as exc:
            print(f"error: N = {n}: {' '.join(str(exc).split())}", file=sys.stderr)
            return 1
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
