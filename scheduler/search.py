"""Tiling search: enumerate the legal tilings of a workload on a configuration, predict each
with the cost model, keep the fastest.

Candidates: block rows Br in multiples of the array size (a row block shorter than the array
leaves weight loads exposed, so fractions are tried only when nothing else fits), key chunks
Bc in powers of two times the array size plus "all keys in one chunk" (one pass, no
recomputation of Q·Kᵀ), with and without the separate X buffer, and for a pipelined strategy
(mas) with two, three or as many S buffers as a block has chunks (score_buffer_counts: each
one more keeps one more chunk of max-pass scores per block, where the scratchpad has
room). A candidate is legal when its accumulator rows and its region-aligned scratchpad
buffers fit (scheduler/program.py raises otherwise). Large workloads are ranked on a proxy:
one head and a bounded number of query rows (the last ones, which under a causal mask see the
most keys), scaled back up.

Full-row strategies (FLAT) search their own space: for every K chunk Bc, V chunk Bv, one or
two V buffers and in-place or separate X, the tallest block of whole score rows that fits
(found from the buffer layout alone, without building a program; FLAT's block height is
bounded by the rows of scores that fit on chip, and a taller block reads K and V fewer
times), then the fastest of those by the cost model.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from math import lcm

from hwdef import HwConfig, config_names, isa, load_config
from scheduler import strategies
from scheduler.cost import CostParams, LowerBound, predict
from scheduler.layout import place_spad
from scheduler.program import AttentionProgram, check_dram
from scheduler.tiling import MAX_SCORE_BUFFERS, Geometry, Tiling
from scheduler.workload import MIN_HEAD_DIM, ScheduleError, Workload

PROXY_ROWS = 128
# Candidates are ranked on the configuration's own DRAM (bandwidth and latency): the program
# is then the same whichever DRAM model a run uses, and it is the best one for the DRAM the
# configuration describes.
RANKING = CostParams(dram="config")
FULL_ROW_PROXY_BLOCKS = 4
EVERY = 10 ** 9     # search(top=EVERY) predicts every legal candidate: the exhaustive search


@dataclass
class Candidate:
    tiling: Tiling
    cycles: float | None     # predicted for the full workload (None: illegal, or not predicted)
    reason: str = ""         # why illegal, or why not predicted
    bound: float | None = None   # the cost model's lower bound (None: illegal)

    @property
    def legal(self) -> bool:
        return self.bound is not None


def candidate_tilings(wl: Workload, cfg: HwConfig, strategy: str = "mas") -> list[Tiling]:
    if strategies.get(strategy).full_rows:
        return full_row_tilings(wl, cfg)
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
    tiled = strategies.get(strategy).tiled_score_buffers
    return [Tiling(br, bc, x, score_buffers=n) for br in rows for bc in sorted(chunks)
            for x in (True, False) for n in (score_buffer_counts(wl, bc) if tiled else (2,))]


def score_buffer_counts(wl: Workload, chunk_keys: int) -> tuple[int, ...]:
    """mas's S buffer counts worth trying with chunks of *chunk_keys*: two, three, and as many
    as a block has chunks (its max pass leaves all its scores on chip: no Q·Kᵀ recomputed;
    where that many fit, a larger scratchpad). Counts in between only trade a few recomputed
    chunks for scratchpad that a taller block or longer chunk uses better, and would triple
    the space."""
    whole_row = -(-wl.seq_kv // chunk_keys)
    return (2, 3) + ((whole_row,) if 3 < whole_row <= MAX_SCORE_BUFFERS else ())


def _powers(first: int, below: int) -> list[int]:
    """first, 2·first, 4·first, ... below *below*."""
    out = []
    while first < below:
        out.append(first)
        first *= 2
    return out


def layout_fits(wl: Workload, cfg: HwConfig, tiling: Tiling, full_rows: bool) -> bool:
    """Whether the tiling's accumulator rows and buffers fit, from the layout alone."""
    try:
        place_spad(cfg, Geometry.of(wl, cfg, tiling, full_rows), tiling, 1)
    except ScheduleError:
        return False
    return True


