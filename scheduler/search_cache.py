"""The tiling search's answers kept on disk, by workload shape and configuration.

The search (scheduler/search.py) is deterministic: the same workload shape, hardware
definition, strategy and DRAM size give the same pick and the same candidates, and the scales
play no part (the cost model times instructions, not the constants they carry). Regressions,
`make sim` and the bench ask the same questions again and again (every strategy of a shape,
every rerun), and a search takes up to a few seconds at long sequences, so each answer is
stored once under `sim_build/search-cache/` (NPU_SIM_BUILD moves it with the builds).

The key hashes the workload's shape (sequences, head dimension, heads, batch, mask), the
hardware definition's fingerprint (hwdef/fingerprint.py), the strategy, the DRAM size, and the
scheduler's own sources (a change to the search, the cost model or a strategy invalidates every
entry). A damaged entry is ignored and rewritten. NPU_SEARCH_CACHE=0 turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from functools import cache
from pathlib import Path

from hwdef import HwConfig
from hwdef.fingerprint import fingerprint
from scheduler.tiling import Tiling
from scheduler.workload import Workload

SCHEDULER_DIR = Path(__file__).resolve().parent
_SHAPE = ("seq_q", "seq_kv", "head_dim", "heads", "batch", "causal")


def enabled() -> bool:
    return os.environ.get("NPU_SEARCH_CACHE", "1") != "0"


def cache_dir() -> Path:
    from tools.rtl_sources import SIM_BUILD
    return SIM_BUILD / "search-cache"


@cache
def _sources_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(SCHEDULER_DIR.rglob("*.py")):
        if "__pycache__" not in path.parts and not path.name.startswith("test_"):
            h.update(str(path.relative_to(SCHEDULER_DIR)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def key(wl: Workload, cfg: HwConfig, strategy: str, dram_bytes: int | None) -> str:
    text = json.dumps({"shape": {f: getattr(wl, f) for f in _SHAPE},
                       "hardware": fingerprint(cfg), "strategy": strategy,
                       "dram_bytes": dram_bytes, "scheduler": _sources_digest()},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def load(k: str) -> tuple[Tiling, list] | None:
    """(pick, candidates) stored under *k*, or None (absent, damaged, or the cache off)."""
    from scheduler.search import Candidate
    if not enabled():
        return None
    try:
        data = json.loads((cache_dir() / f"{k}.json").read_text())
        pick = Tiling(**data["pick"])
        candidates = [Candidate(Tiling(**c["tiling"]), c["cycles"], c["reason"], c["bound"])
                      for c in data["candidates"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pick, candidates


def store(k: str, pick: Tiling, candidates: list) -> None:
    """Store an answer; written to a temporary file and renamed, so a reader never sees half
    of one (concurrent searches of one key write the same text)."""
    if not enabled():
        return
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f"{k}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({
            "pick": asdict(pick),
            "candidates": [{"tiling": asdict(c.tiling), "cycles": c.cycles,
                            "reason": c.reason, "bound": c.bound} for c in candidates]}))
        tmp.replace(directory / f"{k}.json")
    except OSError:
        pass    # a read-only or full disk only costs the next search its time
