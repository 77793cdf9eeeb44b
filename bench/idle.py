"""Where the matrix unit waits: its idle gaps between MATMULs in an RTL trace, each blamed on
the producer the next MATMUL waited for (its semaphore whose producer retired last).

    python -m bench.idle RUN_DIR --config default --workload bert-512 --strategy mas

RUN_DIR is a bench run directory (trace.txt inside; `python -m bench` keeps them under
sim_build/). The schedule is rebuilt exactly as the bench built it (bench.sim.bench_inputs,
the bench's DRAM size), so instruction k of each queue in the trace is instruction k of that
queue in the program. The semaphores say which producer each MATMUL waited for: the k-th wait
on a semaphore meets its k-th signal (cost.semaphore_producers, as in cost.predict).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from bench.trace import UNITS, read_trace
from scheduler.cost import semaphore_producers
from scheduler.sync import Insn


def matrix_idle(insns: list[Insn], intervals) -> tuple[Counter, Counter]:
    """(idle cycles, gaps) per (waiting MATMUL's first note word, producer's first note word):
    cycles from one MATMUL's retirement to the next one's hand-over, where there are any."""
    at = {i.index: intervals[i.queue.name][i.position] for i in insns
          if i.queue.name in intervals}
    waits = semaphore_producers(insns)
    matmuls = [i for i in insns if i.mnemonic == "MATMUL"]
    cycles: Counter = Counter()
    gaps: Counter = Counter()
    for prev, insn in zip(matmuls, matmuls[1:]):
        gap = at[insn.index][0] - at[prev.index][1]
        if gap <= 1:        # handed over in the cycle after (or before) the retirement
            continue
        if waits[insn.index]:
            last = insns[max(waits[insn.index], key=lambda j: at[j][1])]
            blame = (insn.note.split()[0], last.note.split()[0])
        else:
            blame = (insn.note.split()[0], "(no wait)")
        cycles[blame] += gap
        gaps[blame] += 1
    return cycles, gaps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.idle", description=__doc__.split("\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--config", required=True)
    ap.add_argument("--workload", required=True, help="a bench suite workload name")
    ap.add_argument("--strategy", required=True)
    args = ap.parse_args(argv)
    trace = args.run_dir / "trace.txt"
    if not trace.is_file():
        print(f"bench.idle: {trace}: no trace (bench runs write one; make sim runs do not)",
              file=sys.stderr)
        return 1
    from bench.sim import BENCH_DRAM_BYTES, bench_inputs
    from bench.workloads import suite
    from hwdef import load_config
    from scheduler import build_schedule
    by_name = {w.name: w for w in suite()}
    if args.workload not in by_name:
        print(f"bench.idle: unknown workload {args.workload!r}; the suite has "
              f"{', '.join(by_name)}", file=sys.stderr)
        return 1
    _, wl = bench_inputs(by_name[args.workload])
    sched = build_schedule(wl, load_config(args.config), args.strategy,
                           dram_bytes=BENCH_DRAM_BYTES)
    intervals = read_trace(trace)
    counts = {q: sum(i.queue.name == q for i in sched.instructions) for q in UNITS}
    if any(len(intervals[q]) != n for q, n in counts.items()):
        print(f"bench.idle: {trace} has {({q: len(v) for q, v in intervals.items()})} "
              f"instructions per queue, the schedule {counts}: not this schedule's run",
              file=sys.stderr)
        return 1
    cycles, gaps = matrix_idle(sched.instructions, intervals)
    print(f"{args.config} {args.workload} {args.strategy}: matrix idle between MATMULs "
          f"{sum(cycles.values()):,} cycles in {sum(gaps.values())} gaps")
    for (waiting, producer), n in cycles.most_common():
        print(f"  {waiting} waiting for {producer}: {n:,} cycles in {gaps[waiting, producer]} "
              "gaps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
