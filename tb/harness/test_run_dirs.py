"""Run directories: every run gets its own (concurrent runs of one name never share files),
and finished runs beyond the newest few are removed (no Verilator needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tb.harness.sim import KEEP_RUNS, new_run_dir

REPO = Path(__file__).resolve().parents[2]


def test_concurrent_runs_of_one_name_get_different_directories(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        dirs = list(pool.map(lambda _: new_run_dir(tmp_path, "program-x"), range(64)))
    assert len(set(dirs)) == 64 and all(d.is_dir() and not any(d.iterdir()) for d in dirs)
    # another process (as a second pytest-xdist worker or shell would) gets its own as well
    code = ("import sys; from pathlib import Path; from tb.harness.sim import new_run_dir; "
            "print(new_run_dir(Path(sys.argv[1]), 'program-x'))")
    others = [subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                             text=True, check=True, env=dict(os.environ, PYTHONPATH=str(REPO)),
                             ).stdout.strip() for _ in range(2)]
    assert len({*others, *map(str, dirs)}) == 66


def test_finished_runs_are_pruned_and_running_ones_kept(tmp_path):
    for n in range(10):      # runs of processes that have ended (no such pid)
        (tmp_path / f"run-job-a@999999{n}.0").mkdir()
        os.utime(tmp_path / f"run-job-a@999999{n}.0", (n, n))
    mine = [new_run_dir(tmp_path, "job-a") for _ in range(5)]    # this process: running
    other = tmp_path / "run-job-b@9999990.0"                     # another name: untouched
    other.mkdir()
    new_run_dir(tmp_path, "job-a")
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("run-job-a@9"))
    assert left == [f"run-job-a@999999{n}.0" for n in range(10 - KEEP_RUNS, 10)]
    assert all(d.is_dir() for d in mine) and other.is_dir()
