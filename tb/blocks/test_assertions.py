"""The RTL's assertions fire, and a fired assertion fails the test with its message.

Every Verilator build of the project checks the assertions in rtl/ (`--assert`,
rtl/include/npu_assert.svh). These tests prove that the chain works end to end on the
scratchpad's port protocol (npu_scratchpad_core: a request is held, unchanged, until
req_ready takes it):

* `legal_conflict`: two ports read the same bank; the loser keeps its request presented until
  it is granted. No assertion fires and the run passes (so the harness does not fail every
  run that merely contains assertions).
* `withdraw_request`: the same conflict, but the loser drops req_valid before its grant:
  SpadReqHeld_A must fire and the pytest run must fail with that assertion's message.
* `change_request`: the loser changes its address before its grant: SpadReqStable_A must fire.
* `python_check_fails`: no RTL assertion, a failed check in the cocotb test itself: the pytest
  run must fail naming that test, its message and the seed that reproduces it (cocotb's
  runner alone ends with a bare sys.exit(1) under pytest).

Each cocotb test runs in its own simulation (test_filter + run tag) on the scratchpad block
bench's build (same top level and parameters, so no extra build).
"""

from __future__ import annotations

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from hwdef import load_config
from tb.harness.cocotb_utils import CLOCK_PERIOD_NS
from tb.harness.sim import run_cocotb

TOPLEVEL = "npu_scratchpad"
CONFIG = "tiny"


async def _setup(dut) -> None:
    cocotb.start_soon(Clock(dut.clk_i, CLOCK_PERIOD_NS, unit="ns").start())
    for name in ("strict_i", "stat_clear_i", "req_valid_i", "req_write_i", "req_addr_i",
                 "req_wdata_i", "req_wstrb_i", "req_readers_i", "req_last_use_i"):
        getattr(dut, name).value = 0
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, 3)
    dut.rst_ni.value = 1
    await RisingEdge(dut.clk_i)


async def _conflict(dut, misbehave: str) -> None:
    """Ports 0 and 1 read two lines of bank 0 in the same cycle; the port that loses the bank
    then keeps its request (misbehave == ""), withdraws it ("withdraw") or changes its address
    ("change")."""
    await _setup(dut)
    addr_bits = len(dut.req_addr_i) // len(dut.req_valid_i)
    lines = (3, 5)   # both in bank 0
    dut.req_addr_i.value = lines[0] | (lines[1] << addr_bits)
    dut.req_valid_i.value = 0b11
    await ReadOnly()
    ready = dut.req_ready_o.value.to_unsigned() & 0b11
    assert ready in (0b01, 0b10), f"one of two same-bank reads is granted, got {ready:02b}"
    loser = 0 if ready == 0b10 else 1
    await RisingEdge(dut.clk_i)
    if misbehave == "withdraw":
        dut.req_valid_i.value = 0
    elif misbehave == "change":
        dut.req_valid_i.value = 1 << loser
        dut.req_addr_i.value = (lines[loser] + 1) << (loser * addr_bits)
    else:
        dut.req_valid_i.value = 1 << loser
    for _ in range(4):
        await ReadOnly()
        if dut.req_ready_o.value.to_unsigned() >> loser & 1:
            await RisingEdge(dut.clk_i)
            dut.req_valid_i.value = 0
            break
        await RisingEdge(dut.clk_i)
    await ClockCycles(dut.clk_i, 4)


@cocotb.test()
async def legal_conflict(dut):
    await _conflict(dut, "")


@cocotb.test()
async def withdraw_request(dut):
    await _conflict(dut, "withdraw")


@cocotb.test()
async def change_request(dut):
    await _conflict(dut, "change")


@cocotb.test()
async def python_check_fails(dut):
    await _setup(dut)
    observed = 2
    assert observed == 3, "fails on purpose: the report must carry this message"


def _run(testcase: str) -> None:
    run_cocotb(TOPLEVEL, test_module=__name__, config=CONFIG, testcase=testcase,
               run_tag=testcase)


@pytest.mark.sim
def test_legal_protocol_passes():
    assert load_config(CONFIG).spad_ports >= 2
    _run("legal_conflict")


@pytest.mark.sim
@pytest.mark.parametrize("testcase, assertion", [
    ("withdraw_request", "SpadReqHeld_A"),
    ("change_request", "SpadReqStable_A"),
])
def test_violation_fails_with_assertion_message(testcase, assertion):
    with pytest.raises(AssertionError) as failure:
        _run(testcase)
    message = str(failure.value)
    assert f"[NPU ASSERT] {assertion}" in message, message
    assert "u_core" in message, message   # the instance path of the failing assertion


@pytest.mark.sim
def test_failed_cocotb_check_is_named_with_message_and_seed(monkeypatch):
    monkeypatch.setenv("SEED", "12345")
    with pytest.raises(AssertionError) as failure:
        _run("python_check_fails")
    message = str(failure.value)
    assert ("python_check_fails: AssertionError: fails on purpose: the report must carry "
            "this message (rerun with SEED=12345)") in message, message
