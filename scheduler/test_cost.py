"""The cost model's DRAM: one channel shared by both DMA queues (the configuration's DRAM), none
for the unlimited model, which predicts as before the bandwidth limit."""

from __future__ import annotations

import pytest

from hwdef import isa, load_config
from scheduler import Workload, build_schedule
from scheduler.cost import Channel, CostParams, insn_cycles, predict
from scheduler.search import EVERY, search
from scheduler.sync import Insn


def _dma(index: int, mnemonic: str, beats: int, cfg, position: int = 0) -> Insn:
    lb = cfg.line_bytes
    fields = dict(dram_addr=0, dram_stride=beats * lb, rows=1, row_bytes=beats * lb,
                  spad_addr=0, spad_pitch=1)
    if mnemonic == "DMA_LOAD":
        fields.update(pad_rows=1, pad_bytes=beats * lb)
        queue = isa.Queue.DMA_IN
    else:
        queue = isa.Queue.DMA_OUT
    return Insn(index, mnemonic, fields, queue, position)


def test_channel_books_free_cycles_from_ready():
    ch = Channel()
    assert ch.book(10, 5) == 15                 # [10, 15)
    assert ch.book(0, 4) == 4                   # before it
    assert ch.book(2, 10) == 19                 # [4, 10) and [15, 19): split over the gaps
    assert (ch.starts, ch.ends) == ([0], [19])  # merged into one busy interval
    assert ch.book(30, 1) == 31


def test_load_and_store_share_the_channel():
    """A load and a store of 64 beats each at 16 B/cycle on default: 256 channel cycles each.
    Alone, either streams at the bandwidth; together, they take the sum (half-duplex); the
    unlimited DRAM runs them side by side at a beat per cycle each."""
    cfg = load_config("default")
    load, store = _dma(0, "DMA_LOAD", 64, cfg), _dma(1, "DMA_STORE", 64, cfg)
    config = CostParams(dram="config")
    alone = predict(cfg, [load], config).cycles
    both = predict(cfg, [load, store], config).cycles
    assert insn_cycles(cfg, load, config) == 8 + 100 + 256
    assert both >= alone + 256 - 8 - 2
    unlimited = predict(cfg, [load, store], CostParams(dram="unlimited")).cycles
    assert unlimited == predict(cfg, [load], CostParams()).cycles + 1   # dispatched a cycle later
    assert unlimited < alone


def test_bandwidth_override_and_zero_means_unlimited():
    cfg = load_config("small")
    load = _dma(0, "DMA_LOAD", 32, cfg)
    assert insn_cycles(cfg, load, CostParams(dram="config")) == 8 + 100 + 32 * 64 / 8
    assert insn_cycles(cfg, load, CostParams(dram="config", dram_bytes_per_cycle=32)) == \
        8 + 100 + 32 * 64 / 32
    assert insn_cycles(cfg, load, CostParams(dram="config", dram_bytes_per_cycle=0)) == \
        8 + 100 + 32
    assert insn_cycles(cfg, load, CostParams()) == 8 + 20 + 32     # the unlimited model


@pytest.mark.parametrize("config", ["default", "small"])
def test_search_ranks_on_the_configured_dram_whatever_the_run_uses(config):
    """build_schedule predicts with the DRAM it is given; the program is the same, and the
    search ranked its candidates with the configuration's DRAM: at N = 128 (its own proxy) the
    chosen candidate's figure is the configured prediction, the fastest of all."""
    cfg, wl = load_config(config), Workload(128, 128, 64)
    real = build_schedule(wl, cfg, "mas")
    ideal = build_schedule(wl, cfg, "mas", dram="unlimited")
    assert real.words == ideal.words and (real.dram, ideal.dram) == ("config", "unlimited")
    assert ideal.prediction == predict(cfg, ideal.instructions)
    assert real.prediction.cycles > ideal.prediction.cycles
    chosen = next(c for c in real.candidates if c.tiling == real.tiling)
    assert chosen.cycles == real.prediction.cycles
    assert chosen.cycles == min(c.cycles for c in real.candidates if c.cycles is not None)
    with pytest.raises(Exception, match="DRAM model 'fast'"):
        build_schedule(wl, cfg, "mas", dram="fast")


@pytest.mark.parametrize("config, n, third", [("default", 197, True), ("small", 128, False)])
def test_search_takes_a_third_score_buffer_where_the_model_says_it_is_faster(config, n, third):
    """mas's tiling space has two, three and whole-row S buffers (Tiling.score_buffers; whole
    rows do not fit at these sizes). With a third,
    a block's exp pass starts on three kept chunks of scores (one Q·Kᵀ less per block); it
    costs a chunk of int32 scores on chip. On `default` at
    N = 197 it fits next to Br = 32 blocks (in place) and the model ranks it first (8% fewer
    cycles); on `small` it only fits with shorter blocks, which the model ranks slower. Either
    way the search takes what the model ranks fastest."""
    cfg, wl = load_config(config), Workload(n, n, 64)
    sched = build_schedule(wl, cfg, "mas")
    pick, every = search(wl, cfg, "mas", top=EVERY)
    assert sched.tiling == pick
    legal = [c for c in every if c.cycles is not None]
    best = {k: min(c.cycles for c in legal if c.tiling.score_buffers == k) for k in (2, 3)}
    chosen = next(c for c in legal if c.tiling == sched.tiling)
    assert chosen.cycles == min(best.values())
    assert (sched.tiling.score_buffers == 3) == third == (best[3] < best[2])
    assert any(not c.legal and c.tiling.score_buffers == 3 and "scratchpad regions"
               in c.reason for c in sched.candidates)       # where it does not fit
    if third:   # the whole workload's prediction too, against the best two-buffer tiling
        two = next(c.tiling for c in legal if c.cycles == best[2])
        assert sched.prediction.cycles < build_schedule(wl, cfg, "mas", two).prediction.cycles


@pytest.mark.parametrize("inflight", [1, 2])
@pytest.mark.parametrize("strategy", ["layerwise", "flat", "serial", "mas"])
def test_lower_bound_is_below_the_prediction(strategy, inflight):
    """cost.LowerBound follows predict's rules: with the matrix engine holding one or two
    MATMULs, on the configured and the unlimited DRAM, without the MATMUL gap, the bound of
    the instructions alone (emitted without semaphores: the same instructions and fields) is
    at most the prediction of the program with its semaphores. It is not trivial either
    (above a quarter of it; layerwise, whose queues wait on each other through DRAM, is where
    it is loosest: about half)."""
    from dataclasses import replace

    from scheduler import strategies
    from scheduler.cost import lower_bound
    from scheduler.program import AttentionProgram
    cfg = replace(load_config("default"), matmul_inflight=inflight)
    wl = Workload(100, 300, 64, causal=True)
    tiling = build_schedule(wl, load_config("default"), strategy).tiling
    full = AttentionProgram(wl, cfg, tiling, strategy)
    fields = AttentionProgram(wl, cfg, tiling, strategy, dependencies=False)
    assert ([(i.mnemonic, i.fields, i.queue) for i in fields.insns]
            == [(i.mnemonic, i.fields, i.queue) for i in full.insns])
    assert not any(i.waits or i.signals for i in fields.insns)
    serialize = strategies.get(strategy).serialize
    for p in (CostParams(), CostParams(dram="config"), CostParams(matmul_gap=0)):
        bound = lower_bound(cfg, fields.insns, p, serialize)
        cycles = predict(cfg, full.insns, p).cycles
        assert cycles / 4 < bound <= cycles, (p, bound, cycles)
