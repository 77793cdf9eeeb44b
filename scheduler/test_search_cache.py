"""scheduler/search_cache.py: the search's answers kept on disk."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hwdef import derived_name, load_config
from scheduler import Workload, build_schedule, search_cache
from scheduler.search import search


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(search_cache, "cache_dir", lambda: tmp_path)
    monkeypatch.setenv("NPU_SEARCH_CACHE", "1")
    return tmp_path


def test_a_cached_answer_is_the_search_itself(cache):
    """The first build stores the search's pick and candidates; a second build of the same
    shape with other scales (the output scale still V's) reads them back, equal to a fresh
    search's; an output scale of its own is another entry."""
    cfg = load_config("tiny")
    wl = Workload(40, 40, 16, causal=True)
    first = build_schedule(wl, cfg, "mas")
    assert len(list(cache.glob("*.json"))) == 1
    second = build_schedule(replace(wl, s_q=0.01, s_v=0.02), cfg, "mas")
    fresh_pick, fresh = search(wl, cfg, "mas", cfg.dram_bytes)
    assert first.tiling == second.tiling == fresh_pick
    assert second.candidates == fresh == first.candidates
    assert len(list(cache.glob("*.json"))) == 1
    scaled = replace(wl, s_o=wl.s_v / 3)
    own = build_schedule(scaled, cfg, "mas")
    assert len(list(cache.glob("*.json"))) == 2
    assert own.candidates == search(scaled, cfg, "mas", cfg.dram_bytes)[1] != fresh


def test_a_cached_pick_that_no_longer_builds_is_searched_again(cache):
    """An entry whose pick cannot be built (a stale cache) is dropped and searched again."""
    from scheduler import search_cache as sc
    from scheduler.tiling import Tiling
    cfg = load_config("tiny")
    wl = Workload(24, 24, 16)
    want = build_schedule(wl, cfg, "mas").tiling
    k = sc.key(wl, cfg, "mas", cfg.dram_bytes)
    sc.store(k, Tiling(block_rows=4096, chunk_keys=4096), [])
    assert build_schedule(wl, cfg, "mas").tiling == want
    assert sc.load(k)[0] == want


def test_the_key_follows_shape_hardware_strategy_and_dram(cache):
    cfg = load_config("tiny")
    wl = Workload(40, 40, 16)
    k = search_cache.key(wl, cfg, "mas", 1 << 20)
    assert search_cache.key(replace(wl, s_k=0.5, s_v=0.1, s_o=0.1), cfg, "mas", 1 << 20) == k
    others = [search_cache.key(replace(wl, s_o=wl.s_v / 3), cfg, "mas", 1 << 20),
              search_cache.key(replace(wl, seq_kv=48), cfg, "mas", 1 << 20),
              search_cache.key(replace(wl, causal=True), cfg, "mas", 1 << 20),
              search_cache.key(wl, load_config(derived_name("tiny", acc_lines=64)), "mas",
                               1 << 20),
              search_cache.key(wl, cfg, "flat", 1 << 20),
              search_cache.key(wl, cfg, "mas", 1 << 21)]
    assert len({k, *others}) == 7


def test_a_damaged_entry_is_searched_again_and_rewritten(cache):
    cfg = load_config("tiny")
    wl = Workload(24, 24, 16)
    want = build_schedule(wl, cfg, "serial").tiling
    (entry,) = cache.glob("*.json")
    entry.write_text('{"pick": {"block_rows": ')
    assert search_cache.load(entry.stem) is None
    assert build_schedule(wl, cfg, "serial").tiling == want
    assert search_cache.load(entry.stem) is not None


def test_the_cache_can_be_turned_off(cache, monkeypatch):
    monkeypatch.setenv("NPU_SEARCH_CACHE", "0")
    build_schedule(Workload(24, 24, 16), load_config("tiny"), "mas")
    assert not list(cache.iterdir())
