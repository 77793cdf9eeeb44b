"""cocotb bench of the vector ALU array (rtl/vector/npu_vector_unit.sv).

Every result is compared bit-exactly (every lane, flags, tag, and the number of results) with
the stream model tb/golden/vector_unit_model.py, which computes on its own with
npu_model/numerics.py.
Stimulus comes from seeded_rng() (seeded from cocotb's seed, logged; rerun with SEED=...).

The bench is one clocked loop (`TB.run`): each cycle it drives the input and out_ready_i just
after the rising edge, then samples both handshakes in ReadOnly. That loop also checks the
output protocol (a stalled result stays valid and unchanged) and that the unit is idle at the
end with no extra result.
"""

from __future__ import annotations

import math

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ReadOnly, RisingEdge

from hwdef.params import RECIP_FRAC_BITS, SHIFT_BITS, VEC_FLAG_BITS, SatMode, VecFlag, VecOp
from tb.blocks.vector_values import (
    CORNERS,
    ELEMENTWISE,
    INT32_MAX,
    INT32_MIN,
    rand_int32,
    rand_operand_a,
)
from tb.golden.vector_unit_model import VecIn, VecOut, VectorUnitModel
from tb.harness.cocotb_utils import (
    built_params,
    npu_config,
    pack,
    seeded_rng,
    start_clock_and_reset,
    unpack,
)
from tb.harness.sim import run_cocotb

# Latency contract of docs/vector_unit.md (input handshake cycle -> output valid cycle).
SHORT_LATENCY = 3
DEFAULT_RECIP_BITS_PER_STAGE = 4


def recip_latency(bits_per_stage: int) -> int:
    stages = max(math.ceil((RECIP_FRAC_BITS + 2) / bits_per_stage), SHORT_LATENCY - 1)
    return stages + 1


# ---- stimulus ------------------------------------------------------------------------------
def rand_mask(rng, lanes: int) -> np.ndarray:
    roll = rng.random()
    if roll < 0.5:
        return np.ones(lanes, dtype=bool)
    if roll < 0.55:
        return np.zeros(lanes, dtype=bool)
    return rng.random(lanes) < 0.6


def rand_item(rng, op: VecOp, lanes: int, tag: int, row_last: bool | None = None) -> VecIn:
    a = rand_operand_a(rng, op, lanes)   # EXP2 mostly -40 Ki..0, RECIP log-uniform
    b_scalar = rng.random() < 0.3
    b = None if b_scalar else rand_int32(rng, lanes)
    if op == VecOp.MULSHR:
        shift = int(rng.integers(0, 1 << SHIFT_BITS))
    elif op == VecOp.EXP2:
        shift = int(rng.integers(0, 21))
    else:
        shift = int(rng.integers(0, 1 << SHIFT_BITS))  # ignored by the op: any value
    return VecIn(op=op, a=a, b=b, scalar=int(rand_int32(rng, 1)[0]), shift=shift,
                 sat=SatMode(int(rng.integers(0, 3))), mask=rand_mask(rng, lanes),
                 row_last=bool(rng.random() < 0.3) if row_last is None else row_last, tag=tag)


def rand_reduction_rows(rng, lanes: int, rows: int, first_tag: int) -> list[VecIn]:
    """Interleaved RMAX and RSUM rows of 1..5 vectors each, with element-wise ops between."""
    pending: dict[VecOp, list[bool]] = {VecOp.RMAX: [], VecOp.RSUM: []}  # row_last flags
    for op in pending:
        for _ in range(rows):
            length = int(rng.integers(1, 6))
            for index in range(length):
                pending[op].append(index == length - 1)
    items, tag = [], first_tag
    while pending[VecOp.RMAX] or pending[VecOp.RSUM]:
        choices = [op for op in pending if pending[op]]
        if rng.random() < 0.15:
            op = ELEMENTWISE[int(rng.integers(0, len(ELEMENTWISE)))]
            items.append(rand_item(rng, op, lanes, tag))
        else:
            op = choices[int(rng.integers(0, len(choices)))]
            last = pending[op].pop(0)
            item = rand_item(rng, op, lanes, tag, row_last=last)
            if op == VecOp.RSUM and rng.random() < 0.3:
                # Large same-sign values push the row total into saturation.
                sign = 1 if rng.random() < 0.5 else -1
                item.a = sign * rng.integers(1 << 28, 1 << 31, lanes)
                item.a = np.clip(item.a, INT32_MIN, INT32_MAX)
            if op == VecOp.RMAX and rng.random() < 0.3:
                item.a = rng.choice(np.array([-5, 7, 7, INT32_MIN, 100]), lanes)  # ties
            items.append(item)
        tag += 1
    return items


