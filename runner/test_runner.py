"""The runner: one job on the model and on the RTL gives the same outputs, errors and
retired count; jobs and outcomes survive their round trip through files."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_gen import Program
from hwdef import load_config
from npu_model.attention import gaussian_inputs
from runner import Job, Outcome, run
from runner.attention import calibrated, check_attention
from scheduler import Workload, build_schedule


def _attention(strategy: str, seed: int = 5):
    wl = Workload(19, 27, 16, heads=2, causal=True)
    rng = np.random.default_rng(seed)
    (q, k, v), scales = gaussian_inputs(rng, wl.heads_total, wl.seq_q, wl.seq_kv, wl.head_dim)
    sched = build_schedule(calibrated(wl, scales, q, k, v), load_config("tiny"), strategy)
    return sched, (q, k, v)


def _bad_program() -> Job:
    """A MATMUL whose A operand runs past the scratchpad: SPAD_RANGE at the second insn."""
    prog = Program()
    prog.nop()
    prog.matmul(a_addr=0xFFF0, a_pitch=1, rows=4, b_addr=0, b_pitch=1, k_tiles=1, n_tiles=1)
    prog.halt()
    return Job.for_program("tiny", prog.words, prog_base=0x1000)


@pytest.mark.parametrize("strategy", ["flat", "serial", "mas"])
def test_model_backend_is_bit_exact(strategy):
    sched, (q, k, v) = _attention(strategy)
    outcome = run(Job.for_schedule(sched, q, k, v), backend="model")
    assert outcome.ok and outcome.counters["INSN_RETIRED"] == len(sched.words)
    assert outcome.work["macs"] == sched.work.macs > 0
    assert check_attention(sched, outcome.outputs["O"], q, k, v).bit_exact


def test_model_backend_reports_errors_with_their_address():
    outcome = run(_bad_program(), backend="model")
    assert not outcome.ok and outcome.error == "SPAD_RANGE"
    assert outcome.error_pc == 0x1000 + 32


def test_job_and_outcome_round_trip(tmp_path):
    sched, (q, k, v) = _attention("mas")
    job = Job.for_schedule(sched, q, k, v, trace=True)
    job.save(tmp_path)
    again = Job.load(tmp_path)
    assert np.array_equal(again.image, job.image)
    assert {f: getattr(again, f) for f in vars(job) if f != "image"} == \
        {f: getattr(job, f) for f in vars(job) if f != "image"}
    outcome = run(job, backend="model")
    outcome.save(tmp_path)
    back = Outcome.load(tmp_path)
    assert {f: getattr(back, f) for f in vars(outcome) if f != "outputs"} == \
        {f: getattr(outcome, f) for f in vars(outcome) if f != "outputs"}
    assert back.outputs.keys() == outcome.outputs.keys()
    assert np.array_equal(back.outputs["O"], outcome.outputs["O"])
    # NumPy integers (a user's prog_base, say) are written as plain numbers
    numpy_ints = Job.for_schedule(sched, q, k, v, watchdog=np.int64(5))
    numpy_ints.save(tmp_path / "np")
    assert Job.load(tmp_path / "np").watchdog == 5
    assert numpy_ints.digest() == Job.load(tmp_path / "np").digest() != job.digest()


@pytest.mark.parametrize("change, message", [
    ({"prog_base": 0x1010}, "prog_base 0x1010: must be a multiple of 32"),
    ({"outputs": {"O": (1 << 24, 64)}}, "O (0x1000000, 64 bytes): outside"),
    ({"dram_window": (0, 1 << 30)}, "dram_window (0x0, 1073741824 bytes): outside"),
    ({"image": np.zeros(4, np.int8)}, "job image: expected a 1-D uint8 array"),
    ({"config": "huge"}, "unknown configuration 'huge'"),
    ({"dram": "fast"}, "dram 'fast': use one of config, unlimited"),
    ({"dram_bytes_per_cycle": 1 << 16}, "dram_bytes_per_cycle 65536: need 0..65535"),
])
def test_bad_jobs_are_refused_before_any_run(change, message):
    job = _bad_program()
    fields = {f: getattr(job, f) for f in vars(job)}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Job(**dict(fields, **change))


def test_job_takes_the_configurations_dram_unless_told():
    """Every run uses the configuration's DRAM (hwdef); "unlimited" is the model before the
    bandwidth limit; explicit fields (the random programs draw their own) win, 0 = unlimited."""
    image = np.zeros(64, np.uint8)
    assert (Job("default", image).dram_bytes_per_cycle, Job("default", image).dram_latency) \
        == (16, 100)
    assert (Job("small", image).dram_bytes_per_cycle, Job("tiny", image).dram_bytes_per_cycle) \
        == (8, 4)
    free = Job("default", image, dram="unlimited")
    assert (free.dram_bytes_per_cycle, free.dram_latency, free.dram_latency_max) == (0, 20, 20)
    own = Job("default", image, dram_bytes_per_cycle=0, dram_latency=7)
    assert (own.dram_bytes_per_cycle, own.dram_latency) == (0, 7)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend 'fpga'"):
        run(_bad_program(), backend="fpga")


@pytest.mark.sim
def test_rtl_and_model_agree():
    """The same jobs on both backends: bit-exact attention (scored against the model inside
    the simulation as well), and the same error at the same address."""
    sched, (q, k, v) = _attention("mas")
    job = Job.for_schedule(sched, q, k, v)
    rtl, model = run(job, "rtl", tag="pytest-attention"), run(job, "model")
    assert rtl.ok and rtl.cycles and rtl.cycles > 0
    assert rtl.counters["INSN_RETIRED"] == model.counters["INSN_RETIRED"]
    assert np.array_equal(rtl.outputs["O"], model.outputs["O"])
    assert check_attention(sched, rtl.outputs["O"], q, k, v).bit_exact
    bad = _bad_program()
    rtl, model = run(bad, "rtl", tag="pytest-error"), run(bad, "model")
    assert (rtl.error, rtl.error_pc, rtl.error_info) == \
        (model.error, model.error_pc, model.error_info) == ("SPAD_RANGE", 0x1020, 0xFFF0 + 3)
