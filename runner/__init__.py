"""Run a program on the NPU: the RTL in Verilator or the instruction-level model, one API.

    from runner import Job, run
    job = Job.for_schedule(sched, q, k, v)         # or Job(config=..., image=..., ...)
    outcome = run(job, backend="rtl")              # or "verilator", or "model"
    outcome.status, outcome.counters, outcome.outputs["O"], outcome.trace_path

A `Job` is everything a run needs (configuration, DRAM image, where the program starts, the
DRAM regions to read back, strict mode, watchdog, DRAM model settings, what to record). An
`Outcome` is everything it gave (status and error registers, every counter, the outputs, the
run directory with its trace and toggle coverage). The RTL backend launches one simulation of
the shared npu_tb_top build (runner/cocotb_job.py runs inside it; no per-cycle Python); the
verilator backend runs the same RTL as a Verilator binary with its host in SystemVerilog (no
cocotb, no VPI: runner/verilator.py); the model backend runs npu_model.executor in this
process. Tests, `make sim` and the bench share
this path instead of subclassing each other's test classes.
"""

from __future__ import annotations

from runner.job import Job, Outcome


def run(job: Job, backend: str = "rtl", tag: str = "") -> Outcome:
    """Run *job* on the "rtl" (cocotb on Verilator), the "verilator" (a Verilator binary, no
    cocotb; the same outcome) or the "model" backend. Both RTL backends check the run against
    the model unless the job says otherwise."""
    if backend == "model":
        from runner.model import run_model
        return run_model(job)
    if backend == "rtl":
        from runner.rtl import run_rtl
        return run_rtl(job, tag=tag)
    if backend == "verilator":
        from runner.verilator import run_verilator
        return run_verilator(job, tag=tag)
    raise ValueError(f"unknown backend {backend!r}; choose 'rtl', 'verilator' or 'model'")


__all__ = ["Job", "Outcome", "run"]