# ---- test bench ----------------------------------------------------------------------------
class TB:
    def __init__(self, dut):
        self.dut = dut
        self.cfg = npu_config()
        self.lanes = self.cfg.vector_lanes
        params = built_params()
        assert params.get("Lanes") == self.lanes, (params, self.lanes)
        self.recip_bits = int(params.get("RecipBitsPerStage", DEFAULT_RECIP_BITS_PER_STAGE))
        self.recip_latency = recip_latency(self.recip_bits)
        self.tag_bits = len(dut.in_tag_i)
        self.rng_junk = np.random.default_rng(1)
        assert len(dut.in_a_i) == self.lanes * 32
        assert len(dut.in_b_i) == self.lanes * 32
        assert len(dut.out_data_o) == self.lanes * 32
        assert len(dut.in_mask_i) == self.lanes
        assert len(dut.in_shift_i) == SHIFT_BITS
        assert len(dut.out_flags_o) == VEC_FLAG_BITS
        assert len(dut.out_tag_o) == self.tag_bits
        self.cycle = 0

    async def start(self):
        """Reset the unit; the model restarts with it (no open reduction row)."""
        self.model = VectorUnitModel(self.lanes)
        self.idle_inputs()
        self.dut.out_ready_i.value = 0
        await start_clock_and_reset(self.dut)

    def idle_inputs(self):
        """valid low; the payload is junk the unit must ignore."""
        d, junk = self.dut, self.rng_junk
        d.in_valid_i.value = 0
        d.in_op_i.value = int(junk.integers(0, 9))
        d.in_sat_i.value = int(junk.integers(0, 3))
        d.in_b_scalar_i.value = int(junk.integers(0, 2))
        d.in_scalar_i.value = int(junk.integers(0, 1 << 32))
        d.in_shift_i.value = int(junk.integers(0, 1 << SHIFT_BITS))
        d.in_a_i.value = int(junk.integers(0, 1 << 32)) * ((1 << (32 * self.lanes)) - 1) // (
            (1 << 32) - 1)
        d.in_b_i.value = 0
        d.in_mask_i.value = int(junk.integers(0, 1 << self.lanes))
        d.in_row_last_i.value = int(junk.integers(0, 2))
        d.in_tag_i.value = int(junk.integers(0, 1 << self.tag_bits))

    def drive(self, item: VecIn):
        d = self.dut
        d.in_valid_i.value = 1
        # raw_op: a reserved encoding driven instead of the op the model computes.
        d.in_op_i.value = int(getattr(item, "raw_op", item.op))
        d.in_sat_i.value = int(getattr(item, "raw_sat", item.sat))
        d.in_b_scalar_i.value = int(item.b_scalar)
        d.in_scalar_i.value = int(item.scalar) & 0xFFFFFFFF
        d.in_shift_i.value = int(item.shift)
        d.in_a_i.value = pack(item.a, 32)
        # With b_scalar the vector b is junk that must be ignored.
        d.in_b_i.value = pack(item.b if item.b is not None else item.a[::-1] ^ 0x5A5A, 32)
        d.in_mask_i.value = pack(item.lane_mask(), 1)
        d.in_row_last_i.value = int(item.row_last)
        d.in_tag_i.value = int(item.tag)

    def read_output(self) -> VecOut:
        d = self.dut
        data = unpack(d.out_data_o.value.to_unsigned(), self.lanes, 32)
        return VecOut(tuple(int(v) for v in data), d.out_flags_o.value.to_unsigned(),
                      d.out_tag_o.value.to_unsigned())

    async def run(self, items: list[VecIn], rng=None, in_gap: float = 0.0, ready=None,
                  max_cycles: int | None = None):
        """Feed *items* (valid held until accepted, random gaps with probability in_gap), drive
        out_ready_i from ready(cycle) (default: always 1), collect every result.

        The model sees the same items, continuing from the previous run (open reduction rows
        carry over, as in the unit). Returns (results, expected results, accept cycles, result
        cycles); cycles count from the call."""
        dut = self.dut
        rng = rng if rng is not None else np.random.default_rng(0)
        ready = ready or (lambda cycle: True)
        expected = [out for out in map(self.model.push, items) if out is not None]
        max_cycles = max_cycles or (len(items) * (self.recip_latency + 4) + 200)
        tail = 2 * self.recip_latency + 4  # quiet cycles checked after the last result
        outs, out_cycles, accept_cycles = [], [], []
        index, presenting, stalled_out, quiet = 0, False, None, 0
        for cycle in range(max_cycles):
            # -- drive (just after the rising edge) --
            if not presenting and index < len(items) and rng.random() >= in_gap:
                self.drive(items[index])
                presenting = True
            elif not presenting:
                self.idle_inputs()
            out_ready = bool(ready(cycle))
            dut.out_ready_i.value = int(out_ready)
            # -- sample the settled handshakes --
            await ReadOnly()
            out_valid = bool(dut.out_valid_o.value)
            if stalled_out is not None:
                assert out_valid, f"cycle {cycle}: out_valid_o dropped while stalled"
                assert self.read_output() == stalled_out, f"cycle {cycle}: result changed " \
                    "while stalled"
            stalled_out = None
            if out_valid:
                assert dut.busy_o.value, f"cycle {cycle}: out_valid_o without busy_o"
                result = self.read_output()
                if out_ready:
                    outs.append(result)
                    out_cycles.append(cycle)
                else:
                    stalled_out = result
            if presenting and dut.in_ready_o.value:
                accept_cycles.append(cycle)
                index += 1
                presenting = False
            done = index == len(items) and not dut.busy_o.value
            if done and len(outs) >= len(expected):
                quiet += 1
                if quiet > tail:
                    break
            await RisingEdge(dut.clk_i)
        else:
            raise AssertionError(f"timeout after {max_cycles} cycles: accepted {index} of "
                                 f"{len(items)} inputs, {len(outs)} of {len(expected)} results")
        await RisingEdge(dut.clk_i)
        self.idle_inputs()
        return outs, expected, accept_cycles, out_cycles

    def check(self, items: list[VecIn], outs: list[VecOut], expected: list[VecOut], what: str):
        for index, (got, exp) in enumerate(zip(outs, expected)):
            if got != exp:
                raise AssertionError(f"{what}: result {index} differs\n  got      {got.describe()}"
                                     f"\n  expected {exp.describe()}")
        assert len(outs) == len(expected), \
            f"{what}: {len(outs)} results, expected {len(expected)}"
        seen = {flag.name: sum(out.flags >> flag & 1 for out in outs) for flag in VecFlag}
        self.dut._log.info("%s: %d inputs, %d results match; results per flag %s", what,
                           len(items), len(outs), seen)
        return seen


