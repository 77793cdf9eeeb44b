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

from hwdef import HwConfig, config_names, isa, load_config
from scheduler.cost import predict
from scheduler.program import AttentionProgram
from scheduler.tiling import Tiling
from scheduler.workload import MIN_HEAD_DIM, ScheduleError, Workload

PROXY_ROWS = 128


@dataclass
class Candidate:
    tiling: Tiling
    cycles: float | None     # predicted for the full workload (None: illegal)
    reason: str = ""


def candidate_tilings(wl: Workload, cfg: HwConfig) -> list[Tiling]:
    dim = cfg.array_dim
    nq_pad = -(-wl.seq_q // dim) * dim
    nk_pad = -(-wl.seq_kv // dim) * dim
    rows = sorted({min(m * dim, nq_pad) for m in (1, 2, 3, 4, 6, 8)})
    rows += [r for r in (dim // 2, dim // 4) if r >= 1 and r < rows[0]]   # last resort
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
    # `rows` queries against all keys; a bottom-right causal mask then shows them the last
    # rows' view (the most keys): the proxy errs on the expensive side for every candidate.
    return replace(wl, seq_q=rows, heads=1, batch=1), scale


def search(wl: Workload, cfg: HwConfig, strategy: str) -> tuple[Tiling, list[Candidate]]:
    proxy, scale = _proxy(wl)
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
        results.append(Candidate(tiling, predict(cfg, prog.insns).cycles * scale))
    legal = [c for c in results if c.cycles is not None]
    if not legal:
        raise ScheduleError(_nothing_fits(wl, cfg, strategy, results))
    best = min(legal, key=lambda c: (c.cycles, -c.tiling.block_rows))
    return best.tiling, results


def tiling_fits(wl: Workload, cfg: HwConfig, tiling: Tiling, strategy: str) -> bool:
    """Whether *tiling* fits the configuration (accumulator rows, scratchpad buffers). Buffer
    sizes depend on the tiling and the head dimension only, so one block decides it quickly."""
    small = replace(wl, seq_q=min(wl.seq_q, tiling.block_rows), heads=1, batch=1,
                    seq_kv=min(wl.seq_kv, max(tiling.chunk_keys, 1)))
    try:
        AttentionProgram(small, cfg, tiling, strategy)
    except (ScheduleError, isa.IsaError):
        return False
    return True


def fitting_tilings(wl: Workload, cfg: HwConfig, strategy: str, forced: Tiling) -> str:
    """What to say when a forced tiling does not fit: the largest block of each key chunk
    size that does (command-line flags of `firmware_gen attention`)."""
    tilings = candidate_tilings(wl, cfg)
    rows = sorted({t.block_rows for t in tilings}, reverse=True)
    mode = "" if forced.separate_x else " --in-place"
    fits = []
    for bc in sorted({t.chunk_keys for t in tilings}):
        br = next((br for br in rows
                   if tiling_fits(wl, cfg, Tiling(br, bc, forced.separate_x), strategy)), None)
        if br is not None:
            fits.append(f"--block-rows {br} --chunk-keys {bc}{mode}")
    if not fits:
        return "no tiling of this workload fits (leave the tiling out to see why)"
    return ("tilings that fit (largest block per chunk): " + ", ".join(fits)
            + "; or leave the tiling out to search the fastest")


def _least_demanding(wl: Workload, cfg: HwConfig) -> Tiling:
    """The candidate needing the fewest accumulator rows and scratchpad lines: the shortest
    row block, one array-wide key chunk, S-X ping-pong in place."""
    return Tiling(min(t.block_rows for t in candidate_tilings(wl, cfg)), cfg.array_dim, False)


def _fits(wl: Workload, cfg: HwConfig, strategy: str) -> bool:
    """Whether some tiling fits (buffer sizes depend on the head dimension and the tiling, not
    on the sequence lengths or head count: a one-block workload decides it quickly)."""
    small = replace(wl, seq_q=min(wl.seq_q, cfg.array_dim), seq_kv=min(wl.seq_kv, cfg.array_dim),
                    heads=1, batch=1)
    try:
        AttentionProgram(small, cfg, _least_demanding(small, cfg), strategy)
    except ScheduleError:
        return False
    return True


def _nothing_fits(wl: Workload, cfg: HwConfig, strategy: str, results) -> str:
    dim = cfg.array_dim
    least = _least_demanding(wl, cfg)
    reason = next((c.reason for c in results if c.tiling == least), "")
    d_pad = -(-wl.head_dim // dim) * dim
    acc_need = least.block_rows * (least.chunk_keys + d_pad) // dim
    if acc_need > cfg.acc_lines:
        limit = (f"the accumulators are the limit: P·V of d={wl.head_dim} alone takes "
                 f"{least.block_rows * d_pad // dim} of the {cfg.acc_lines} accumulator rows "
                 f"per {least.block_rows}-row block")
    else:
        limit = (f"the scratchpad is the limit ({cfg.spad_regions} regions of "
                 f"{cfg.spad_region_lines} lines)")
    fixes = []
    for d in range(d_pad - dim, MIN_HEAD_DIM - 1, -dim):
        if _fits(replace(wl, head_dim=d), cfg, strategy):
            fixes.append(f"head_dim <= {d} fits on '{cfg.name}'")
            break
    others = [name for name in config_names()
              if name != cfg.name and _fits(wl, load_config(name), strategy)]
    if others:
        fixes.append(f"d={wl.head_dim} fits on configuration "
                     + ", ".join(f"'{name}'" for name in others))
    elif acc_need > cfg.acc_lines:
        fixes.append(f"a configuration with at least {acc_need} accumulator rows would fit")
    else:
        fixes.append("a configuration with a larger scratchpad would fit")
    return (f"no tiling of {wl.describe()} fits the '{cfg.name}' configuration with strategy "
            f"{strategy}; {limit}. Even the least demanding tiling fails: {reason}. "
            + "; ".join(fixes))
