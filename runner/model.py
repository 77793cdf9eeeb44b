"""The model backend: the instruction-level executor (npu_model/executor.py) in this process.

It gives the outputs, the error (code, pc, info) and the counters the sequential model knows
(INSN_RETIRED, DRAM_WRITE_BYTES, VECTOR_FLAGS: equal to the RTL's for runs that finish without
an error), plus the work it issued; cycles and busy counters come only from the RTL."""

from __future__ import annotations

import time

from hwdef import load_config
from npu_model.executor import NpuModel
from runner.job import Job, Outcome


def run_model(job: Job, max_insns: int = 10 ** 7) -> Outcome:
    start = time.perf_counter()
    cfg = load_config(job.config)
    mem_bytes = int(job.mem_bytes or cfg.dram_bytes)
    base, size = job.dram_window if job.dram_window else (0, mem_bytes)
    dram = job.image.copy()
    if dram.size < mem_bytes:          # the model's DRAM is as large as the RTL's
        dram.resize(mem_bytes, refcheck=False)
    model = NpuModel(cfg, dram, dram_base=base, dram_size=size)
    model.strict = job.strict
    result = model.run(job.prog_base, max_insns=max_insns)
    err = result.error
    return Outcome(
        backend="model", done=err is None, error=None if err is None else err.code.name,
        error_pc=0 if err is None else err.pc, error_info=0 if err is None else err.info,
        counters={"INSN_RETIRED": result.retired, "DRAM_WRITE_BYTES": result.dram_write_bytes,
                  "VECTOR_FLAGS": result.flags},
        work={"macs": result.macs, "vectors": result.vectors,
              "dram_read_bytes": result.dram_read_bytes,
              "dram_write_bytes": result.dram_write_bytes},
        outputs={name: model.dram[addr:addr + nbytes].copy()
                 for name, (addr, nbytes) in job.outputs.items()},
        wall_s=time.perf_counter() - start)
