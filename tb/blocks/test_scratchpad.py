"""cocotb tests of the banked scratchpad (rtl/scratchpad/npu_scratchpad.sv, docs/scratchpad.md).

Environment (driver on every port, one clocked step) in tb/blocks/scratchpad/env.py; the
scoreboard (tb/blocks/scratchpad/scoreboard.py) advances tb/golden/scratchpad_model.py every
cycle and checks grants, responses, pulses and counters.

Stimulus comes from cocotb_utils.seeded_rng() (seeded from cocotb's seed, logged; rerun with
SEED=...).
"""

from __future__ import annotations

import cocotb
import pytest

from tb.blocks.scratchpad.env import TOPLEVEL, setup
from tb.blocks.scratchpad.env import ScratchpadEnv as TB
from tb.golden.scratchpad_model import COUNTER_NAMES, SpadRequest
from tb.harness.cocotb_utils import seeded_rng
from tb.harness.sim import run_cocotb


# ==============================================================================================
# Tests
# ==============================================================================================
@cocotb.test()
async def test_random_traffic(dut):
    """Random multi-port reads/writes with byte masks, overwrite control and strict phases;
    every read checked, all counters checked at the end."""
    tb = await setup(dut)
    rng = seeded_rng(dut, "random_traffic")
    ports, banks = tb.ports, tb.banks
    # Working set: 2 regions per bank, 4 lines in each, so accesses collide in lines, regions
    # and banks often.
    lines = {}
    for bank in range(banks):
        regions = rng.choice(tb.bank_lines // tb.region_lines, size=2, replace=False)
        lines[bank] = [tb.addr(bank, int(r) * tb.region_lines + int(o))
                       for r in regions
                       for o in rng.choice(tb.region_lines, size=4, replace=False)]
    all_lines = [a for bank in range(banks) for a in lines[bank]]

    # Phase 1: write the whole working set (different ports, parallel banks) so every later
    # read is checked on all bits.
    for index, addr in enumerate(all_lines):
        tb.submit(index % ports, tb.write(addr, tb.rand_line(rng), rng=rng))
    await tb.drain()
    unknown_before = tb.model.unknown_read_bytes

    per_port = 2500
    remaining = [per_port] * ports
    hot_bank = int(rng.integers(0, banks))
    stalled = [0]
    rescues = [0]

    def generate(port: int) -> SpadRequest:
        model = tb.model
        # Regions some port is waiting to overwrite: release them now and then.
        waiting = [t.req.addr for t in tb.cur
                   if t is not None and t.req.write and model.pending[model.region_of(t.req.addr)]]
        if waiting and rng.random() < 0.5:
            region = model.region_of(waiting[int(rng.integers(0, len(waiting)))])
            same = [a for a in all_lines if model.region_of(a) == region]
            return tb.read(same[int(rng.integers(0, len(same)))], last_use=True, rng=rng)
        bank = hot_bank if rng.random() < 0.4 else int(rng.integers(0, banks))
        addr = lines[bank][int(rng.integers(0, len(lines[bank])))]
        if rng.random() < 0.55:
            return tb.read(addr, last_use=bool(rng.random() < 0.15), rng=rng)
        readers = 0
        if rng.random() < 0.12:
            most = 1 << tb.cfg.spad_reader_bits
            readers = 1 if rng.random() < 0.6 else int(rng.integers(2, most))
        return tb.write(addr, tb.rand_line(rng), tb.rand_strb(rng), readers, rng=rng)

    def on_cycle(tb: TB) -> None:
        # Strict phases: a new random mode every 64 cycles, strict one time in four.
        if tb.cycle % 64 == 0:
            tb.strict = bool(rng.random() < 0.25)
        # Liveness of the stimulus: if every port sits on a held write for a while, one strict
        # cycle drops them all (they are reported and counted, and the model knows).
        model = tb.model
        all_held = all(t is not None and t.req.write
                       and model.pending[model.region_of(t.req.addr)] for t in tb.cur)
        stalled[0] = stalled[0] + 1 if all_held else 0
        if stalled[0] > 20:
            tb.strict = True
            rescues[0] += 1
        for port in range(ports):
            if tb.cur[port] is None and not tb.queues[port] and remaining[port]:
                remaining[port] -= 1
                if rng.random() < 0.15:
                    tb.queues[port].append(None)   # one idle cycle
                tb.submit(port, generate(port))

    tb.on_cycle = on_cycle
    while any(remaining) or tb.busy():
        await tb.step()
        assert tb.cycle < 40 * per_port, "random traffic did not finish"
    tb.on_cycle = None
    tb.strict = False
    await tb.drain()
    counters = await tb.check_counters()
    assert tb.model.unknown_read_bytes == unknown_before == 0, "a read hit unwritten memory"
    dut._log.info("random traffic: %d cycles, %d stall rescues, counters %s", tb.cycle,
                  rescues[0], counters)
    # The stimulus must have exercised every mechanism, or the test proves little.
    for name in COUNTER_NAMES:
        assert counters[name] > 0, f"random traffic never produced a '{name}' event"
    assert counters["reads"] + counters["writes"] + counters["ow_violations"] \
        == ports * per_port + len(all_lines)


@cocotb.test()
async def test_bank_conflicts(dut):
    """All ports on one bank for many cycles: round-robin serves everybody (no starvation),
    and stat_conflicts_o equals the model's count."""
    tb = await setup(dut)
    rng = seeded_rng(dut, "bank_conflicts")
    per_port = 40
    for bank in sorted({0, tb.banks - 1, int(rng.integers(0, tb.banks))}):
        before = tb.model.counters["conflicts"]
        start = tb.cycle
        txns = [[] for _ in range(tb.ports)]
        for port in range(tb.ports):
            for _ in range(per_port):
                addr = tb.addr(bank, int(rng.integers(0, tb.bank_lines)))
                req = (tb.write(addr, tb.rand_line(rng), tb.rand_strb(rng), rng=rng)
                       if rng.random() < 0.5 else tb.read(addr, rng=rng))
                txns[port].append(tb.submit(port, req))
        await tb.drain()
        counters = await tb.check_counters()
        for port in range(tb.ports):
            grants = [t.t_grant for t in txns[port]]
            assert None not in grants, f"port {port} starved on bank {bank}"
            # Each port waits at most Ports-1 cycles between its grants.
            waits = [b - a - 1 for a, b in zip([start - 1] + grants[:-1], grants)]
            assert max(waits) <= tb.ports - 1, (port, max(waits))
        # One access per cycle on the bank: Ports*per_port cycles, (Ports-1) losers per cycle
        # until the queues start to run dry.
        granted_cycles = sorted(t.t_grant for port_txns in txns for t in port_txns)
        assert granted_cycles == list(range(granted_cycles[0],
                                            granted_cycles[0] + tb.ports * per_port))
        conflicts = counters["conflicts"] - before
        assert conflicts > 0
        # An independent count from the presented/granted history.
        hist = tb.history[start:]
        expected = sum(bin(pres & ~rdy).count("1") for pres, rdy, _ in hist)
        assert conflicts == expected, (conflicts, expected)
        dut._log.info("bank %d: %d conflicts", bank, conflicts)


@cocotb.test()
async def test_parallel_banks(dut):
    """Ports on distinct banks are all granted in the same cycle, every cycle. With more ports
    than banks, a random subset of min(ports, banks) ports is active in each round."""
    tb = await setup(dut)
    rng = seeded_rng(dut, "parallel_banks")
    active = min(tb.ports, tb.banks)
    rounds, per_port = 6, 16
    for _ in range(rounds):
        ports = sorted(int(p) for p in rng.permutation(tb.ports)[:active])
        banks = [int(b) for b in rng.permutation(tb.banks)[:active]]
        start = tb.cycle
        txns = []
        for port, bank in zip(ports, banks):
            for _ in range(per_port):
                addr = tb.addr(bank, int(rng.integers(0, tb.bank_lines)))
                req = (tb.write(addr, tb.rand_line(rng), tb.rand_strb(rng), rng=rng)
                       if rng.random() < 0.5 else tb.read(addr, rng=rng))
                txns.append(tb.submit(port, req))
        await tb.drain()
        mask = sum(1 << p for p in ports)
        for presented, ready, _ in tb.history[start:start + per_port]:
            assert presented == mask and ready == mask, (presented, ready)
        assert all(t.t_grant < start + per_port for t in txns)
    counters = await tb.check_counters()
    assert counters["conflicts"] == 0
    assert counters["reads"] + counters["writes"] == rounds * per_port * active


async def lock_buffer(tb: TB, rng, port: int, addrs: list[int], readers: int) -> list[int]:
    """Producer writes a buffer; the last write completes it for *readers* consumers."""
    data = [tb.rand_line(rng) for _ in addrs]
    for index, (addr, value) in enumerate(zip(addrs, data)):
        tb.submit(port, tb.write(addr, value, readers=readers if index == len(addrs) - 1 else 0))
    await tb.drain()
    return data


def region_lines(tb: TB, rng, count: int = 4) -> list[int]:
    bank = int(rng.integers(0, tb.banks))
    region = int(rng.integers(0, tb.bank_lines // tb.region_lines))
    offsets = rng.choice(tb.region_lines, size=count, replace=False)
    return [tb.addr(bank, region * tb.region_lines + int(o)) for o in offsets]


@cocotb.test()
async def test_overwrite_control(dut):
    """readers=1: a second write to the locked region waits (counted exactly) until the
    consumer's last-use read; the consumer reads the old data, later readers the new data."""
    tb = await setup(dut)
    rng = seeded_rng(dut, "overwrite_control")
    producer, consumer, other = 0, 1, 2 % tb.ports
    addrs = region_lines(tb, rng)
    old = await lock_buffer(tb, rng, producer, addrs, readers=1)
    wait_before = tb.model.counters["ow_wait"]

    new = tb.rand_line(rng)
    held = tb.submit(producer, tb.write(addrs[0], new))
    consumer_reads = []
    for i in range(24):
        if rng.random() < 0.3:
            tb.submit(consumer, None)
        consumer_reads.append(tb.submit(consumer, tb.read(addrs[i % len(addrs)],
                                                          last_use=(i == 23))))
    await tb.drain()
    counters = await tb.check_counters()

    release = consumer_reads[-1]
    assert held.t_grant == release.t_grant + 1, (held.t_grant, release.t_grant)
    assert all(t.t_grant < held.t_grant for t in consumer_reads)
    for i, txn in enumerate(consumer_reads):
        assert txn.rdata == old[i % len(addrs)], f"consumer read {i} did not see the old data"
    wait_cycles = held.t_grant - held.t_present
    assert wait_cycles >= 20, wait_cycles
    assert counters["ow_wait"] - wait_before == wait_cycles
    assert counters["ow_violations"] == 0 and counters["bad_release"] == 0

    after = tb.submit(other, tb.read(addrs[0]))
    unchanged = tb.submit(other, tb.read(addrs[1]))
    await tb.drain()
    assert after.rdata == new and unchanged.rdata == old[1]
    # The region is free again: a write goes through at once.
    free = tb.submit(producer, tb.write(addrs[2], tb.rand_line(rng)))
    await tb.drain()
    assert free.t_grant == free.t_present
    await tb.check_counters()


@cocotb.test()
async def test_overwrite_two_readers(dut):
    """readers=2: the write waits for both consumers' last-use reads."""
    tb = await setup(dut)
    rng = seeded_rng(dut, "overwrite_two_readers")
    assert tb.ports >= 3
    producer, first, second = 0, 1, 2
    addrs = region_lines(tb, rng)
    old = await lock_buffer(tb, rng, producer, addrs, readers=2)
    wait_before = tb.model.counters["ow_wait"]

    new = tb.rand_line(rng)
    held = tb.submit(producer, tb.write(addrs[1], new, readers=1))
    reads = {first: [], second: []}
    for port, count in ((first, 8), (second, 20)):
        for i in range(count):
            reads[port].append(tb.submit(port, tb.read(addrs[i % len(addrs)],
                                                        last_use=(i == count - 1))))
    await tb.drain()
    counters = await tb.check_counters()
    first_release, second_release = reads[first][-1], reads[second][-1]
    assert first_release.t_grant < second_release.t_grant
    assert held.t_grant == second_release.t_grant + 1, (held.t_grant, second_release.t_grant)
    for port in (first, second):
        for i, txn in enumerate(reads[port]):
            assert txn.rdata == old[i % len(addrs)]
    assert counters["ow_wait"] - wait_before == held.t_grant - held.t_present
    assert counters["bad_release"] == 0

    # The new write itself set readers=1: the region is locked again until one release.
    again = tb.submit(producer, tb.write(addrs[1], tb.rand_line(rng)))
    tb.submit(first, None)
    tb.submit(first, None)
    check = tb.submit(first, tb.read(addrs[1], last_use=True))
    await tb.drain()
    assert check.rdata == new
    assert again.t_grant == check.t_grant + 1
    await tb.check_counters()


@cocotb.test()
async def test_strict_violation(dut):
    """strict_i=1: a write to a locked region is acknowledged at once, dropped, reported on
    ow_violation_o and counted; memory and the region's count are unchanged."""
    tb = await setup(dut)
    rng = seeded_rng(dut, "strict_violation")
    producer, consumer = 0, 1
    addrs = region_lines(tb, rng)
    old = await lock_buffer(tb, rng, producer, addrs, readers=1)
    before = dict(tb.model.counters)

    tb.strict = True
    dropped = tb.submit(producer, tb.write(addrs[0], tb.rand_line(rng), readers=3))
    await tb.drain()
    assert dropped.t_grant == dropped.t_present
    assert tb.violation_events == [(dropped.t_grant + 1, producer)], tb.violation_events
    # A strict-mode write to an unlocked region is an ordinary write.
    free_addr = tb.addr(tb.model.bank_of(addrs[0]) ^ 1 if tb.banks > 1 else 0, 0)
    if tb.model.region_of(free_addr) == tb.model.region_of(addrs[0]):
        free_addr += tb.region_lines
    free = tb.submit(producer, tb.write(free_addr, tb.rand_line(rng)))
    await tb.drain()
    assert free.t_grant == free.t_present and len(tb.violation_events) == 1
    counters = await tb.check_counters()
    assert counters["ow_violations"] - before["ow_violations"] == 1
    assert counters["writes"] - before["writes"] == 1   # the dropped write is not performed

    tb.strict = False
    reads = [tb.submit(consumer, tb.read(a, last_use=(a == addrs[-1]))) for a in addrs]
    await tb.drain()
    assert [t.rdata for t in reads] == old, "a dropped write changed memory"
    assert tb.bad_release_events == []   # the count was still 1: the drop did not touch it
    # Released: the same write now goes through at once and lands.
    value = tb.rand_line(rng)
    now = tb.submit(producer, tb.write(addrs[0], value))
    check = tb.submit(consumer, tb.read(addrs[0]))
    await tb.drain()
    assert now.t_grant == now.t_present and check.rdata == value
    await tb.check_counters()


@cocotb.test()
async def test_bad_release(dut):
    """A last-use read of a region whose count is zero pulses bad_release_o and still
    returns data; over-releasing a readers=1 region is flagged on the second release."""
    tb = await setup(dut)
    rng = seeded_rng(dut, "bad_release")
    addrs = region_lines(tb, rng)
    data = [tb.rand_line(rng) for _ in addrs]
    for addr, value in zip(addrs, data):
        tb.submit(0, tb.write(addr, value))
    await tb.drain()

    stray = tb.submit(1, tb.read(addrs[0], last_use=True))
    await tb.drain()
    assert stray.rdata == data[0]
    assert tb.bad_release_events == [(stray.t_grant + 1, 1)], tb.bad_release_events

    tb.submit(0, tb.write(addrs[1], data[1], readers=1))
    await tb.drain()
    good = tb.submit(2 % tb.ports, tb.read(addrs[2], last_use=True))
    extra = tb.submit(2 % tb.ports, tb.read(addrs[3], last_use=True))
    await tb.drain()
    assert good.rdata == data[2] and extra.rdata == data[3]
    assert tb.bad_release_events[1:] == [(extra.t_grant + 1, 2 % tb.ports)], \
        tb.bad_release_events
    counters = await tb.check_counters()
    assert counters["bad_release"] == 2 and counters["ow_violations"] == 0


@cocotb.test()
async def test_stat_clear(dut):
    """stat_clear_i zeroes every counter and, in this block (the NPU ties clear_locks_i to it:
    START), the pending-read counts (it wins over events of the same cycle)."""
    tb = await setup(dut)
    rng = seeded_rng(dut, "stat_clear")
    addrs = region_lines(tb, rng)
    bank = tb.model.bank_of(addrs[0])

    async def traffic(cycles: int) -> None:
        tb.submit(0, tb.write(addrs[0], tb.rand_line(rng), readers=1))
        tb.submit(0, tb.write(addrs[0], tb.rand_line(rng)))          # held
        for i in range(cycles):
            tb.submit(1, tb.read(tb.addr(bank, i % tb.bank_lines)))  # conflicts
            tb.submit(2 % tb.ports, tb.read(addrs[1], last_use=(i == cycles - 1)))
        tb.submit(1, tb.read(addrs[2], last_use=True))               # bad release

    await traffic(12)
    await tb.drain()
    counters = await tb.check_counters()
    assert all(counters[name] > 0 for name in ("reads", "writes", "conflicts", "ow_wait",
                                                 "bad_release"))
    # Clear in the middle of traffic: the cycle's own events are discarded too.
    await traffic(12)
    await tb.run(5)
    tb.clear = True
    await tb.step()
    tb.clear = False
    await tb.step(check_counters=True)
    await tb.drain()
    await tb.check_counters()
    tb.clear = True
    await tb.step()
    tb.clear = False
    assert await tb.check_counters() == dict.fromkeys(COUNTER_NAMES, 0)
    assert tb.read_counters() == dict.fromkeys(COUNTER_NAMES, 0)


# ==============================================================================================
# pytest launcher
# ==============================================================================================
@pytest.mark.sim
@pytest.mark.parametrize("config", ["tiny", "default"])
def test_scratchpad(config):
    run_cocotb(TOPLEVEL, test_module=__name__, config=config)