def random_ready(rng, p_high: float = 0.7):
    pattern = rng.random(200_000) < p_high
    return lambda cycle: pattern[cycle % len(pattern)]


def tags(tb: TB, items: list[VecIn]) -> list[VecIn]:
    for index, item in enumerate(items):
        item.tag = index % (1 << tb.tag_bits)
    return items


# ---- tests ---------------------------------------------------------------------------------
@cocotb.test()
async def test_interface_and_reset(dut):
    """Port widths follow the configuration; after reset the unit is idle and ready."""
    tb = TB(dut)
    await tb.start()
    await ReadOnly()
    assert not dut.out_valid_o.value and not dut.busy_o.value
    assert dut.in_ready_o.value
    await RisingEdge(dut.clk_i)


@cocotb.test()
async def test_random_per_op(dut):
    """Random vectors per element-wise op: all sat modes, scalar/vector b, masks, shifts; random
    input gaps and output back-pressure."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "random_per_op")
    count = 400
    for op in ELEMENTWISE:
        items = [rand_item(rng, op, tb.lanes, tag) for tag in range(count)]
        outs, exp, _, _ = await tb.run(items, rng, in_gap=0.2, ready=random_ready(rng))
        tb.check(items, outs, exp, f"random {op.name}")


@cocotb.test()
async def test_random_mixed_stream(dut):
    """All ops mixed in one stream (RECIP next to short ops, reductions interleaved)."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "random_mixed")
    ops = list(VecOp)
    items = tags(tb, [rand_item(rng, ops[int(rng.integers(0, len(ops)))], tb.lanes, 0)
                      for _ in range(3000)])
    outs, exp, _, _ = await tb.run(items, rng, in_gap=0.1, ready=random_ready(rng, 0.8))
    seen = tb.check(items, outs, exp, "mixed stream")
    assert all(seen.values()), f"a flag was never raised: {seen}"


