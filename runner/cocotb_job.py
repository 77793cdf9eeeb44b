"""The cocotb side of the RTL backend: runs inside the simulator.

`NpuJobTest` reads the job from $NPU_JOB_DIR, runs it with the top-level environment
(tb/top/env.py: host agent, completion monitor, scoreboard against the instruction-level model
unless the job says otherwise), and writes the outcome next to the job.

`NpuJobBatchTest` runs every job found in the numbered subdirectories of $NPU_JOB_DIR one after
the other in the same simulation (a reset before each `fresh` job and after a hang, none
otherwise; each run's DRAM, scratchpad and accumulators are defined before START), and records
each outcome unscored: the launcher compares them with
the model itself (tb/crv: thousands of short random programs, where starting one simulation per
program would cost more than running it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyuvm

from runner.job import HANG, Job, Outcome
from runner.rtl import batch_dirs, job_dir_from_env
from tb.top.env import NpuBaseTest


class _JobRunner(NpuBaseTest):
    async def run_job(self, job: Job, directory: Path, score: bool, reset: bool = True) -> None:
        """Run *job*; without *reset* it starts right after the previous program, as a host
        running programs back to back would (nothing but START clears the NPU's state)."""
        if job.reset_only:
            await self.reset()
            Outcome(backend="rtl", done=False, error=None).save(directory)
            return
        dram = (job.dram_latency, job.dram_latency_max, job.dram_bytes_per_cycle, job.dram_seed)
        if reset:
            await self.reset(*dram)
        else:
            self.configure_dram(*dram)
        report = await self.run_image(
            job.image, job.prog_base, dict(job.outputs), strict=job.strict,
            watchdog=job.watchdog, timeout_cycles=job.timeout_cycles,
            dram_window=job.dram_window, use_model=job.check_with_model, score=score)
        status = report.status
        Outcome(
            backend="rtl", done=bool(status["done"]),
            error=report.error_code.name if status["error"] else None,
            error_pc=report.error_pc, error_info=report.error_info,
            counters=dict(report.counters), observed=dict(report.observed),
            outputs={name: np.asarray(data, np.uint8) for name, data in report.outputs.items()},
        ).save(directory)


@pyuvm.test()
class NpuJobTest(_JobRunner):
    async def run_phase(self):
        self.raise_objection()
        directory = job_dir_from_env()
        await self.run_job(Job.load(directory), directory, score=True)
        self.drop_objection()

    def check_phase(self):
        if Job.load(job_dir_from_env()).reset_only:
            return      # nothing was scored here
        super().check_phase()


@pyuvm.test()
class NpuJobBatchTest(_JobRunner):
    async def run_phase(self):
        self.raise_objection()
        # A job that is not `fresh` runs right after the previous one with no reset, so state
        # one program leaves behind (a lock, a fetch credit) reaches the next. A job that hangs
        # or leaves the NPU busy is blamed for it, and the next one starts after a reset.
        reset = True
        for directory in batch_dirs(job_dir_from_env()):
            job = Job.load(directory)
            try:
                await self.run_job(job, directory, score=False, reset=reset or job.fresh)
                await self.wait_idle()
                reset = False
            except AssertionError as err:   # no interrupt in time, or busy after it
                Outcome(backend="rtl", done=False, error=HANG, error_info=0,
                        counters={}, message=str(err).splitlines()[0]).save(directory)
                self.logger.error("%s: %s", directory.name, err)
                reset = True
        self.drop_objection()

    def check_phase(self):
        pass            # the launcher scores each outcome
