"""Tiling search: enumerate the legal tilings of a workload on a configuration, predict each
with the cost model, keep the fastest.

Candidates: block rows Br in multiples of the array size (a row block shorter than the array
leaves weight loads exposed, so fractions are tried only when nothing else fits), key chunks
Bc in powers of two times the array size plus "all keys in one chunk" (one pass, no
recomputation of Q·Kᵀ), with and without the separate X buffer. A candidate is legal when its
accumulator rows and its region-aligned scratchpad buffers fit (scheduler/program.py raises
otherwise). Large workloads are ranked on a proxy: one head and a bounded number of query rows
(the last ones, which under a causal mask see the most keys), scaled back up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hwdef import HwConfig
from scheduler.cost import predict
from scheduler.program import AttentionProgram, Tiling
from scheduler.workload import ScheduleError, Workload

PROXY_ROWS = 256


@dataclass
class Candidate:
    tiling: Tiling
    cycles: float | None     # predicted for the full workload (None: illegal)
    reason: str = ""


def candidate_tilings(wl: Workload, cfg: HwConfig) -> list[Tiling]:
    dim = cfg.array_dim
    nq_pad = -(-wl.seq_q // dim) * dim
    nk_pad = -(-wl.seq_kv // dim) * dim
    rows = sorted({min(m * dim, nq_pad) for m in (1, 2, 3, 4, 6, 8)}
                  | {r for r in (dim // 2, dim // 4) if r >= 1})
    chunks, bc = set(), dim
    while bc < nk_pad:
        chunks.add(bc)
        bc *= 2
    chunks.add(nk_pad)
    return [Tiling(br, bc, x) for br in rows for bc in sorted(chunks) for x in (True, False)]


def _proxy(wl: Workload) -> tuple[Workload, float]:
    rows = min(wl.seq_q, PROXY_ROWS)
    scale = wl.heads_total * wl.seq_q / rows
    if rows == wl.seq_q and wl.heads_total == 1:
        return wl, 1.0
    # keep the last `rows` queries: same keys, same causal offset for them
    return replace(wl, seq_q=rows, heads=1, batch=1,
                   seq_kv=wl.seq_kv), scale


def search(wl: Workload, cfg: HwConfig, strategy: str) -> tuple[Tiling, list[Candidate]]:
    proxy, scale = _proxy(wl)
    if wl.causal and proxy.seq_q != wl.seq_q:
        # bottom-right causal mask of the proxy = the last rows of the full workload
        pass
    results: list[Candidate] = []
    for tiling in candidate_tilings(wl, cfg):
        if tiling.block_rows < cfg.array_dim and any(
                c.cycles is not None for c in results):
            continue    # fractional row blocks only as a last resort
        try:
            prog = AttentionProgram(proxy, cfg, tiling, strategy)
        except ScheduleError as exc:
            results.append(Candidate(tiling, None, str(exc)))
            continue
        results.append(Candidate(tiling, predict(cfg, prog.em.insns).cycles * scale))
    legal = [c for c in results if c.cycles is not None]
    if not legal:
        raise ScheduleError(_nothing_fits(wl, cfg, strategy, results))
    best = min(legal, key=lambda c: (c.cycles, -c.tiling.block_rows))
    return best.tiling, results


def _nothing_fits(wl: Workload, cfg: HwConfig, strategy: str, results) -> str:
    smallest = min(results, key=lambda c: (c.tiling.block_rows, c.tiling.chunk_keys))
    hint = ""
    for d in range(wl.head_dim - cfg.array_dim, 0, -cfg.array_dim):
        try:
            AttentionProgram(replace(wl, head_dim=d, seq_q=min(wl.seq_q, cfg.array_dim),
                                     heads=1, batch=1), cfg, smallest.tiling, strategy)
        except ScheduleError:
            continue
        hint = f"; head_dim <= {d} would fit on '{cfg.name}'"
        break
    return (f"no tiling of {wl.describe()} fits the '{cfg.name}' configuration "
            f"({cfg.summary()}) with strategy {strategy}: the smallest, "
            f"{smallest.tiling.describe()}, fails because {smallest.reason}{hint}; "
            f"a configuration with a larger scratchpad would fit")
