"""Scheduler tests without a simulator.

* Every strategy's program, run on the instruction-level model (npu_model/executor.py, strict
  overwrite control for mas), gives exactly the integer golden attention
  (npu_model/attention.attention_int) for ragged shapes, causal masks, several heads and an
  output scale.
* The semaphores alone order every data dependency: the program is list-scheduled on the four
  queues with random instruction durations, and every pair of instructions of different queues
  that touch the same scratchpad line or DRAM granule (one of them writing) is checked to run
  in program order.
* Bad workloads fail with specific messages.
"""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from hwdef import isa, load_config
from npu_model.attention import attention_int
from npu_model.executor import NpuModel
from scheduler import STRATEGIES, ScheduleError, Tiling, Workload, build_schedule
from scheduler.cost import predict
from scheduler.plan import chunk_count, chunks, min_instructions
from scheduler.program import AttentionProgram
from scheduler.search import EVERY, search
from scheduler.sync import Footprint
from scheduler.tiling import MAX_SCORE_BUFFERS

CASES = [  # config, workload, tiling (None: searched)
    ("tiny", Workload(1, 1, 16), None),
    ("tiny", Workload(17, 17, 16, causal=True), Tiling(4, 8)),
    ("tiny", Workload(17, 23, 16, causal=True), Tiling(4, 8, separate_x=False)),
    ("tiny", Workload(5, 40, 20, heads=2, causal=True), None),
    ("tiny", Workload(40, 5, 16, causal=True), Tiling(4, 8)),      # rows that see no key
    ("default", Workload(100, 100, 64, s_o=1 / 128), Tiling(16, 64)),
    ("default", Workload(33, 70, 128, causal=True), Tiling(16, 32, separate_x=False)),
    ("default", Workload(64, 64, 40, batch=2), None),
    ("default", Workload(100, 60, 64, heads=2), Tiling(16, 64)),   # K, V kept across blocks
]


def _run_model(cfg_name, wl, tiling, strategy, seed=0):
    cfg = load_config(cfg_name)
    sched = build_schedule(wl, cfg, strategy, tiling)
    rng = np.random.default_rng(seed)
    q = rng.integers(-128, 128, (wl.heads_total, wl.seq_q, wl.head_dim), dtype=np.int8)
    k = rng.integers(-128, 128, (wl.heads_total, wl.seq_kv, wl.head_dim), dtype=np.int8)
    v = rng.integers(-128, 128, (wl.heads_total, wl.seq_kv, wl.head_dim), dtype=np.int8)
    model = NpuModel(cfg, sched.image(q, k, v))
    model.strict = sched.strict
    result = model.run(sched.prog_base, max_insns=10 ** 7)
    assert result.error is None, f"{strategy}: model stopped with {result.error}"
    addr, nbytes = sched.output_region()
    out = sched.read_output(model.dram[addr:addr + nbytes])
    want = np.stack([attention_int(q[h], k[h], v[h], wl.score, wl.causal, wl.output)
                     for h in range(wl.heads_total)])
    return sched, out, want


@pytest.mark.parametrize("cfg_name, wl, tiling", CASES,
                         ids=[f"{c}-{w.seq_q}x{w.seq_kv}x{w.head_dim}" for c, w, _ in CASES])
def test_program_matches_golden_on_the_model(cfg_name, wl, tiling):
    outs = {}
    for strategy in STRATEGIES:
        _, out, want = _run_model(cfg_name, wl, tiling, strategy)
        bad = np.argwhere(out != want)
        assert bad.size == 0, f"{strategy}: {len(bad)} outputs differ, first {bad[0]}"
        outs[strategy] = out
    assert all(np.array_equal(o, outs["flat"]) for o in outs.values())


