"""The "verilator" backend (runner/verilator.py, tb/sv/npu_bench_top.sv): the same job gives the
same outcome as the cocotb "rtl" backend, errors included; a hang, a stuck simulator, an early
stop and a difference from the model are all reported, never waited out."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_gen import Program
from hwdef import isa, load_config, regs
from hwdef.params import VecOp
from runner import Job, Outcome, run
from runner import verilator as backend
from runner.attention import check_attention
from runner.test_runner import _attention, _bad_program

# Every field the cocotb backend fills from the simulation.
FIELDS = ("done", "error", "error_pc", "error_info", "counters", "observed")


def _relative_trace(path: str) -> list[str]:
    """The trace's lines with every cycle counted from START (the two backends start at
    different cycles of the wrapper's free-running count)."""
    lines = open(path).read().split("\n")
    start = next(int(line.split()[1]) for line in lines if line.startswith("start "))
    out = []
    for line in filter(None, lines):
        words = line.split()
        at = 1 if words[0] in ("start", "done", "take", "retire") else 0
        words[at] = str(int(words[at]) - start)
        out.append(" ".join(words))
    return out


def _hung_program() -> Program:
    """A VECTOR waiting for a semaphore nobody signals (tb/top/test_faults.py HangTimeoutTest)."""
    prog = Program()
    prog.vector(wait=[5], op=VecOp.COPY, a_addr=0, a_pitch=1, dst_addr=16, dst_pitch=1, rows=1,
                row_len=4)
    prog.halt()
    return prog


# ---- no simulation --------------------------------------------------------------------------
def test_host_script_is_the_cocotb_hosts_sequence_from_the_register_map():
    job = Job.for_program("tiny", [0] * 4, prog_base=0x40, strict=True, watchdog=77,
                          dram_window=(0x20, 0x1000))
    lines = [line.split("//")[0].split() for line in backend.host_script(job).splitlines()]
    off = {name: f"{r.offset:02x}" for name, r in regs.BY_NAME.items()}
    ctrl = regs.CTRL_START | regs.CTRL_IRQ_EN | regs.CTRL_STRICT
    assert lines[:6] == [["W", off["PROG_BASE"], "00000040"], ["W", off["DRAM_BASE"], "00000020"],
                         ["W", off["DRAM_SIZE"], "00001000"], ["W", off["WATCHDOG"], "0000004d"],
                         ["W", off["CTRL"], f"{ctrl:08x}"], ["I"]]
    reads = ["STATUS", "ERROR_PC", "ERROR_INFO", *regs.COUNTERS]
    assert lines[6:-2] == [["R", off[name]] for name in reads]
    assert lines[-2:] == [["O"], ["W", off["IRQ_STATUS"], "00000001"]]
    assert backend.host_script(Job("tiny", np.zeros(0, np.uint8), reset_only=True)) == ""
    # without a window, the whole DRAM model
    whole = Job.for_program("tiny", [0] * 4)
    assert f"W {off['DRAM_SIZE']} {load_config('tiny').dram_bytes:08x}" in \
        backend.host_script(whole)


def test_outputs_are_read_in_one_dump_of_whole_words():
    job = Job.for_program("tiny", [0] * 4, outputs={"a": (0x105, 3), "b": (0x1f0, 0x11),
                                                    "none": (0x5000, 0)})
    assert backend._dump_words(job, 16) == (0x10, 0x20)
    assert backend._dump_words(Job.for_program("tiny", [0] * 4), 16) is None


def test_model_mismatches_score_like_the_cocotb_scoreboard():
    job = Job.for_program("tiny", [0] * 4, outputs={"O": (0x100, 4)})
    data = np.arange(4, dtype=np.uint8)

    def outcome(error=None, pc=0, info=0, retired=5, out=data) -> Outcome:
        return Outcome("x", done=error is None, error=error, error_pc=pc, error_info=info,
                       counters={"INSN_RETIRED": retired, "DRAM_WRITE_BYTES": 4,
                                 "VECTOR_FLAGS": 0}, outputs={"O": out.copy()})

    same = backend.model_mismatches
    assert same(job, outcome(), outcome()) == []
    assert same(job, outcome(retired=6), outcome()) == ["INSN_RETIRED 6 != 5 of the model"]
    assert same(job, outcome("SPAD_RANGE"), outcome())[0].startswith("expected a clean run")
    assert "expected SPAD_RANGE" in same(job, outcome(), outcome("SPAD_RANGE"))[0]
    assert same(job, outcome("SPAD_RANGE", 8, 1), outcome("SPAD_RANGE", 8, 2)) == \
        ["expected error info 0x2 (SPAD_RANGE), got 0x1"]
    assert same(job, outcome("SPAD_RANGE", 4, 1), outcome("SPAD_RANGE", 8, 2)) == \
        ["expected error pc 0x8, got 0x4"]
    # counters are not compared after an error (the other queues may have run on), outputs are
    assert same(job, outcome("SPAD_RANGE", retired=9), outcome("SPAD_RANGE")) == []
    bad = data.copy()
    bad[2] ^= 1
    assert same(job, outcome(out=bad), outcome()) == \
        ["output O: 1 of 4 bytes differ, first at +2 (got 3, want 2)"]