def corner_items(tb: TB) -> list[VecIn]:
    lanes, items = tb.lanes, []

    def vectors(values):
        values = np.asarray(values, dtype=np.int64)
        pad = (-len(values)) % lanes
        values = np.concatenate([values, np.resize(values, pad)]) if pad else values
        return values.reshape(-1, lanes)

    pairs = np.array([(x, y) for x in CORNERS for y in CORNERS], dtype=np.int64)
    for op in (VecOp.COPY, VecOp.ADD, VecOp.SUB, VecOp.MAX):
        for a, b in zip(vectors(pairs[:, 0]), vectors(pairs[:, 1])):
            for sat in SatMode:
                items.append(VecIn(op=op, a=a, b=b, sat=sat))
    # MULSHR: corner products at every shift, including INT32_MIN * INT32_MIN (the only 2^62)
    # and 2^62 + 2^62 rounding at shift 63.
    mul_pairs = np.array([(INT32_MIN, INT32_MIN), (INT32_MIN, INT32_MAX), (INT32_MAX, INT32_MAX),
                          (INT32_MIN, 1), (INT32_MIN, -1), (-1, -1), (3, -1), (-3, 1),
                          (65536, 32768), (-65536, 32768), (1 << 30, 4), (5, -5),
                          (INT32_MAX, -1), (123456789, -987654321)], dtype=np.int64)
    for a, b in zip(vectors(mul_pairs[:, 0]), vectors(mul_pairs[:, 1])):
        for shift in range(64):
            items.append(VecIn(op=VecOp.MULSHR, a=a, b=b, shift=shift,
                               sat=SatMode(shift % 3)))
    # Scalar b (broadcast) with the extremes.
    for scalar in (INT32_MIN, -1, 0, 1, INT32_MAX):
        for op in (VecOp.ADD, VecOp.SUB, VecOp.MAX, VecOp.MULSHR):
            for a in vectors(CORNERS):
                items.append(VecIn(op=op, a=a, b=None, scalar=scalar, shift=31))
    # EXP2: 0, segment edges, very negative, positive (domain), every shift 0..20.
    exp_args = np.array([0, -1, -63, -64, -65, -512, -1023, -1024, -1025, -7 * 1024, -9 * 1024,
                         -16 * 1024, -17 * 1024, -(1 << 21), -(1 << 30), INT32_MIN, 1, 1024,
                         INT32_MAX, -40 * 1024], dtype=np.int64)
    for a in vectors(exp_args):
        for shift in range(21):
            items.append(VecIn(op=VecOp.EXP2, a=a, shift=shift, sat=SatMode(shift % 3)))
    # RECIP: 1, 2, 3, powers of two, INT32_MAX, 0, negatives.
    rec_args = np.array([1, 2, 3, 4, 5, 7, 1023, 1024, 1025, 65535, 65536, 1 << 30, (1 << 30) + 1,
                         INT32_MAX - 1, INT32_MAX, 0, -1, -2, INT32_MIN, 255, 256, 257, 6, 12345],
                        dtype=np.int64)
    for a in vectors(rec_args):
        for sat in SatMode:
            items.append(VecIn(op=VecOp.RECIP, a=a, sat=sat))
    # Masks: every single-lane mask and the empty mask on a flag-raising vector.
    raising = vectors([INT32_MAX] * lanes)[0]
    for lane in range(lanes + 1):
        mask = np.arange(lanes) == lane
        items.append(VecIn(op=VecOp.ADD, a=raising, b=raising, mask=mask, sat=SatMode.INT8))
        items.append(VecIn(op=VecOp.EXP2, a=raising, mask=mask))
        items.append(VecIn(op=VecOp.RECIP, a=-raising, mask=mask))
    return tags(tb, items)


@cocotb.test()
async def test_corners(dut):
    """Extremes and narrowing boundaries of every op, MULSHR overflow at every shift, exp2 and
    recip special arguments, masks on flag-raising lanes."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "corners")
    items = corner_items(tb)
    outs, exp, _, _ = await tb.run(items, rng)
    seen = tb.check(items, outs, exp, "corners")
    assert all(seen.values()), f"a flag was never raised: {seen}"


@cocotb.test()
async def test_reserved_encodings(dut):
    """Reserved op codes (9..15) behave as COPY and reserved SatMode 3 as NONE (the RTL's
    documented choice), also while reduction rows are open."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "reserved")
    items = []
    for index in range(60):
        if index % 4 == 0:
            items.append(rand_item(rng, VecOp.RSUM if index % 8 else VecOp.RMAX, tb.lanes, 0,
                                   row_last=index % 12 == 0))
            continue
        item = rand_item(rng, VecOp.COPY, tb.lanes, 0)
        item.raw_op = 9 + index % 7
        if index % 3 == 0:
            item.sat = SatMode.NONE
            item.raw_sat = 3
        items.append(item)
    items = tags(tb, items)
    outs, exp, _, _ = await tb.run(items, rng, in_gap=0.2, ready=random_ready(rng))
    tb.check(items, outs, exp, "reserved encodings")


