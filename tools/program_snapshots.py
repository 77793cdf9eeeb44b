"""Snapshots of the scheduler's programs: the proof that a refactor moved no instruction.

    python -m tools.program_snapshots --write   # record the programs of the current tree
    python -m tools.program_snapshots           # compare the current tree with the record

`WORKLOADS` covers every strategy on the tiny, default and small configurations: square,
ragged, causal, multi-head and batched shapes and a non-identity output scale. The record
(scheduler/snapshots/programs.npz) holds each program's image word for word. A change that
moves a program on purpose rewrites the record in the same commit and says why.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from hwdef import isa, load_config
from scheduler import STRATEGIES, Workload, build_schedule

RECORD = Path(__file__).resolve().parent.parent / "scheduler" / "snapshots" / "programs.npz"

# (configuration, name, workload)
WORKLOADS: list[tuple[str, str, Workload]] = [
    ("tiny", "square-16", Workload(16, 16, 16)),
    ("tiny", "ragged-37x53", Workload(37, 53, 16)),
    ("tiny", "causal-32", Workload(32, 32, 16, causal=True)),
    ("tiny", "causal-2heads-24x40", Workload(24, 40, 16, heads=2, causal=True)),
    ("tiny", "square-64-d32", Workload(64, 64, 32)),
    ("default", "sweep-128", Workload(128, 128, 64)),
    ("default", "vit-197", Workload(197, 197, 64)),
    ("default", "causal-ragged-100x300", Workload(100, 300, 64, causal=True)),
    ("default", "3heads-64-d32", Workload(64, 64, 32, heads=3)),
    ("default", "batch2x2-33x77-d48", Workload(33, 77, 48, heads=2, batch=2)),
    ("default", "causal-256-out-scale", Workload(256, 256, 64, causal=True, s_o=1.0 / 16)),
    ("default", "bert-512", Workload(512, 512, 64)),
    ("small", "sweep-256", Workload(256, 256, 64)),
    ("small", "causal-128", Workload(128, 128, 64, causal=True)),
]


def key(config: str, name: str, strategy: str) -> str:
    return f"{config}/{name}/{strategy}"


def build_all() -> dict[str, np.ndarray]:
    """Every (workload, strategy) program of the current tree as its image bytes."""
    out = {}
    for config, name, wl in WORKLOADS:
        cfg = load_config(config)
        for strategy in STRATEGIES:
            words = build_schedule(wl, cfg, strategy).words
            out[key(config, name, strategy)] = np.frombuffer(isa.to_bytes(words), np.uint8)
    return out


def first_difference(want: np.ndarray, got: np.ndarray) -> str:
    """'' when equal, else the first differing instruction of both programs."""
    if np.array_equal(want, got):
        return ""
    a, b = isa.from_bytes(want.tobytes()), isa.from_bytes(got.tobytes())
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return (f"instruction {index} differs:\n  recorded {isa.format_insn(x)}\n"
                    f"  now      {isa.format_insn(y)}")
    return f"recorded {len(a)} instructions, now {len(b)}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.program_snapshots",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help="record the current programs")
    args = ap.parse_args(argv)
    programs = build_all()
    if args.write:
        RECORD.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(RECORD, **programs)  # type: ignore[arg-type]
        print(f"recorded {len(programs)} programs in {RECORD}")
        return 0
    recorded = np.load(RECORD)
    bad = 0
    for name, got in programs.items():
        diff = first_difference(recorded[name], got) if name in recorded else "not recorded"
        if diff:
            bad += 1
            print(f"{name}: {diff}")
    print(f"{len(programs) - bad} of {len(programs)} programs identical to the record")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