@pytest.mark.parametrize("cfg_name, wl, tiling, over_sum", [
    ("tiny", Workload(40, 40, 16), Tiling(4, 16), True),             # every block two passes
    ("tiny", Workload(40, 40, 16, causal=True), Tiling(4, 16), False),   # early blocks: 1 chunk
    ("tiny", Workload(12, 12, 16), Tiling(4, 16), False),            # every block one chunk
    ("small", Workload(96, 96, 64, heads=2), Tiling(32, 16, False), True),
], ids=["two-passes", "causal-single-first", "all-single", "small-Br32"])
def test_lean_rows_hold_r_in_l_only_where_no_block_rewrites_l_first(cfg_name, wl, tiling,
                                                                     over_sum):
    """mas's lean layout (scheduler/layout.py): r = 1/l overwrites l unless a one-chunk block's
    softmax (which writes l) comes between a block's RECIP and its O = A·r; m' and l' share a
    line, O has one buffer. Both variants are bit-exact under strict overwrite control, and
    the layouts that are not lean (layer-wise) keep their six lines per row and two O."""
    sched, out, want = _run_model(cfg_name, wl, tiling, "mas")
    buf = sched.built.buffers
    assert (buf.recip == (buf.row_sum, buf.row_sum)) == over_sum, buf
    assert buf.chunk_sum == buf.chunk_max and buf.outputs[0] == buf.outputs[1]
    assert buf.spad["rows"]["lines"] == (3 if over_sum else 5) * tiling.block_rows
    bad = np.argwhere(out != want)
    assert bad.size == 0, f"{len(bad)} outputs differ, first {bad[0]}"
    plain = tiling if cfg_name == "tiny" else Tiling(16, 32)    # Br = 32 is mas's alone
    unfused = build_schedule(wl, load_config(cfg_name), "layerwise", plain).built.buffers
    assert unfused.spad["rows"]["lines"] == 6 * plain.block_rows
    assert len({*unfused.outputs, unfused.chunk_max, unfused.chunk_sum, *unfused.recip}) == 6


def test_search_checks_the_whole_workload_fits_not_just_its_proxy():
    """The search ranks long workloads on a 128-row proxy whose blocks all take two passes;
    under a causal mask the whole workload's first blocks see one chunk, so mas needs r0 and
    r1 there: a tiling that only the proxy's lean rows fit must not be picked."""
    cfg = load_config("default")
    wl = Workload(512, 512, 64, causal=True)
    sched = build_schedule(wl, cfg, "mas")
    assert sched.built.buffers.recip[0] != sched.built.buffers.row_sum


MORE_S_CASES = [  # config, workload, mas tiling with three or more S buffers
    ("tiny", Workload(17, 23, 16, causal=True), Tiling(4, 4, score_buffers=3)),
    ("tiny", Workload(13, 21, 16, heads=2), Tiling(4, 4, False, score_buffers=3)),
    ("tiny", Workload(40, 5, 16, causal=True), Tiling(4, 4, score_buffers=3)),  # rows see no key
    ("tiny", Workload(20, 12, 16), Tiling(4, 4, score_buffers=3)),      # three chunks: all kept
    ("tiny", Workload(13, 21, 16, heads=2), Tiling(4, 4, False, score_buffers=4)),
    ("tiny", Workload(20, 20, 16), Tiling(4, 4, False, score_buffers=5)),   # whole rows kept
    # a derived configuration with twice the scratchpad: six buffers, whole rows under a mask
    ("tiny+spad_bank_lines=128", Workload(20, 24, 16, causal=True), Tiling(4, 4, score_buffers=6)),
    ("default", Workload(100, 300, 64, causal=True, s_o=1 / 64), Tiling(16, 32, score_buffers=3)),
    ("default", Workload(64, 512, 64, heads=2), Tiling(32, 64, False, score_buffers=3)),
]


@pytest.mark.parametrize("cfg_name, wl, tiling", MORE_S_CASES,
                         ids=[f"{c}-{w.seq_q}x{w.seq_kv}-{t.describe()}"
                              for c, w, t in MORE_S_CASES])
