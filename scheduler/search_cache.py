"""The tiling search's answers kept on disk, by workload shape and configuration.

The search (scheduler/search.py) is deterministic: the same workload shape, hardware
definition, strategy and DRAM size give the same pick and the same candidates. Of the scales
only one fact plays a part: whether the output scale is V's (otherwise every block carries one
more MULSHR, step 8b of docs/numerics.md); the values themselves do not, since the cost model
times instructions, not the constants they carry. Regressions, `make sim` and the bench ask
the same questions again and again (every strategy of a shape, every rerun), and a search
takes up to a few seconds at long sequences, so each answer is stored once under
`sim_build/search-cache/` (NPU_SIM_BUILD moves it with the builds).

The key hashes the workload's shape (sequences, head dimension, heads, batch, mask) and
whether its output scale is V's, the hardware definition's fingerprint (hwdef/fingerprint.py),
the strategy, the DRAM size, and the sources the search runs (scheduler, the model's operand
rules, the program encoder, hwdef): a change to any of them invalidates every entry. A damaged
entry is ignored and rewritten; a pick that no longer builds (scheduler/schedule.py) is
dropped and searched again. NPU_SEARCH_CACHE=0 turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from functools import cache
from pathlib import Path

from hwdef import HwConfig
from hwdef.fingerprint import fingerprint
from scheduler.tiling import Tiling
from scheduler.workload import Workload

REPO = Path(__file__).resolve().parents[1]
# The search's code: the scheduler, the operand rules and work counts it takes from the model,
# the program encoder, the hardware definition.
SEARCHED_SOURCES = ("scheduler", "npu_model", "firmware_gen", "hwdef")
_SHAPE = ("seq_q", "seq_kv", "head_dim", "heads", "batch", "causal")


def enabled() -> bool:
    return os.environ.get("NPU_SEARCH_CACHE", "1") != "0"


def cache_dir() -> Path:
    from tools.rtl_sources import SIM_BUILD
    return SIM_BUILD / "search-cache"


@cache
def _sources_digest() -> str:
    h = hashlib.sha256()
    for top in SEARCHED_SOURCES:
        for path in sorted((REPO / top).rglob("*")):
            if (path.suffix in (".py", ".toml") and "__pycache__" not in path.parts
                    and not path.name.startswith("test_")):
                h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def key(wl: Workload, cfg: HwConfig, strategy: str, dram_bytes: int | None) -> str:
    text = json.dumps({"shape": {f: getattr(wl, f) for f in _SHAPE},
                       "output_scale_is_v": wl.output.is_identity,
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
    text = json.dumps({"pick": asdict(pick),
                       "candidates": [{"tiling": asdict(c.tiling), "cycles": c.cycles,
                                       "reason": c.reason, "bound": c.bound}
                                      for c in candidates]})
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{k}.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, directory / f"{k}.json")
    except OSError:
        pass    # a read-only or full disk only costs the next search its time


def drop(k: str) -> None:
    """Forget the answer under *k* (a pick that no longer builds)."""
    (cache_dir() / f"{k}.json").unlink(missing_ok=True)
