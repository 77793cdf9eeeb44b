"""The cocotb side of the RTL backend: runs inside the simulator, one job per simulation.

It reads the job from $NPU_JOB_DIR, runs it with the top-level environment (tb/top/env.py:
host agent, completion monitor, scoreboard against the instruction-level model unless the job
says otherwise), and writes the outcome next to the job.
"""

from __future__ import annotations

import numpy as np
import pyuvm

from runner.job import Job, Outcome
from runner.rtl import job_dir_from_env
from tb.top.env import NpuBaseTest


@pyuvm.test()
class NpuJobTest(NpuBaseTest):
    async def run_phase(self):
        self.raise_objection()
        directory = job_dir_from_env()
        job = Job.load(directory)
        if job.reset_only:
            await self.reset()
            Outcome(backend="rtl", done=False, error=None).save(directory)
            self.drop_objection()
            return
        await self.reset(lat_min=job.dram_latency, lat_max=job.dram_latency)
        report = await self.run_image(
            job.image, job.prog_base, dict(job.outputs), strict=job.strict,
            watchdog=job.watchdog, timeout_cycles=job.timeout_cycles,
            dram_window=job.dram_window, use_model=job.check_with_model)
        status = report.status
        Outcome(
            backend="rtl", done=bool(status["done"]),
            error=report.error_code.name if status["error"] else None,
            error_pc=report.error_pc, error_info=report.error_info,
            counters=dict(report.counters),
            outputs={name: np.asarray(data, np.uint8) for name, data in report.outputs.items()},
        ).save(directory)
        self.drop_objection()

    def check_phase(self):
        if Job.load(job_dir_from_env()).reset_only:
            return      # nothing was run, nothing to score
        super().check_phase()
