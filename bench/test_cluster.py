"""The bench on Dask (bench/cluster.py, bench/tasks.py): a real scheduler and two workers as
separate processes, the local cluster, reruns that skip finished cases, failures that keep the
rest, and one-line refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.__main__ import main

DASK = Path(sys.executable).parent / "dask"
SWEEP = ["--configs", "tiny", "--workloads", "t40=40x40x16c,t24=24x24x16",
         "--strategies", "serial,mas"]
# What the RTL measured; the same whichever process ran it (wall time and paths are not)
MEASURED = ("counters", "toggles", "energy", "energy_pj", "predicted", "tiling",
            "instructions", "bit_exact", "cosine", "overlaps", "source_digest")


def _records(out: Path) -> dict:
    return {(r["config"], r["workload_name"], r["strategy"]): r
            for r in json.loads((out / "results.json").read_text())}


@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes on localhost (one thread each):
    the scheduler file's path once both workers have joined."""
    from distributed import Client
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    procs = [subprocess.Popen([str(DASK), "scheduler", "--scheduler-file", str(scheduler_file),
                               "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(300):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.1)
        else:
            pytest.fail("dask scheduler wrote no scheduler file in 30 s")
        for name in ("w1", "w2"):
            procs.append(subprocess.Popen(
                [str(DASK), "worker", "--scheduler-file", str(scheduler_file), "--nthreads",
                 "1", "--name", name, "--no-dashboard"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(scheduler_file=str(scheduler_file), timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            pids = set(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids
        yield scheduler_file
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.sim
def test_a_sweep_on_two_worker_processes_equals_a_local_run(dask_cluster, tmp_path, capsys):
    """The same tiny sweep through a separate scheduler and two workers, and on a local
    cluster of one worker: every measured figure of the merged results is equal; a rerun
    skips the four finished cases."""
    remote, local = tmp_path / "remote", tmp_path / "local"
    assert main(SWEEP + ["--scheduler", str(dask_cluster), "--out", str(remote)]) == 0
    text = capsys.readouterr().out
    assert "4 to run" in text and "running on 2 workers (2 threads)" in text
    assert main(SWEEP + ["--jobs", "1", "--out", str(local)]) == 0
    a, b = _records(remote), _records(local)
    assert set(a) == set(b) and len(a) == 4
    for key in a:
        assert a[key]["bit_exact"]
        for name in MEASURED:
            assert a[key][name] == b[key][name], (key, name)
    # the remote cases ran in the workers' processes, not here
    pids = {int(r["run_dir"].rsplit("@", 1)[1].split(".")[0]) for r in a.values()}
    assert os.getpid() not in pids
    capsys.readouterr()
    assert main(SWEEP + ["--scheduler", str(dask_cluster), "--out", str(remote)]) == 0
    assert "4 already measured with these sources" in capsys.readouterr().out
    assert _records(remote) == a
    assert (remote / "summary.md").exists() and (remote / "results.csv").exists()


@pytest.mark.sim
def test_a_failed_case_is_reported_and_the_others_are_kept(tmp_path, capsys):
    """d = 128 has no tiling on tiny: that case fails on its worker with the reason, the other
    one is measured and saved, and the exit status is 1."""
    out = tmp_path / "out"
    rc = main(["--configs", "tiny", "--workloads", "t24=24x24x16,wide=24x24x128",
               "--strategies", "mas", "--jobs", "1", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 1
    assert "FAILED tiny wide mas" in captured.out and "accumulators" in captured.out
    assert "FAILED: tiny wide mas" in captured.err
    assert set(_records(out)) == {("tiny", "t24", "mas")}


@pytest.mark.parametrize("argv, message, status", [
    (["--workloads", "x=12x"], "--workloads 'x=12x'", 2),
    (["--workloads", "w=0x8x16"], "--workloads 'w' on 'tiny': seq_q = 0", 2),
    (["--configs", "nope"], "--configs 'nope'", 2),
    (["--strategies", "fast"], "--strategies 'fast'", 2),
    (["--jobqueue", "cloud"], "--jobqueue 'cloud'", 2),
    (["--jobs", "0"], "--jobs 0", 2),
    (["--workloads", "bert-512=40x40x16"], "is a workload of the suite", 2),
    (["--workloads", "a=24x24x16,a=32x32x16"], "named twice", 2),
    (["--strategies", "mas,mas"], "mas named twice", 2),
    (["--configs", ","], "--configs ','", 2),
    (["--out", "/proc/no/such"], "--out '/proc/no/such'", 2),
])
def test_bad_arguments_are_one_line(argv, message, status, tmp_path, capsys):
    rc = main(["--configs", "tiny", "--workloads", "t24=24x24x16", "--out",
               str(tmp_path)] + argv)
    err = capsys.readouterr().err
    assert rc == status
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_report_only_needs_results(tmp_path, capsys):
    assert main(["--report-only", "--out", str(tmp_path)]) == 2
    assert "--report-only: no " in capsys.readouterr().err
    (tmp_path / "results.json").write_text("[{")
    assert main(["--report-only", "--out", str(tmp_path)]) == 2
    assert "not a bench results file" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    rc = main(["--configs", "tiny", "--workloads", "t24=24x24x16", "--scheduler",
               "tcp://127.0.0.1:9", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("error: cannot connect to tcp://127.0.0.1:9")


def test_the_source_digest_follows_the_sources(tmp_path, monkeypatch):
    """Another file content under a digested directory gives another digest."""
    from bench import tasks
    (tmp_path / "rtl").mkdir()
    (tmp_path / "rtl" / "a.sv").write_text("module a; endmodule\n")
    monkeypatch.setattr(tasks, "REPO", tmp_path)
    monkeypatch.setattr(tasks, "DIGEST_SOURCES", ("rtl",))
    tasks.source_digest.cache_clear()
    try:
        first = tasks.source_digest()
        (tmp_path / "rtl" / "a.sv").write_text("module a; wire w; endmodule\n")
        tasks.source_digest.cache_clear()
        assert tasks.source_digest() != first
    finally:
        tasks.source_digest.cache_clear()


def test_the_source_digest_covers_what_a_case_runs():
    """Every project file a case uses (the modules a worker imports to run one, the RTL and
    simulation sources, the control file) is under DIGEST_SOURCES, so no change to them keeps
    an old record. The imports are those of a fresh interpreter (this one has the whole test
    suite's)."""
    from bench import tasks
    from tb.top.env import EXTRA_SOURCES, PUBLIC_ONLY
    from tools.rtl_sources import rtl_sources
    probe = ("import sys\n"
             "import bench.tasks, bench.sim, runner.rtl, runner.cocotb_job, tb.top.env\n"
             "import tb.harness.sim, scheduler, npu_model.executor\n"
             "print('\\n'.join(m.__file__ for m in list(sys.modules.values())\n"
             "                   if getattr(m, '__file__', None)))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tasks.REPO, capture_output=True,
                          text=True, check=True)
    files = {Path(line).resolve() for line in done.stdout.splitlines() if line}
    files |= {Path(p).resolve() for p in [*rtl_sources(), *EXTRA_SOURCES, PUBLIC_ONLY]}
    ours = {f.relative_to(tasks.REPO).as_posix() for f in files
            if f.is_relative_to(tasks.REPO) and ".venv" not in f.parts}
    assert "runner/cocotb_job.py" in ours and "tb/sv/npu_tb_top.vlt" in ours
    uncovered = sorted(f for f in ours if f not in tasks.DIGEST_EXEMPT and not any(
        f == e or f.startswith(e + "/") for e in tasks.DIGEST_SOURCES))
    assert not uncovered, uncovered


def test_a_record_counts_as_measured_only_for_its_sources_and_shape():
    """A rerun skips a case only when its record has the current digest and the workload's
    shape: a workload of your own given another shape under the same name runs again."""
    from types import SimpleNamespace

    from bench.__main__ import _measured
    from bench.workloads import BenchWorkload
    from scheduler import Workload
    wl = BenchWorkload("t", Workload(40, 40, 16, causal=True))
    rec = SimpleNamespace(source_digest="d1", workload=Workload(40, 40, 16, causal=True,
                                                                s_q=0.1).to_dict())
    assert _measured(rec, wl, "d1")
    assert not _measured(rec, wl, "d2")
    assert not _measured(rec, BenchWorkload("t", Workload(48, 48, 16, causal=True)), "d1")
    assert not _measured(rec, BenchWorkload("t", Workload(40, 40, 16)), "d1")
    assert not _measured(None, wl, "d1")