@cocotb.test()
async def test_reduction_rows(dut):
    """Rows of several vectors with partial masks, ties, saturating sums, empty rows,
    interleaved RMAX/RSUM rows and element-wise ops in between."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "reduction_rows")
    lanes = tb.lanes
    full = np.ones(lanes, dtype=bool)
    partial = np.arange(lanes) < lanes // 2 + 1
    items = [
        # Ties: the same maximum in several lanes and vectors.
        VecIn(VecOp.RMAX, np.full(lanes, 9), mask=full),
        VecIn(VecOp.RMAX, np.full(lanes, 9), mask=partial, row_last=True),
        # A row where only masked lanes hold the big value.
        VecIn(VecOp.RMAX, np.where(partial, -3, INT32_MAX), mask=partial),
        VecIn(VecOp.RMAX, np.where(partial, -7, INT32_MAX), mask=partial, row_last=True,
              sat=SatMode.UINT8),
        # Empty rows: identities INT32_MIN and 0.
        VecIn(VecOp.RMAX, np.full(lanes, 5), mask=~full, row_last=True),
        VecIn(VecOp.RSUM, np.full(lanes, 5), mask=~full, row_last=True),
        VecIn(VecOp.RMAX, np.full(lanes, 5), mask=~full, row_last=True, sat=SatMode.INT8),
        # Saturation up, then back down inside the same row (saturating accumulation).
        VecIn(VecOp.RSUM, np.full(lanes, INT32_MAX)),
        VecIn(VecOp.RSUM, np.full(lanes, INT32_MAX)),
        VecIn(VecOp.RSUM, np.full(lanes, -(1 << 28)), row_last=True),
        VecIn(VecOp.RSUM, np.full(lanes, INT32_MIN), sat=SatMode.INT8),
        VecIn(VecOp.RSUM, np.full(lanes, INT32_MIN), row_last=True, sat=SatMode.INT8),
        # Interleaved rows: RMAX row open across an RSUM row and element-wise ops.
        VecIn(VecOp.RMAX, np.arange(lanes) - 100),
        VecIn(VecOp.RSUM, np.arange(lanes), mask=partial),
        VecIn(VecOp.ADD, np.full(lanes, INT32_MAX), b=np.full(lanes, 1)),
        VecIn(VecOp.RECIP, np.arange(lanes) + 1),
        VecIn(VecOp.RSUM, np.arange(lanes), row_last=True, sat=SatMode.UINT8),
        VecIn(VecOp.RMAX, np.arange(lanes) * 3, mask=partial, row_last=True),
        # row_last on element-wise ops must not close a reduction row.
        VecIn(VecOp.RSUM, np.full(lanes, 1000)),
        VecIn(VecOp.COPY, np.full(lanes, 1), row_last=True),
        VecIn(VecOp.RSUM, np.full(lanes, 1000), row_last=True, sat=SatMode.UINT8),
    ]
    items = tags(tb, items)
    items += rand_reduction_rows(rng, lanes, rows=150, first_tag=len(items))
    items = tags(tb, items)
    outs, exp, _, _ = await tb.run(items, rng, in_gap=0.2, ready=random_ready(rng))
    tb.check(items, outs, exp, "reduction rows")


@cocotb.test()
async def test_recip_ordering(dut):
    """RECIP and short ops back to back in every short pattern: results stay in order, and a
    short op waits exactly until it can no longer overtake (no backpressure, no gaps)."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "recip_ordering")
    patterns = ["RS", "RRS", "SRS", "RSR", "RRRSSS", "SRSRSR", "RSSR", "RRSRRS"]
    items = []
    for _ in range(3):
        for pattern in patterns:
            for ch in pattern:
                op = VecOp.RECIP if ch == "R" else VecOp(int(rng.choice([1, 3, 7, 8])))
                items.append(rand_item(rng, op, tb.lanes, 0, row_last=True))
    items = tags(tb, items)
    outs, exp, accepts, out_cycles = await tb.run(items, rng)
    tb.check(items, outs, exp, "recip ordering")
    # Issue timing: a short op follows a RECIP only after RecipLatency - ShortLatency cycles.
    hold = tb.recip_latency - SHORT_LATENCY
    last_recip = None
    for item, cycle in zip(items, accepts):
        if item.op == VecOp.RECIP:
            last_recip = cycle
        elif last_recip is not None:
            earliest = last_recip + hold + 1
            assert cycle >= earliest, (item.tag, cycle, earliest)
    # And never later than needed: the cycle after the previous accept or the hold release.
    for index in range(1, len(items)):
        prev = accepts[index - 1]
        bound = prev + 1
        if items[index].op != VecOp.RECIP:
            recips = [accepts[j] for j in range(index) if items[j].op == VecOp.RECIP]
            if recips:
                bound = max(bound, recips[-1] + hold + 1)
        assert accepts[index] == bound, (index, accepts[index], bound)
    assert out_cycles == sorted(out_cycles)