def test_more_score_buffers_are_bit_exact_and_keep_more_chunks(cfg_name, wl, tiling):
    """mas with n > 2 S buffers (Tiling.score_buffers): the max pass leaves its last n chunks
    of scores on chip, so a block of c chunks recomputes max(c - n, 0) Q·Kᵀ in its exp pass
    instead of c - 2; the program is bit-exact under strict overwrite control, and its
    integers are those of two buffers (and so of every strategy)."""
    sched, out, want = _run_model(cfg_name, wl, tiling, "mas")
    bad = np.argwhere(out != want)
    assert bad.size == 0, f"{len(bad)} outputs differ, first {bad[0]}"
    assert sched.strict
    two = replace(tiling, score_buffers=2)
    sched2, out2, _ = _run_model(cfg_name, wl, two, "mas")
    assert np.array_equal(out, out2)
    n = tiling.score_buffers
    buf = sched.built.buffers
    assert len(set(buf.scores)) == n and sched.built.plan.scores
    assert {u.slot for u in sched.built.plan.scores.values()} == set(range(n))
    t = tiling
    blocks = [chunk_count(wl, t.chunk_keys, q0, min(t.block_rows, wl.seq_q - q0))
              for q0 in range(0, wl.seq_q, t.block_rows)] * wl.heads_total
    for kept, built in ((n, sched), (2, sched2)):
        # a block of c chunks: c Q·Kᵀ in the max pass, and its exp pass recomputes the chunks
        # the last `kept` max items no longer hold (a one-chunk block: one Q·Kᵀ)
        want_qk = sum(1 if c == 1 else c + max(c - kept, 0) for c in blocks)
        assert sum(i.note.startswith("S = Q·Kᵀ") for i in built.instructions) == want_qk


def test_the_search_keeps_whole_rows_where_they_fit():
    """With twice `default`'s scratchpad (a derived configuration) BERT N = 512's eight chunks
    of scores fit per block, and the search picks whole rows (no Q·Kᵀ recomputed): the
    docs/scheduler.md what-if. On `default` itself they do not fit."""
    wl = Workload(512, 512, 64)
    big = build_schedule(wl, load_config("default+spad_bank_lines=256"), "mas")
    assert (big.tiling.block_rows, big.tiling.chunk_keys, big.tiling.score_buffers) == (32, 64, 8)
    assert sum(i.note.startswith("S = Q·Kᵀ") for i in big.instructions) == 16 * 8
    assert all(c.tiling.score_buffers != 8 or not c.legal
               for c in build_schedule(wl, load_config("default"), "mas").candidates)


def test_score_buffers_two_is_the_default_program_and_only_mas_chooses():
    """Tiling.score_buffers = 2 is the tiling as before (the same words, the same memory map
    entry); only mas takes the S buffer count from the tiling."""
    cfg, wl = load_config("tiny"), Workload(17, 23, 16, causal=True)
    for strategy in STRATEGIES:
        plain = build_schedule(wl, cfg, strategy, Tiling(4, 8))
        assert build_schedule(wl, cfg, strategy, Tiling(4, 8, score_buffers=2)).words == \
            plain.words
        assert "score_buffers" not in plain.memory_map()["tiling"]
        if strategy != "mas":
            with pytest.raises(ScheduleError, match="S buffer count is for pipelined"):
                build_schedule(wl, cfg, strategy, Tiling(4, 8, score_buffers=3))
    three = build_schedule(wl, cfg, "mas", Tiling(4, 4, score_buffers=3))
    assert three.memory_map()["tiling"]["score_buffers"] == 3
    assert "s2" in three.memory_map()["scratchpad"]
    with pytest.raises(ScheduleError, match=f"2 to {MAX_SCORE_BUFFERS} S buffers"):
        build_schedule(wl, cfg, "mas", Tiling(4, 4, score_buffers=MAX_SCORE_BUFFERS + 1))


FLAT_CASES = [  # config, workload, full-row tiling: V chunks wider than K chunks, one V buffer
    ("tiny", Workload(100, 100, 16, causal=True), Tiling(4, 16, False, 16, 1)),
    ("tiny", Workload(37, 53, 16, heads=2), Tiling(4, 8, True, 16, 1)),
    ("tiny", Workload(30, 90, 16, causal=True), Tiling(2, 4, False, 32, 2)),
    ("tiny", Workload(40, 5, 16, causal=True), Tiling(6, 4, True, 8, 2)),    # rows see no key
    ("default", Workload(70, 200, 64, causal=True, s_o=1 / 64), Tiling(19, 32, True, 128, 1)),
    ("default", Workload(70, 200, 64, causal=True), Tiling(9, 16, True, 208, 2)),
    ("default", Workload(33, 130, 48, batch=2), Tiling(21, 16, True, 144, 2)),
]


