"""Where the bench's runs execute: a Dask cluster (distributed), local or not.

    cluster.connect(workers=2)                       a local cluster on this machine: worker
                                                     processes with one thread each
    cluster.connect(scheduler="tcp://host:8786")     an existing cluster (`dask scheduler`,
                                                     `dask worker ...`), or a scheduler file
    cluster.connect(jobqueue="slurm", workers=8)     a batch farm through dask-jobqueue: the
                                                     job template (queue, cores, memory,
                                                     walltime, the job's commands) comes from
                                                     Dask's configuration, `jobqueue.<kind>`
                                                     (docs/bench-cluster.md has an example)

One simulation is CPU-bound and single-threaded, so a worker is a process with one thread: a
worker runs one case at a time, and the number of workers is the number of simulations at a
time. Workers need the repository (they import the project and simulate its RTL); builds reach
them as bench/tasks.py says.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

JOBQUEUE_KINDS = ("slurm", "lsf", "sge", "pbs", "htcondor")


class ClusterError(RuntimeError):
    """No cluster could be reached or started; the message says which and why."""


def _jobqueue_cluster(kind: str, workers: int):
    try:
        import dask_jobqueue
    except ImportError:
        raise ClusterError("dask-jobqueue is not installed (`make bootstrap` installs it)"
                           ) from None
    cls = {"slurm": dask_jobqueue.SLURMCluster, "lsf": dask_jobqueue.LSFCluster,
           "sge": dask_jobqueue.SGECluster, "pbs": dask_jobqueue.PBSCluster,
           "htcondor": dask_jobqueue.HTCondorCluster}[kind]
    try:
        farm = cls()      # every setting from the `jobqueue.<kind>` section of Dask's config
    except Exception as exc:      # a missing setting or submit command, said in one line
        raise ClusterError(f"--jobqueue {kind}: {' '.join(str(exc).split())}") from None
    farm.scale(workers)
    return farm


@contextlib.contextmanager
def connect(scheduler: str | None = None, workers: int = 2,
            jobqueue: str | None = None) -> Iterator:
    """A distributed.Client for the bench (closed, and a cluster it started shut down, on
    exit). *scheduler*: an address or a scheduler file of a running cluster; *jobqueue*: a
    farm of JOBQUEUE_KINDS with *workers* jobs; neither: a local cluster of *workers*
    single-threaded processes."""
    from distributed import Client, LocalCluster
    if jobqueue is not None and jobqueue not in JOBQUEUE_KINDS:
        raise ClusterError(f"--jobqueue {jobqueue!r}: one of {', '.join(JOBQUEUE_KINDS)}")
    if workers < 1:
        raise ClusterError(f"{workers} workers: at least 1")
    # NumPy in each simulation's process: one BLAS thread (several make it slower on a small
    # machine); workers started here inherit it.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    cluster = None
    try:
        if scheduler is not None:
            target = ({"scheduler_file": scheduler} if Path(scheduler).is_file()
                      else {"address": scheduler})
            client = Client(**target, timeout="10s")
        elif jobqueue is not None:
            cluster = _jobqueue_cluster(jobqueue, workers)
            client = Client(cluster)
        else:
            # ":0": its HTTP endpoint on a free port (another cluster may hold 8787)
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.CRITICAL)
            client = Client(cluster)
    except ClusterError:
        raise
    except Exception as exc:      # unreachable address, timeout: one line, not a traceback
        if cluster is not None:   # started here: no workers or batch jobs left behind
            cluster.close()
        where = scheduler or jobqueue or "a local cluster"
        raise ClusterError(f"cannot connect to {where}: {' '.join(str(exc).split())}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def describe(client) -> str:
    """"3 workers (3 threads) at tcp://..." for the bench's first line."""
    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    return (f"{len(workers)} worker{'s' * (len(workers) != 1)} ({threads} "
            f"thread{'s' * (threads != 1)}) at {info.get('address', '?')}")