def test_toggle_coverage_is_refused_before_any_build():
    job = Job.for_program("tiny", [0] * 4, toggle_coverage=True)
    with pytest.raises(ValueError, match="no toggle coverage"):
        run(job, backend="verilator")


# ---- simulations ----------------------------------------------------------------------------
@pytest.mark.sim
def test_verilator_and_cocotb_backends_give_the_same_outcome():
    """An attention schedule (scored against the model by both) and an error program: every
    field, counter, observation, output byte, and the activity trace, are the same."""
    sched, (q, k, v) = _attention("mas")
    job = Job.for_schedule(sched, q, k, v, trace=True)
    fast, rtl = run(job, "verilator", tag="pytest-attention"), run(job, "rtl", tag="pytest-pure")
    assert fast.backend == "verilator" and fast.ok and fast.cycles and fast.cycles > 0
    assert {f: getattr(fast, f) for f in FIELDS} == {f: getattr(rtl, f) for f in FIELDS}
    assert fast.outputs.keys() == rtl.outputs.keys() == {"O"}
    assert np.array_equal(fast.outputs["O"], rtl.outputs["O"])
    assert check_attention(sched, fast.outputs["O"], q, k, v).bit_exact
    assert fast.trace_path and rtl.trace_path
    assert _relative_trace(fast.trace_path) == _relative_trace(rtl.trace_path)
    bad = _bad_program()
    fast, rtl = run(bad, "verilator", tag="pytest-error"), run(bad, "rtl", tag="pytest-pure-error")
    assert {f: getattr(fast, f) for f in FIELDS} == {f: getattr(rtl, f) for f in FIELDS}
    assert (fast.error, fast.error_pc, fast.error_info) == ("SPAD_RANGE", 0x1020, 0xFFF0 + 3)


@pytest.mark.sim
def test_a_run_starts_from_zero_dram_scratchpad_and_accumulators():
    """What define_state does for the cocotb host, a fresh binary gets from --x-initial fast:
    a MATMUL that adds onto the accumulators gives A·Bᵀ, a DMA-out of scratchpad lines nothing
    wrote stores zeros, and DRAM beyond the image reads zero (on the model as well)."""
    cfg = load_config("tiny")
    dim, lb, rl = cfg.array_dim, cfg.line_bytes, cfg.spad_region_lines
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (dim, dim), dtype=np.int8)
    bt = rng.integers(-128, 128, (dim, dim), dtype=np.int8)
    A, B, C, S, Z = 0x1000, 0x1100, 0x2000, 0x2100, 0x3000
    prog = Program()
    prog.dma_load(dram_addr=A, dram_stride=dim, rows=dim, row_bytes=dim, spad_addr=0,
                  spad_pitch=1, signal=[0])
    prog.dma_load(dram_addr=B, dram_stride=dim, rows=dim, row_bytes=dim, spad_addr=2 * rl,
                  spad_pitch=1, signal=[1])
    prog.matmul(wait=[0, 1], a_addr=0, a_pitch=1, rows=dim, b_addr=2 * rl, b_pitch=1,
                k_tiles=1, n_tiles=1, transpose=1, a_signed=1, accumulate=1, emit=1,
                dst_addr=4 * rl, dst_pitch=1, signal=[2])
    prog.dma_store(wait=[2], dram_addr=C, dram_stride=lb, rows=dim, row_bytes=dim * 4,
                   spad_addr=4 * rl, spad_pitch=1)
    prog.dma_store(dram_addr=S, dram_stride=lb, rows=4, row_bytes=lb, spad_addr=8 * rl,
                   spad_pitch=1)
    prog.halt()
    data = np.zeros(B + bt.size, np.uint8)
    data[A:A + a.size] = a.view(np.uint8).reshape(-1)
    data[B:B + bt.size] = bt.view(np.uint8).reshape(-1)
    job = Job.for_program("tiny", prog.words, data=data,
                          outputs={"C": (C, dim * dim * 4), "spad": (S, 4 * lb),
                                   "dram": (Z, 4 * lb)})
    outcome = run(job, "verilator", tag="pytest-zero")      # also scored against the model
    c = outcome.outputs["C"].view("<i4").reshape(dim, dim)
    assert np.array_equal(c, a.astype(np.int64) @ bt.T.astype(np.int64))
    assert not outcome.outputs["spad"].any() and not outcome.outputs["dram"].any()