@pytest.mark.parametrize("cfg_name, wl, tiling", FLAT_CASES,
                         ids=[f"{c}-{w.seq_q}x{w.seq_kv}-{t.describe()}" for c, w, t in FLAT_CASES])
def test_flat_tilings_match_golden_on_the_model(cfg_name, wl, tiling):
    """FLAT's own tiling space (K and V chunks of different widths, one or two V buffers,
    block heights that are not powers of two) is bit-exact too."""
    sched, out, want = _run_model(cfg_name, wl, tiling, "flat")
    assert sched.tiling == tiling
    bad = np.argwhere(out != want)
    assert bad.size == 0, f"{len(bad)} outputs differ, first {bad[0]}"


@pytest.mark.parametrize("config, wl, messages", [
    ("tiny", Workload(1024, 1024, 16), ["one query row of 1024 keys takes 256 scratchpad lines",
                                        "at most 448 keys fit on 'tiny'",
                                        "1024 keys fit on configuration 'default', 'small'"]),
    ("small", Workload(3072, 3072, 64), ["configuration's DRAM", "does not fit in 16777216 bytes",
                                         "one head could fit with sequences of at most 1776"]),
])
def test_flat_that_cannot_fit_says_what_would(config, wl, messages):
    """Checked in milliseconds from the layout and the programs' lower bound, before any
    search (firmware_gen and make sim call this first)."""
    from scheduler.search import check_full_rows_fit
    with pytest.raises(ScheduleError) as err:
        check_full_rows_fit(wl, load_config(config), "flat")
    for message in messages:
        assert message in str(err.value)
    check_full_rows_fit(Workload(448, 448, 16), load_config("tiny"), "flat")   # fits


def _conflicts(footprint, a, b) -> bool:
    ra, wa = footprint.of(a.mnemonic, a.fields)
    rb, wb = footprint.of(b.mnemonic, b.fields)
    return bool(wa & (rb | wb) or wb & ra)