def full_row_tilings(wl: Workload, cfg: HwConfig) -> list[Tiling]:
    """For every K chunk, V chunk, V buffer count and X mode: the tallest block that fits."""
    dim, lanes = cfg.array_dim, cfg.vector_lanes
    nk_pad = -(-wl.seq_kv // dim) * dim
    nq = wl.seq_q
    step = lcm(dim, cfg.line_bytes)
    key_chunks = [c for c in _powers(dim, nk_pad) if c % lanes == 0] + [nk_pad]
    value_chunks = _powers(step, nk_pad) + [nk_pad]
    out = []
    for bc in key_chunks:
        for bv in value_chunks:
            for buffers in (2, 1):
                for x in (False, True):
                    if not layout_fits(wl, cfg, Tiling(1, bc, x, bv, buffers), True):
                        continue
                    low, high = 1, nq           # the tallest block: fits(low) holds
                    while low < high:
                        mid = (low + high + 1) // 2
                        if layout_fits(wl, cfg, Tiling(mid, bc, x, bv, buffers), True):
                            low = mid
                        else:
                            high = mid - 1
                    out.append(Tiling(low, bc, x, bv, buffers))
    return out


def _proxy(wl: Workload, rows: int = PROXY_ROWS) -> tuple[Workload, float]:
    rows = min(wl.seq_q, rows)
    scale = wl.heads_total * wl.seq_q / rows
    if rows == wl.seq_q and wl.heads_total == 1:
        return wl, 1.0
    # `rows` queries against all keys; a bottom-right causal mask then shows them the last
    # rows' view (the most keys): the proxy errs on the expensive side for every candidate.
    return replace(wl, seq_q=rows, heads=1, batch=1), scale


class _AboveLimit(Exception):
    """A candidate's lower bound passed the prediction it had to beat."""


def search(wl: Workload, cfg: HwConfig, strategy: str, dram_bytes: int | None = None,
           top: int = 1) -> tuple[Tiling, list[Candidate]]:
    """The fastest legal tiling by the cost model, and every candidate tried. *dram_bytes*:
    the DRAM the program must fit (full-row tilings of long sequences can have programs of
    hundreds of thousands of instructions; those that cannot fit are not candidates).

    Branch and bound, exact: the *top* fastest by the cost model are the exhaustive search's.
    Candidates are tried fewest instructions first (largest blocks and chunks: usually the
    fastest). Each one is first emitted without semaphores (a tenth of the cost of its program)
    while the cost model's lower bound (cost.LowerBound) grows with every instruction; once
    the bound is above the *top*-th best prediction so far, the candidate cannot be among the
    *top* (nor tie with them) and its emission stops. Only the others are built and predicted
    (without words: field ranges are checked when the pick's program is built). Candidates
    left out are listed with the bound they had reached when their emission stopped."""
    if top < 1:
        raise ValueError(f"search(top={top}): at least 1")
    strat = strategies.get(strategy)
    full_rows = strat.full_rows
    proxy, scale = _proxy(wl)
    results: list[Candidate] = []
    predicted: list[float] = []       # sorted

    def limit() -> float:
        return predicted[top - 1] if len(predicted) >= top else float("inf")

    tilings = candidate_tilings(wl, cfg, strategy)
    # Whole-array blocks fewest instructions first; the fractional ones (a last resort) after
    # them in their own order, as the first legal one is the only one tried.
    order = sorted(range(len(tilings)), key=lambda i: (
        (1, 0, i) if not full_rows and tilings[i].block_rows < cfg.array_dim
        else (0, -tilings[i].block_rows * tilings[i].chunk_keys, i)))
    for tiling in (tilings[i] for i in order):
        if not full_rows and tiling.block_rows < cfg.array_dim and any(
                c.legal for c in results):
            continue    # fractional row blocks only as a last resort
        if full_rows:   # blocks cost alike: a few of them stand for all
            proxy, scale = _proxy(wl, FULL_ROW_PROXY_BLOCKS * tiling.block_rows)
        bound = LowerBound(cfg, RANKING, strat.serialize)
        cutoff = limit() / scale

        def watch(insn, bound=bound, cutoff=cutoff):
            if bound.add(insn) > cutoff:
                raise _AboveLimit

        try:
            if full_rows:
                check_dram(wl, cfg, strategy, dram_bytes, tiling)
            else:   # the proxy's rows may fit where the whole workload's do not
                strat.place_spad(cfg, Geometry.of(wl, cfg, tiling), wl, tiling)
            AttentionProgram(proxy, cfg, tiling, strategy, dependencies=False, observe=watch)
        except ScheduleError as exc:
            results.append(Candidate(tiling, None, str(exc)))
            continue
        except _AboveLimit:
            results.append(Candidate(tiling, None, bound=bound.cycles * scale, reason=(
                f"not predicted: its lower bound passed {bound.cycles * scale:.0f}, above "
                f"{'the best prediction' if top == 1 else f'the {top} best predictions'}")))
            continue
        prog = AttentionProgram(proxy, cfg, tiling, strategy, encode=False)
        cycles = predict(cfg, prog.insns, RANKING).cycles * scale
        results.append(Candidate(tiling, cycles, bound=bound.cycles * scale))
        bisect.insort(predicted, cycles)
    results.sort(key=lambda c: tilings.index(c.tiling))     # the candidates' own order
    predictions = [c for c in results if c.cycles is not None]
    if not predictions:
        raise ScheduleError((_full_rows_nothing_fits if full_rows else _nothing_fits)(
            wl, cfg, strategy, results))
    best = min(predictions, key=lambda c: (c.cycles, -c.tiling.block_rows,
                                           c.tiling.score_buffers))
    return best.tiling, results


def tiling_fits(wl: Workload, cfg: HwConfig, tiling: Tiling, strategy: str) -> bool:
    """Whether *tiling* fits the configuration (accumulator rows, scratchpad buffers). Buffer
    sizes depend on the tiling and the head dimension only (full rows: and the key count), so
    one block decides it quickly."""
    strat = strategies.get(strategy)
    if strat.full_rows:
        return layout_fits(wl, cfg, tiling, True)
    # Two chunks where the whole workload's blocks all take two passes: a lean layout is then
    # as small as the whole workload's (r over l).
    keys = tiling.chunk_keys * (2 if strat.recip_over_sum(wl, tiling) else 1)
    small = replace(wl, seq_q=min(wl.seq_q, tiling.block_rows), heads=1, batch=1,
                    seq_kv=min(wl.seq_kv, max(keys, 1)))
    try:
        AttentionProgram(small, cfg, tiling, strategy)
    except (ScheduleError, isa.IsaError):
        return False
    return True


def fitting_tilings(wl: Workload, cfg: HwConfig, strategy: str, forced: Tiling) -> str:
    """What to say when a forced tiling does not fit: the largest block of each key chunk
    size that does (command-line flags of `firmware_gen attention`)."""
    if strategies.get(strategy).full_rows:
        return _fitting_full_row_tilings(wl, cfg)
    tilings = candidate_tilings(wl, cfg)
    rows = sorted({t.block_rows for t in tilings}, reverse=True)
    fits = []
    for bc in sorted({t.chunk_keys for t in tilings}):
        br = next((br for br in rows if tiling_fits(
            wl, cfg, replace(forced, block_rows=br, chunk_keys=bc), strategy)), None)
        if br is not None:
            fits.append(_flags(replace(forced, block_rows=br, chunk_keys=bc)))
    if not fits and forced.score_buffers != 2:      # the extra S buffers are what did not fit
        return fitting_tilings(wl, cfg, strategy, replace(forced, score_buffers=2))
    if not fits:
        return "no tiling of this workload fits (leave the tiling out to see why)"
    return ("tilings that fit (largest block per chunk): " + ", ".join(fits)
            + "; or leave the tiling out to search the fastest")


def _flags(t: Tiling) -> str:
    return (f"--block-rows {t.block_rows} --chunk-keys {t.chunk_keys}"
            f"{f' --value-keys {t.value_keys}' if t.value_keys else ''}"
            f"{' --value-buffers 1' if t.value_buffers == 1 else ''}"
            f"{f' --score-buffers {t.score_buffers}' if t.score_buffers != 2 else ''}"
            f"{'' if t.separate_x else ' --in-place'}")


def _fitting_full_row_tilings(wl: Workload, cfg: HwConfig) -> str:
    tallest: dict[int, Tiling] = {}
    for t in full_row_tilings(wl, cfg):
        if t.chunk_keys not in tallest or t.block_rows > tallest[t.chunk_keys].block_rows:
            tallest[t.chunk_keys] = t
    if not tallest:
        return "no tiling of this workload fits (leave the tiling out to see why)"
    return ("tilings that fit (tallest block per K chunk): "
            + ", ".join(_flags(t) for _, t in sorted(tallest.items()))
            + "; or leave the tiling out to search the fastest")


def _full_rows_nothing_fits(wl: Workload, cfg: HwConfig, strategy: str, results) -> str:
    """Full rows: one query row's scores against all keys, next to the smallest K and V
    chunks, is what must fit; say how long a key sequence can be, here and elsewhere."""
    def least(c: HwConfig) -> Tiling:
        return Tiling(1, c.array_dim, False, lcm(c.array_dim, c.line_bytes), 1)

    reason = next((c.reason for c in results if c.cycles is None and "DRAM" in c.reason), "")
    if reason:      # the buffers fit, the programs do not
        return (f"no tiling of {wl.describe()} with {strategy} fits the '{cfg.name}' "
                f"configuration's DRAM: {reason}")

    def keys_fit(c: HwConfig, n: int) -> bool:
        return layout_fits(replace(wl, seq_kv=n, seq_q=1, heads=1, batch=1), c, least(c), True)

    low, high = 0, wl.seq_kv - 1
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if keys_fit(cfg, mid) else (low, mid - 1)
    geo = Geometry.of(wl, cfg, least(cfg), True)
    line = (f"one query row of {wl.seq_kv} keys takes {geo.s_pitch} scratchpad lines of int32 "
            f"scores and {geo.p_pitch} of weights, too many next to one K and one V chunk on "
            f"'{cfg.name}' ({cfg.spad_regions} regions of {cfg.spad_region_lines} lines)")
    fixes = [f"at most {low} keys fit on '{cfg.name}'" if low >= 1
             else f"not even one key fits on '{cfg.name}'"]
    others = [name for name in config_names() if name != cfg.name
              and keys_fit(load_config(name), wl.seq_kv)]
    if others:
        fixes.append(f"{wl.seq_kv} keys fit on configuration "
                     + ", ".join(f"'{name}'" for name in others))
    fixes.append("strategies mas and serial keep only chunks of the rows on chip")
    return (f"no tiling of {wl.describe()} fits the '{cfg.name}' configuration with strategy "
            f"{strategy}: {line}; " + "; ".join(fixes))


def check_full_rows_fit(wl: Workload, cfg: HwConfig, strategy: str,
                        dram_bytes: int | None = None) -> None:
    """For a full-row strategy, raise the scheduler's error now (milliseconds, from the layout
    and the programs' lower bound) if no tiling's buffers or no program can fit, instead of
    after a search (or, for `make sim`, inside a simulation)."""
    if not strategies.get(strategy).full_rows:
        return
    tilings = full_row_tilings(wl, cfg)
    results = []
    for tiling in tilings:
        try:
            check_dram(wl, cfg, strategy, dram_bytes, tiling)
            return
        except ScheduleError as exc:
            results.append(Candidate(tiling, None, str(exc)))
    raise ScheduleError(_full_rows_nothing_fits(wl, cfg, strategy, results))


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