@cocotb.test()
async def test_backpressure(dut):
    """out_ready_i low for 60 cycles while the input keeps pushing, then random toggling: nothing
    lost, duplicated or reordered; a stalled result is held stable."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "backpressure")
    ops = list(VecOp)
    items = tags(tb, [rand_item(rng, ops[int(rng.integers(0, len(ops)))], tb.lanes, 0)
                      for _ in range(200)])
    toggling = random_ready(rng, 0.5)
    outs, exp, accepts, _ = await tb.run(items, rng, in_gap=0.1,
                                    ready=lambda c: c >= 60 and toggling(c))
    tb.check(items, outs, exp, "backpressure")
    # While the output was blocked, the pipeline filled up and the input had to stop.
    early = [c for c in accepts if c < 60]
    assert len(early) < 20, f"{len(early)} inputs accepted during the 60-cycle stall"
    # A second long stall in the middle of a stream.
    items = tags(tb, [rand_item(rng, ops[int(rng.integers(0, len(ops)))], tb.lanes, 0)
                      for _ in range(120)])
    outs, exp, _, _ = await tb.run(items, rng,
                              ready=lambda c: not 20 <= c < 80 and (c < 80 or toggling(c)))
    tb.check(items, outs, exp, "backpressure mid-stream")


@cocotb.test()
async def test_throughput(dut):
    """N back-to-back vectors give N results in N + latency cycles, one per cycle, for short
    ops, RECIP and one-vector reduction rows."""
    tb = TB(dut)
    await tb.start()
    rng = seeded_rng(dut, "throughput")
    n = 64
    cases = [
        ("short ops", [VecOp.ADD, VecOp.MULSHR, VecOp.EXP2, VecOp.MAX, VecOp.COPY,
                       VecOp.SUB], SHORT_LATENCY),
        ("RECIP", [VecOp.RECIP], tb.recip_latency),
        ("reductions", [VecOp.RMAX, VecOp.RSUM], SHORT_LATENCY),
    ]
    for name, ops, latency in cases:
        items = tags(tb, [rand_item(rng, ops[i % len(ops)], tb.lanes, 0, row_last=True)
                          for i in range(n)])
        outs, exp, accepts, out_cycles = await tb.run(items, rng)
        tb.check(items, outs, exp, f"throughput {name}")
        first = accepts[0]
        assert accepts == list(range(first, first + n)), f"{name}: input not accepted each cycle"
        assert out_cycles == list(range(first + latency, first + latency + n)), \
            f"{name}: results at {out_cycles[:3]}..{out_cycles[-1]}, expected from " \
            f"{first + latency}"
        dut._log.info("throughput %s: %d vectors in %d cycles (latency %d)", name, n,
                      out_cycles[-1] - first + 1, latency)


# ---- pytest launchers ----------------------------------------------------------------------
@pytest.mark.sim
@pytest.mark.parametrize("config", ["tiny", "default"])
def test_npu_vector_unit(config):
    run_cocotb("npu_vector_unit", test_module=__name__, config=config)


@pytest.mark.sim
@pytest.mark.parametrize("bits_per_stage", [3, 16])
def test_npu_vector_unit_recip_stages(bits_per_stage):
    """The divider's stage count is a parameter: 11 uneven stages, and 2 stages (no hold)."""
    run_cocotb("npu_vector_unit", test_module=__name__, config="tiny",
               extra_params={"RecipBitsPerStage": bits_per_stage})