@pytest.mark.parametrize("strategy", [*STRATEGIES, "mas-3S"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_semaphores_order_every_dependency(strategy, seed):
    cfg = load_config("tiny")
    strategy, _, three = strategy.partition("-")     # mas-3S: mas with three S buffers
    prog = AttentionProgram(Workload(13, 21, 16, heads=2, causal=seed == 2), cfg,
                            Tiling(4, 8 if not three else 4, separate_x=seed != 3,
                                   score_buffers=3 if three else 2), strategy)
    insns = prog.insns
    rnd = random.Random(seed)
    timeline: list = []
    predict(cfg, insns, cost=lambda insn: rnd.choice([1, 2, 5, 30, 200]), timeline=timeline)
    sems_used = {s for i in insns for s in i.waits | i.signals}
    assert len(sems_used) <= isa.NUM_SEMAPHORES
    checked = 0
    for j, later in enumerate(insns):
        for earlier in insns[:j]:
            if earlier.queue == later.queue or not _conflicts(Footprint(cfg), earlier, later):
                continue
            checked += 1
            assert timeline[earlier.index][1] < timeline[later.index][0], (
                f"{strategy}: insn {later.index} ({later.note}) started before insn "
                f"{earlier.index} ({earlier.note}) it depends on had finished")
    assert checked > 50


def _dram_bytes_loaded(prog: AttentionProgram, tensor: str) -> int:
    t = prog.tensors[tensor]
    return sum(i.fields["rows"] * i.fields["row_bytes"] for i in prog.insns
               if i.mnemonic == "DMA_LOAD" and t.addr <= i.fields["dram_addr"] < t.addr + t.nbytes)


@pytest.mark.parametrize("strategy", ["serial", "mas"])
@pytest.mark.parametrize("wl", [Workload(100, 60, 64, heads=2),     # one chunk per block
                                Workload(100, 128, 64, causal=True),  # two chunks, two passes
                                Workload(70, 128, 64)])
def test_keys_that_fit_the_two_buffers_are_fetched_once(strategy, wl):
    """With at most two chunks per block, K and V stay in their two buffers: the fused
    strategies read each from DRAM once per head; layer-wise reads them for every block."""
    cfg, tiling = load_config("default"), Tiling(16, 64)
    prog = AttentionProgram(wl, cfg, tiling, strategy)
    once = wl.heads_total * wl.seq_kv * wl.head_dim
    assert _dram_bytes_loaded(prog, "k") == _dram_bytes_loaded(prog, "v") == once
    unfused = AttentionProgram(wl, cfg, tiling, "layerwise")
    blocks = -(-wl.seq_q // tiling.block_rows)
    if wl.causal:     # early blocks skip the chunks they cannot see
        assert once < _dram_bytes_loaded(unfused, "v") < blocks * once
    else:
        assert _dram_bytes_loaded(unfused, "v") == blocks * once


@pytest.mark.parametrize("strategy", ["flat", "serial"])
def test_serialized_strategies_never_overlap_matrix_and_vector(strategy):
    cfg = load_config("default")
    sched = build_schedule(Workload(100, 100, 64), cfg, strategy, Tiling(16, 32))
    assert sched.prediction.overlap == 0
    mas = build_schedule(Workload(100, 100, 64), cfg, "mas", Tiling(16, 32))
    assert mas.prediction.overlap > 0.5 * mas.prediction.busy["VECTOR"]
    if strategy == "serial":    # the same dataflow, only serialized
        assert mas.prediction.cycles < sched.prediction.cycles


def test_flat_keeps_whole_rows_and_rereads_keys_per_block():
    """FLAT: one softmax per block over all its keys (no max pass, no recomputation: Q·Kᵀ
    issues exactly the block's chunks once), K and V read again for every block when they do
    not fit on chip, and its block height bounded by the whole score rows that fit."""
    cfg = load_config("default")
    wl = Workload(512, 512, 64)
    prog = AttentionProgram(wl, cfg, Tiling(8, 64, separate_x=False), "flat")
    blocks = 512 // 8
    qk = [i for i in prog.insns if i.note.startswith("S = Q·Kᵀ")]
    assert len(qk) == blocks * 512 // 64
    assert sum(i.note.startswith("m = rowmax") for i in prog.insns) == blocks
    rmax = next(i for i in prog.insns if i.note.startswith("m = rowmax"))
    assert rmax.fields["row_len"] == 512
    once = wl.seq_kv * wl.head_dim
    assert _dram_bytes_loaded(prog, "k") == _dram_bytes_loaded(prog, "v") == blocks * once
    with pytest.raises(ScheduleError, match="scratchpad regions"):
        AttentionProgram(wl, cfg, Tiling(32, 64, separate_x=False), "flat")  # S: 64 KiB
    small = load_config("small")
    tiling = build_schedule(wl, small, "flat").tiling
    assert tiling.block_rows <= 8, tiling.describe()


def test_search_picks_the_fastest_legal_tiling():
    cfg = load_config("default")
    sched = build_schedule(Workload(256, 256, 64), cfg, "mas")
    legal = [c for c in sched.candidates if c.legal]
    assert len(legal) >= 4 and any(not c.legal for c in sched.candidates)
    chosen = next(c for c in legal if c.tiling == sched.tiling)
    assert chosen.cycles == min(c.cycles for c in legal if c.cycles is not None)
    # candidates left out by the branch and bound: their bound is above the pick
    assert all(c.bound > chosen.cycles for c in legal if c.cycles is None)


@pytest.mark.parametrize("config, wl", [
    ("tiny", Workload(37, 53, 16, causal=True)),
    ("default", Workload(256, 256, 64)),
    ("default", Workload(100, 300, 128, causal=True)),
    ("small", Workload(197, 197, 64)),
])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_branch_and_bound_search_is_the_exhaustive_one(config, wl, strategy):
    """The search predicts only candidates whose lower bound can still win; its pick, and its
    five best with top=5, are the exhaustive search's (every legal candidate predicted), and
    every bound is at most its candidate's prediction (cost.LowerBound is a bound)."""
    cfg = load_config(config)
    pick, some = search(wl, cfg, strategy)
    every_pick, every = search(wl, cfg, strategy, top=EVERY)
    assert pick == every_pick
    assert [c.tiling for c in some] == [c.tiling for c in every]
    legal = [c for c in every if c.legal]
    assert legal and all(c.cycles is not None and c.bound <= c.cycles for c in legal)
    key = lambda c: (c.cycles, -c.tiling.block_rows, c.tiling.score_buffers)  # noqa: E731
    assert pick == min(legal, key=key).tiling
    _, five = search(wl, cfg, strategy, top=5)
    best5 = sorted(c.cycles for c in legal)[:5]
    assert sorted(c.cycles for c in five if c.cycles is not None)[:5] == best5
    # what the branch and bound left out could not have been among the five
    assert all(c.bound > best5[-1] for c in five if c.legal and c.cycles is None)


@pytest.mark.parametrize("wl, config, message", [
    (Workload(0, 10, 64), "default", "seq_q = 0"),
    (Workload(10, 5000, 64), "default", "seq_kv = 5000"),
    (Workload(10, 10, 256), "default", "head_dim = 256"),
    (Workload(10, 10, 8), "default", "head_dim = 8"),
    (Workload(10, 10, 128), "tiny", "head_dim <= "),
    (Workload(10, 10, 64, s_q=0), "default", "s_q = 0"),
])
def test_bad_workloads_say_what_is_wrong(wl, config, message):
    with pytest.raises(ScheduleError, match=message.replace("(", r"\(")):
        build_schedule(wl, load_config(config), "mas")


def test_dram_too_small_is_reported():
    with pytest.raises(ScheduleError, match="bytes of DRAM"):
        build_schedule(Workload(512, 512, 64, heads=4), load_config("default"), "layerwise",
                       Tiling(32, 64), dram_bytes=1 << 20)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("wl, tiling", [
    (Workload(20, 13, 20, heads=2, causal=True), None),
    (Workload(33, 70, 32, causal=True), None),
    (Workload(40, 17, 16, heads=3), Tiling(4, 4)),
    (Workload(9, 30, 16, causal=True), Tiling(2, 8, separate_x=False)),
    (Workload(30, 9, 16, causal=True), Tiling(4, 4)),
])
def test_program_size_lower_bound_holds(strategy, wl, tiling):
    """min_instructions (the up-front DRAM check) never exceeds a real program's length, and
    its chunk count is the plan's."""
    sched = build_schedule(wl, load_config("tiny"), strategy, tiling)
    t = sched.tiling
    bound = min_instructions(wl, t.block_rows, t.chunk_keys, sched.built.geometry.bv)
    assert bound <= len(sched.words) < 4 * bound
    for q0 in range(0, wl.seq_q, t.block_rows):
        rows = min(t.block_rows, wl.seq_q - q0)
        assert chunk_count(wl, t.chunk_keys, q0, rows) == len(chunks(wl, t.chunk_keys, q0, rows))


def test_dram_is_checked_before_anything_is_built():
    cfg = load_config("default")
    # the tensors alone: refused before the search, with the heads that could fit
    with pytest.raises(ScheduleError, match=r"its tensors take 33554432 bytes; at most 8 of its "
                                            r"16 heads"):
        build_schedule(Workload(4096, 4096, 128, heads=16), cfg, "mas")
    with pytest.raises(ScheduleError, match="one head could fit with sequences of at most .*"
                                            "layerwise keeps S and P in DRAM"):
        build_schedule(Workload(4096, 4096, 64), cfg, "layerwise")
    # the program's lower bound, once the tiling is known (was: minutes and gigabytes)
    with pytest.raises(ScheduleError, match=r"its program at least \d+ bytes"):
        build_schedule(Workload(4096, 4096, 128, heads=6), cfg, "mas", Tiling(16, 32, False))
    # between the bound and the real size, emission stops as soon as the program cannot fit
    wl, tiling = Workload(64, 64, 16, heads=2), Tiling(4, 4)
    tiny = load_config("tiny")
    full = build_schedule(wl, tiny, "mas", tiling)
    bound = min_instructions(wl, 4, 4) * isa.INSN_BYTES
    dram = full.prog_base + (bound + len(full.words) * isa.INSN_BYTES) // 2
    with pytest.raises(ScheduleError, match="instructions left after them"):
        build_schedule(wl, tiny, "mas", tiling, dram_bytes=dram)