@pytest.mark.sim
def test_watchdog_deadlock_is_reported_with_its_info():
    """The sequential model has no semaphores: the DEADLOCK verdict is tb/top/test_npu_top.py
    DeadlockTest's (ERROR_INFO: the awaited semaphore, bit 5, and the blocked queue)."""
    job = Job.for_program("tiny", _hung_program().words, watchdog=2000, check_with_model=False)
    outcome = run(job, "verilator", tag="pytest-deadlock")
    info = 1 << int(isa.Queue.VECTOR) << 16 | 1 << 5
    assert (outcome.error, outcome.error_pc, outcome.error_info) == ("DEADLOCK", 0, info)


@pytest.mark.sim
def test_a_hang_is_reported_not_waited_out():
    """No interrupt within the job's timeout (watchdog at its maximum): AssertionError naming
    STATUS (busy) and the busy engines, after timeout_cycles simulated cycles; a simulation
    still running at the wall-clock limit is killed with an AssertionError too."""
    hung = Job.for_program("tiny", _hung_program().words, watchdog=0xFFFF_FFFF,
                           timeout_cycles=20_000, check_with_model=False)
    with pytest.raises(AssertionError, match="did not interrupt within 20000 cycles") as err:
        run(hung, "verilator", tag="pytest-hang")
    # the VECTOR waits at its queue's head: no engine runs
    assert "'busy': 1" in str(err.value) and "engines busy 0b0000" in str(err.value)
    forever = Job.for_program("tiny", _hung_program().words, watchdog=0xFFFF_FFFF,
                              timeout_cycles=10 ** 12, check_with_model=False)
    with pytest.raises(AssertionError, match="still running after 1 s of wall-clock time"):
        backend.run_verilator(forever, tag="pytest-wall", wall_limit_s=1.0)


@pytest.mark.sim
def test_a_simulation_that_stops_early_is_reported(monkeypatch):
    """The SystemVerilog host stops with $fatal on a script it cannot run (as on a bus
    timeout): an AssertionError quotes it and names the log."""
    monkeypatch.setattr(backend, "host_script", lambda job: "W 08\n")
    with pytest.raises(AssertionError, match=r"stopped: .*W needs an offset and a value"):
        run(_bad_program(), "verilator", tag="pytest-fatal")


@pytest.mark.sim
def test_a_difference_from_the_model_is_an_error(monkeypatch):
    """The run is scored against the model's outcome: a model that disagrees (here made to)
    on one output byte, or on the retired count, fails the run with the difference named."""
    import runner.model
    sched, (q, k, v) = _attention("mas")
    job = Job.for_schedule(sched, q, k, v)
    real = runner.model.run_model

    def corrupt(change):
        def model(job):
            outcome = real(job)
            change(outcome)
            return outcome
        monkeypatch.setattr(runner.model, "run_model", model)

    def flip(outcome):
        outcome.outputs["O"][7] ^= 0x10

    corrupt(flip)
    with pytest.raises(AssertionError, match=r"differs from the model:\n  output O: 1 of \d+ "
                                             r"bytes differ, first at \+7"):
        run(job, "verilator", tag="pytest-mismatch")
    corrupt(lambda outcome: outcome.counters.update(INSN_RETIRED=1))
    with pytest.raises(AssertionError, match=f"INSN_RETIRED {len(sched.words)} != 1"):
        run(job, "verilator", tag="pytest-mismatch")
    monkeypatch.setattr(runner.model, "run_model", real)
    assert run(job, "verilator", tag="pytest-mismatch").ok
