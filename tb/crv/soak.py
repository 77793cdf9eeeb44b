"""Run constrained-random programs on the RTL and the model and compare them (issue 11).

    python -m tb.crv.soak --count 10000 [--seed 1] [--config tiny,default] [--batch 200]
    python -m tb.crv.soak --config tiny --rerun <program seed>      # one program, verbose
    make soak N=10000 [SEED=1] [CONFIG=tiny]

Programs run in batches: one simulation of the configuration's shared Verilator build runs a
whole batch (runner.run_rtl_batch: reset, load, run, read back, next), while this process
generates the next batch and runs it on the model, so both cores work. Every program is scored
by tb/crv/check.py and sampled by the coverage model (tb/crv/coverage.py). A failing program is
minimized (delta debugging over its sequential instructions, each round one batch) and written
as a re-runnable, commented `.s` file with its seed and the mismatch; the run ends with a
summary (programs by kind and verdict, error codes seen, time) and the coverage report.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from runner.job import SIM_FAILED, Outcome
from runner.model import run_model
from tb.crv import coverage
from tb.crv.check import mismatches, signature
from tb.crv.generator import RandomProgram, generate, seed_of
from tb.crv.knobs import MAX_INSNS

DEFAULT_OUT = Path("sim_build") / "crv-failures"


@dataclass
class Result:
    prog: RandomProgram
    rtl: Outcome
    model: Outcome
    problems: list[str]


@dataclass
class Summary:
    config: str
    programs: int = 0
    failures: list[Result] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    hangs: int = 0
    rtl_cycles: int = 0
    wall_s: float = 0.0

    def add(self, res: Result) -> None:
        self.programs += 1
        self.kinds[res.prog.kind] += 1
        self.errors[res.rtl.error or "none"] += 1
        self.rtl_cycles += res.rtl.counters.get("CYCLES", 0)
        if res.problems:
            self.failures.append(res)
            self.hangs += res.problems[0].startswith("hang")

    def lines(self) -> list[str]:
        rate = self.programs / self.wall_s if self.wall_s else 0.0
        return [
            f"{self.config}: {self.programs} programs, {len(self.failures)} failing "
            f"({self.hangs} hangs), {self.rtl_cycles} RTL cycles, {self.wall_s:.0f} s "
            f"({rate:.1f} programs/s)",
            "  kinds:  " + ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items())),
            "  RTL end: " + ", ".join(f"{k} {n}" for k, n in sorted(self.errors.items()))]


def _prepare(config: str, seeds: list[int], max_insns: int):
    progs = [generate(config, seed, max_insns) for seed in seeds]
    return progs, [run_model(p.job()) for p in progs]


def _run_batch(progs: list[RandomProgram], tag: str,
               back_to_back: bool = False) -> list[Outcome]:
    """One simulation of *progs*: each after a reset, or (*back_to_back*) each right after the
    previous one, as a host would run them (the first after a reset)."""
    from runner.rtl import run_rtl_batch
    jobs = [p.job() for p in progs]
    for job in jobs[1:]:
        job.fresh = not back_to_back
    return run_rtl_batch(jobs, tag=tag)


def _discard(outcomes: list[Outcome]) -> None:
    """A batch's run directories are removed once its outcomes are read (thousands of images
    add up); only a simulation that ended early keeps its directory, for its log."""
    for run_dir in {Path(o.run_dir).parent for o in outcomes if o.run_dir}:
        if not any(o.error == SIM_FAILED for o in outcomes):
            shutil.rmtree(run_dir, ignore_errors=True)


def run_programs(config: str, seeds: list[int], batch: int = 200, max_insns: int = 24,
                 progress=print, tag: str = "crv") -> Summary:
    """Generate, run and score the programs of *seeds*; batches overlap with generation."""
    summary = Summary(config)
    start = time.perf_counter()
    chunks = [seeds[i:i + batch] for i in range(0, len(seeds), batch)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: tuple[Future, list, list] | None = None
        for index, chunk in enumerate(chunks + [[]]):
            prepared = _prepare(config, chunk, max_insns) if chunk else None
            if pending is not None:
                future, progs, models = pending
                outcomes = future.result()
                for prog, rtl, model in zip(progs, outcomes, models):
                    res = Result(prog, rtl, model, mismatches(prog, rtl, model))
                    summary.add(res)
                    if not res.problems:          # coverage counts what was checked
                        coverage.sample(prog, rtl)
                _discard(outcomes)
                summary.wall_s = time.perf_counter() - start
                progress(f"  {config}: {summary.programs}/{len(seeds)} programs, "
                         f"{len(summary.failures)} failing, {summary.wall_s:.0f} s")
            pending = None
            if prepared is not None:
                progs, models = prepared
                future = pool.submit(_run_batch, progs, f"{tag}-{index}",
                                     True)
                pending = (future, progs, models)
    summary.wall_s = time.perf_counter() - start
    return summary


def minimize(prog: RandomProgram, fails: Callable[[list[RandomProgram]], list[bool]],
             rounds: int = 40) -> RandomProgram:
    """Delta debugging over the sequential instructions: the smallest subset found that still
    fails. Fences always stay (without them the outcome may depend on timing, and a smaller
    program could fail differently for that reason alone). *fails* judges a list of
    candidates at once (on the RTL: one batch per round)."""
    fences = [i for i, item in enumerate(prog.seq) if item == "FENCE"]
    keep = [i for i, item in enumerate(prog.seq) if item != "FENCE"]
    chunks = 2
    for _ in range(rounds):
        if len(keep) <= 1:
            break
        size = -(-len(keep) // chunks)
        candidates = [keep[:i] + keep[i + size:] for i in range(0, len(keep), size)]
        verdicts = fails([prog.subset(sorted(c + fences)) for c in candidates])
        found = next((c for c, bad in zip(candidates, verdicts) if bad), None)
        if found is not None:
            keep, chunks = found, max(chunks - 1, 2)
        elif chunks >= len(keep):
            break
        else:
            chunks = min(2 * chunks, len(keep))
    return prog.subset(sorted(keep + fences))


def fails_like(res: Result, tag: str = "crv-min") -> Callable[[list[RandomProgram]], list[bool]]:
    """Candidates fail like *res* if, on the RTL, they fail with the same signature."""
    want = signature(res.problems)
    rounds = iter(range(10 ** 6))

    def judge(progs: list[RandomProgram]) -> list[bool]:
        outcomes = _run_batch(progs, f"{tag}-{res.prog.seed}-{next(rounds)}")
        verdicts = [signature(mismatches(p, rtl, run_model(p.job()))) == want
                    for p, rtl in zip(progs, outcomes)]
        _discard(outcomes)
        return verdicts
    return judge


def fails_alone(res: Result) -> bool:
    """Does the program also fail on its own, after a reset? (In a soak it ran right after
    another program: a failure only there is state that program left behind.)"""
    return fails_like(res, tag="crv-alone")([res.prog])[0]


def write_failure(res: Result, out_dir: Path, minimized: RandomProgram | None,
                  after: int | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{res.prog.config}-seed{res.prog.seed}.s"
    text = ["# FAILED: " + "; ".join(res.problems)]
    if after is not None:
        text.append(f"# fails only right after the program of seed {after} (no reset between "
                    "them); on its own, after a reset, it passes")
    if minimized is not None:
        text += [f"# minimized from {len(res.prog.words)} to {len(minimized.words)} words; the "
                 "original program follows the minimized one, commented out", minimized.listing()]
        text += ["# " + line for line in res.prog.listing().splitlines()]
    else:
        text.append(res.prog.listing())
    path.write_text("\n".join(text) + "\n")
    return path


def rerun_file(path: Path) -> int:
    """Run one program file on the RTL and the model and print the verdict."""
    try:
        prog = RandomProgram.from_listing(path.read_text(), str(path))
        job = prog.job()
    except (OSError, UnicodeDecodeError, ValueError) as err:
        print(f"error: {path}: {err}", file=sys.stderr)
        return 2
    rtl = _run_batch([prog], f"crv-rerun-{prog.seed}")[0]
    problems = mismatches(prog, rtl, run_model(job))
    _discard([rtl])
    print(f"{path}: {len(prog.words)} words on '{prog.config}' (seed {prog.seed}, {prog.kind}): "
          f"RTL {rtl.error or 'clean'}, {rtl.counters.get('CYCLES', 0)} cycles")
    print("\n".join(f"  {p}" for p in problems) if problems else "  equal to the model")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tb.crv.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="programs per configuration")
    parser.add_argument("--seed", type=int, default=1, help="seed of the whole run")
    parser.add_argument("--config", default="tiny", help="comma-separated configurations")
    parser.add_argument("--batch", type=int, default=200, help="programs per simulation")
    parser.add_argument("--max-insns", type=int, default=24, help="body instructions at most")
    parser.add_argument("--rerun", type=int, help="run the one program of this seed")
    parser.add_argument("--rerun-file", type=Path,
                        help="run a program file written by a soak (minimized or edited)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="failing programs")
    parser.add_argument("--no-minimize", action="store_true")
    parser.add_argument("--coverage-out", type=Path, help="write the coverage (YAML) here")
    args = parser.parse_args(argv)
    from hwdef import load_config
    configs = [c for c in args.config.split(",") if c]
    try:
        for name in configs:
            load_config(name)
        if args.count < 1 or args.batch < 1:
            raise ValueError("--count and --batch must be positive")
        if not 1 <= args.max_insns <= MAX_INSNS:
            raise ValueError(f"--max-insns {args.max_insns}: choose 1..{MAX_INSNS}")
        for name, seed in (("--seed", args.seed), ("--rerun", args.rerun)):
            if seed is not None and not 0 <= seed < 1 << 31:
                raise ValueError(f"{name} {seed}: choose 0..{(1 << 31) - 1}")
    except (KeyError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.rerun_file is not None:
        return rerun_file(args.rerun_file)
    failing = 0
    for config in configs:
        seeds = ([args.rerun] if args.rerun is not None
                 else [seed_of(args.seed, i) for i in range(args.count)])
        print(f"{config}: {len(seeds)} random programs (run seed {args.seed}, batches of "
              f"{args.batch})", flush=True)
        summary = run_programs(config, seeds, args.batch, args.max_insns,
                               progress=lambda line: print(line, flush=True))
        print("\n".join(summary.lines()))
        if args.rerun is not None:
            print(summary.failures[0].prog.listing() if summary.failures else
                  generate(config, args.rerun, args.max_insns).listing())
        for res in summary.failures:
            alone = fails_alone(res)
            before = seeds.index(res.prog.seed) - 1
            after = None if alone or before < 0 else seeds[before]
            mini = (None if args.no_minimize or not alone
                    else minimize(res.prog, fails_like(res)))
            try:
                path = write_failure(res, args.out, mini, after)
            except OSError as err:
                print(f"error: --out {args.out}: {err}", file=sys.stderr)
                return 2
            print(f"  FAIL seed {res.prog.seed} ({res.prog.kind}): {res.problems[0]} -> {path}")
        failing += len(summary.failures)
    print(coverage.report())
    if args.coverage_out:
        try:
            coverage.export(args.coverage_out)
        except OSError as err:
            print(f"error: --coverage-out {args.coverage_out}: {err}", file=sys.stderr)
            return 2
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
