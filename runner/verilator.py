"""The "verilator" backend: a job on a Verilator `--binary` build of the full NPU, no cocotb.

The simulation is tb/sv/npu_bench_top.sv: npu_tb_top (the NPU, the DRAM model, the clock) with
its host written in SystemVerilog. Python stays entirely off the simulation: it writes the
DRAM image (a `$readmemh` file of the image's non-zero extent), a host script of AXI4-Lite
register accesses (offsets and values from hwdef/regs.py, in the order tb/top/env.py's host
uses), launches the binary with plusargs for the DRAM model and the timeout, and reads back the
result file (registers, observation counters) and the DRAM dump of the outputs.

The outcome holds the same fields as the cocotb "rtl" backend's (done, error, error_pc,
error_info, every counter, the wrapper's observations, the outputs); with
`job.check_with_model` the run is scored against the instruction-level model as the cocotb
scoreboard scores it (tb/top/env.py NpuScoreboard), and a difference raises AssertionError.

The build is made once per parameter set, like the cocotb builds (tb/harness/sim.py): its own
hashed directory under sim_build/ (`npu_bench_top-<config>-<hash>`), a lock so concurrent
launchers build it once, and a stamp of the command and the sources' contents so an unchanged
build is reused without calling Verilator. Runs get their own directory inside the build.

Not supported (refused with a one-line ValueError): toggle coverage (`job.toggle_coverage`)
and the reset-bug hunt (NPU_X_UNIQUE=1: random initial values would break the zero starting
state the model assumes, which this backend gets from --x-initial fast, not from VPI writes).
There is no batch mode: every job is one launch of the binary (start-up costs milliseconds).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

from hwdef import load_config, regs
from runner.job import Job, Outcome
from runner.rtl import _build_params

TOPLEVEL = "npu_bench_top"
BACKEND = "verilator"
BENCH_TOP = Path(__file__).resolve().parents[1] / "tb" / "sv" / "npu_bench_top.sv"
# The cocotb builds' simulation flags (tb/harness/sim.py: fast X handling, assertions on) with
# --binary instead of cocotb's VPI library; --x-initial fast also gives the zero starting state
# of DRAM, scratchpad and accumulators (tb/sv/npu_bench_top.sv, theory of operation 2). The
# bench's one delay computed at run time (the interrupt timeout) is never zero, which
# --no-sched-zero-delay promises Verilator.
BUILD_ARGS = ["--binary", "--timing", "-O3", "--x-assign", "fast", "--x-initial", "fast",
              "--assert", "--timescale", "1ns/1ps", "--no-sched-zero-delay"]
# Lines of a simulation log that say why it stopped (besides the RTL's assertion tag):
# Verilator's own reports of $error, $fatal and $stop.
_FAILURE_MARKS = ("%Error", "%Fatal")


def build_params(job: Job) -> dict[str, object]:
    """The -G parameters: exactly those of the cocotb build of the same job."""
    params: dict[str, object] = dict(load_config(job.config).sv_params("npu_tb_top"))
    params.update(_build_params(job))
    return params


def build_dir_for_job(job: Job) -> Path:
    from tb.harness.sim import build_dir_for
    from tb.top.env import EXTRA_SOURCES
    return build_dir_for(TOPLEVEL, job.config, build_params(job),
                         extra_sources=[*EXTRA_SOURCES, BENCH_TOP])


def build(job: Job) -> Path:
    """The simulation binary of *job*'s configuration and DRAM size (built if needed)."""
    from tb.harness.sim import SIM_BUILD
    from tb.top.env import EXTRA_SOURCES
    from tools.rtl_sources import RTL_INCLUDE_DIR, rtl_sources
    from tools.verilator_env import CXX_TIMING_FLAGS, setup_environment, verilator_binary

    setup_environment()     # PATH/VERILATOR_ROOT, make's PCH flag, ccache
    build_dir = build_dir_for_job(job)
    binary = build_dir / f"V{TOPLEVEL}"
    sources = [*rtl_sources(), *EXTRA_SOURCES, BENCH_TOP]
    cmd = [verilator_binary(), *BUILD_ARGS, *CXX_TIMING_FLAGS, "--top-module", TOPLEVEL,
           "-Mdir", str(build_dir), "--build-jobs", str(os.cpu_count() or 1),
           f"-I{RTL_INCLUDE_DIR}"]
    cmd += [f"-G{name}={value}" for name, value in build_params(job).items()]
    cmd += [str(p) for p in sources]
    digest = hashlib.sha1(json.dumps(cmd).encode())
    for path in [*sources, *sorted(RTL_INCLUDE_DIR.glob("*.svh"))]:
        digest.update(path.read_bytes())
    stamp = build_dir / "build.stamp"
    SIM_BUILD.mkdir(parents=True, exist_ok=True)
    with open(SIM_BUILD / f"{build_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
            return binary
        build_dir.mkdir(parents=True, exist_ok=True)
        stamp.unlink(missing_ok=True)
        log = build_dir / "build.log"
        with open(log, "w") as out:
            out.write(" ".join(cmd) + "\n")
            out.flush()
            done = subprocess.run(cmd, cwd=build_dir, stdout=out, stderr=subprocess.STDOUT)
        if done.returncode != 0 or not binary.exists():
            raise RuntimeError(f"Verilator build of {TOPLEVEL} ({job.config}) failed; "
                               f"log: {log}")
        stamp.write_text(digest.hexdigest())
    return binary


def host_script(job: Job) -> str:
    """The host's register accesses for *job* (tb/sv/npu_bench_top.sv, theory of operation 3):
    tb/top/env.py's RunProgramSeq, the wait for the interrupt, CompletionMonitor's reads,
    the observation counters, the interrupt's clear."""
    if job.reset_only:
        return ""
    base, size = job.dram_window if job.dram_window else (0, int(job.mem_bytes))  # type: ignore
    ctrl = regs.CTRL_START | regs.CTRL_IRQ_EN | (regs.CTRL_STRICT if job.strict else 0)

    def write(name: str, value: int) -> str:
        return f"W {regs.BY_NAME[name].offset:02x} {value & 0xFFFF_FFFF:08x} // {name}"

    def read(name: str) -> str:
        return f"R {regs.BY_NAME[name].offset:02x} // {name}"

    lines = [write("PROG_BASE", job.prog_base), write("DRAM_BASE", base),
             write("DRAM_SIZE", size), write("WATCHDOG", job.watchdog), write("CTRL", ctrl),
             "I // wait for the interrupt",
             read("STATUS"), read("ERROR_PC"), read("ERROR_INFO")]
    lines += [read(name) for name in regs.COUNTERS]
    lines += ["O // the wrapper's observation counters", write("IRQ_STATUS", 1)]
    return "\n".join(lines) + "\n"


def _dump_words(job: Job, line_bytes: int) -> tuple[int, int] | None:
    """First and last DRAM word of one dump covering every output (None: nothing to read)."""
    regions = [(a, n) for a, n in job.outputs.values() if n > 0]
    if not regions:
        return None
    first = min(a for a, _ in regions) // line_bytes
    last = (max(a + n for a, n in regions) - 1) // line_bytes
    return first, last


def _image_file(job: Job, line_bytes: int) -> str | None:
    """$readmemh text of the image's non-zero extent, whole words (None: an all-zero image)."""
    from tb.harness.dram import hex_image
    nonzero = np.flatnonzero(job.image)
    if not nonzero.size:
        return None
    start = int(nonzero[0]) // line_bytes * line_bytes
    end = -(-(int(nonzero[-1]) + 1) // line_bytes) * line_bytes
    padded = np.zeros(end - start, dtype=np.uint8)
    data = job.image[start:end]
    padded[:data.size] = data
    return hex_image(padded, start // line_bytes, line_bytes)


def default_wall_limit(job: Job) -> float:
    """Wall-clock seconds after which a run is killed: far beyond any configuration's speed
    (1,000 cycles/s) for the job's whole cycle timeout, plus start-up."""
    return 60.0 + job.timeout_cycles / 1_000


def run_verilator(job: Job, tag: str = "", wall_limit_s: float | None = None) -> Outcome:
    """Run *job* in one launch of the binary of its configuration (built once); raises
    AssertionError if the NPU does not interrupt within job.timeout_cycles, if the simulation
    stops early (an RTL assertion, a bus timeout) or runs beyond *wall_limit_s* seconds (default
    `default_wall_limit`), and, with job.check_with_model, if it differs from the model. The
    *tag* names the run directory (outcome.run_dir); each run gets a new one. Without
    job.check_with_model the outcome is returned whatever it is, errors included (the cocotb
    backend's scoreboard then still demands a clean finish)."""
    from tb.harness.sim import new_run_dir

    if job.toggle_coverage:
        raise ValueError("the verilator backend has no toggle coverage: use backend='rtl'")
    if os.environ.get("NPU_X_UNIQUE") == "1":
        raise ValueError("NPU_X_UNIQUE=1: the verilator backend's zero starting state needs "
                         "--x-initial fast; hunt reset bugs with backend='rtl'")
    cfg = load_config(job.config)
    lb = cfg.line_bytes
    binary = build(job)
    start = time.perf_counter()
    run_dir = new_run_dir(binary.parent, f"{BACKEND}-{tag or job.digest()}")
    job.save(run_dir)
    (run_dir / "host.txt").write_text(host_script(job))
    plusargs = [f"+npu_host={run_dir / 'host.txt'}", f"+npu_result={run_dir / 'result.txt'}",
                f"+npu_max_cycles={job.timeout_cycles}",
                f"+npu_dram_lat_min={job.dram_latency}",
                f"+npu_dram_lat_max={job.dram_latency_max}",
                f"+npu_dram_bytes_per_cycle={job.dram_bytes_per_cycle}",
                f"+npu_dram_seed={job.dram_seed}"]
    image = _image_file(job, lb)
    if image is not None:
        (run_dir / "load.hex").write_text(image)
        plusargs.append(f"+NPU_DRAM_LOAD={run_dir / 'load.hex'}")
    dump = None if job.reset_only else _dump_words(job, lb)
    if dump is not None:
        plusargs += [f"+NPU_DRAM_DUMP={run_dir / 'dump.hex'}", f"+npu_dump_first={dump[0]:x}",
                     f"+npu_dump_last={dump[1]:x}"]
    if job.trace:
        plusargs.append(f"+npu_trace={run_dir / 'trace.txt'}")
    cmd = [str(binary), *plusargs]
    (run_dir / "command.txt").write_text(" ".join(cmd) + "\n")
    log = run_dir / "sim.log"
    limit = default_wall_limit(job) if wall_limit_s is None else wall_limit_s
    checked = job.check_with_model and not job.reset_only
    with open(log, "w") as out:
        sim = subprocess.Popen(cmd, cwd=run_dir, stdout=out, stderr=subprocess.STDOUT)
        try:
            # The model runs here while the simulator runs in its own process: on two cores
            # the check costs no wall time unless the model is the slower of the two.
            expected = None
            if checked:
                from runner.model import run_model
                expected = run_model(job)
            returncode = sim.wait(timeout=max(1e-3, limit - (time.perf_counter() - start)))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{TOPLEVEL} ({job.config}) still running after {limit:.0f} s "
                                 f"of wall-clock time, killed; log: {log}") from None
        finally:
            if sim.poll() is None:
                sim.kill()
                sim.wait()
    result = _parse_result(run_dir / "result.txt")
    _raise_if_failed(job, returncode, result, log)
    outcome = _outcome(job, result, run_dir, dump, lb)
    outcome.wall_s = time.perf_counter() - start
    outcome.save(run_dir)
    if expected is not None:
        problems = model_mismatches(job, outcome, expected)
        if problems:
            raise AssertionError(f"{TOPLEVEL} ({job.config}) differs from the model:\n  "
                                 + "\n  ".join(problems) + f"\nrun: {run_dir}")
    return outcome


def _parse_result(path: Path) -> dict:
    """The result file's contents: registers read (offset -> value), observations (port ->
    value), the interrupt wait, the cycle count, and whether it is complete."""
    result: dict = {"regs": {}, "obs": {}, "end": False}
    if not path.exists():
        return result
    for line in path.read_text().splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "R":
            result["regs"][int(words[1], 16)] = int(words[2], 16)
        elif words[0] == "obs":
            result["obs"][words[1]] = int(words[2], 16)
        elif words[0] in ("irq", "hang", "cycle"):
            result[words[0]] = int(words[1])
        elif words[0] in ("busy", "fatal"):
            result[words[0]] = line.split(None, 1)[1]
        elif words[0] == "end":
            result["end"] = True
    return result


def _raise_if_failed(job: Job, returncode: int, result: dict, log: Path) -> None:
    """AssertionError for a simulation that stopped early (an RTL assertion, the host's
    $fatal) or went on after an RTL assertion, or a NPU that never interrupted."""
    from tb.harness.sim import ASSERT_TAG
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    marked = [ln.strip() for ln in text if any(m in ln for m in (ASSERT_TAG, *_FAILURE_MARKS))]
    if returncode != 0 or not result["end"]:
        reason = ("\n  ".join(marked[:5]) if marked
                  else f"exit code {returncode} before its result was complete")
        raise AssertionError(f"simulation of {TOPLEVEL} ({job.config}) stopped: {reason}"
                             f"\nlog: {log}")
    if any(ASSERT_TAG in ln for ln in marked):   # only if it went on after an assertion
        raise AssertionError(f"RTL assertion failed in the simulation of {TOPLEVEL} "
                             f"({job.config}):\n  " + "\n  ".join(marked[:5]) + f"\nlog: {log}")
    if "hang" in result:
        status = regs.status_fields(result["regs"].get(regs.BY_NAME["STATUS"].offset, 0))
        raise AssertionError(f"NPU did not interrupt within {job.timeout_cycles} cycles (STATUS "
                             f"{status}, engines busy 0b{result.get('busy', '?')}): the "
                             f"watchdog should have stopped it; log: {log}")


def _outcome(job: Job, result: dict, run_dir: Path, dump: tuple[int, int] | None,
             line_bytes: int) -> Outcome:
    from tb.harness.dram import parse_hex
    from tb.top.env import OBSERVED
    outcome = Outcome(backend=BACKEND, done=False, error=None, run_dir=str(run_dir))
    if job.trace and (run_dir / "trace.txt").exists():
        outcome.trace_path = str(run_dir / "trace.txt")
    if job.reset_only:
        return outcome
    got = result["regs"]

    def reg(name: str) -> int:
        return got[regs.BY_NAME[name].offset]

    status = regs.status_fields(reg("STATUS"))
    outcome.done = bool(status["done"])
    if status["error"]:
        code = status["error_code"]
        known = code in regs.ErrorCode._value2member_map_
        outcome.error = regs.ErrorCode(code).name if known else f"CODE_{code}"
    outcome.error_pc, outcome.error_info = reg("ERROR_PC"), reg("ERROR_INFO")
    outcome.counters = {name: reg(name) for name in regs.COUNTERS}
    outcome.observed = {name: result["obs"][port] for name, port in OBSERVED.items()}
    data, first = np.zeros(0, np.uint8), 0
    if dump is not None:
        data = parse_hex((run_dir / "dump.hex").read_text(), line_bytes)
        first = dump[0] * line_bytes
        if data.size != (dump[1] + 1) * line_bytes - first:
            raise AssertionError(f"{run_dir / 'dump.hex'}: {data.size} bytes, expected "
                                 f"{(dump[1] + 1) * line_bytes - first}")
    for name, (addr, nbytes) in job.outputs.items():
        outcome.outputs[name] = (data[addr - first:addr - first + nbytes].copy() if nbytes
                                 else np.zeros(0, np.uint8))
    return outcome


def model_mismatches(job: Job, rtl: Outcome, model: Outcome) -> list[str]:
    """How *rtl* differs from the model's outcome of the same job, scored as the cocotb
    scoreboard (tb/top/env.py NpuScoreboard) scores it: a clean model run needs a clean RTL run
    with the counters the model reproduces (runner/model.py: INSN_RETIRED, DRAM_WRITE_BYTES,
    VECTOR_FLAGS) equal; a model error needs the same code, then ERROR_PC, then ERROR_INFO;
    every output is compared byte for byte either way."""
    problems = []
    if model.error is None:
        if rtl.error is not None or not rtl.done:
            problems.append(f"expected a clean run, got {rtl.error or 'not done'} (pc "
                            f"0x{rtl.error_pc:x}, info 0x{rtl.error_info:x})")
        problems += [f"{name} {rtl.counters.get(name)} != {want} of the model"
                     for name, want in model.counters.items() if rtl.counters.get(name) != want]
    else:
        from runner.scoring import error_mismatch
        problem = error_mismatch(model.error, model.error_pc, model.error_info, rtl.error,
                                 rtl.error_pc, rtl.error_info)
        if problem:
            problems.append(problem)
    for name, (_, nbytes) in job.outputs.items():
        got, want = rtl.outputs.get(name), model.outputs[name]
        if got is None or got.shape != want.shape:
            problems.append(f"output {name} was not read back")
            continue
        bad = np.flatnonzero(got != want)
        if bad.size:
            problems.append(f"output {name}: {bad.size} of {nbytes} bytes differ, first at "
                            f"+{bad[0]} (got {got[bad[0]]}, want {want[bad[0]]})")
    return problems
