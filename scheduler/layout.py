"""Where everything lives: DRAM tensors and scratchpad buffers of one attention program.

DRAM: Q, K, V and O (and, for strategies that keep intermediates in DRAM, S, P and 1/l) as
[heads, rows, cols] tensors, each on a 4 KiB boundary, the program after them.

Scratchpad: every buffer is region aligned (scheduler/spad.py), placed largest first, each
naming the buffers it streams against so that they land in other banks. Two-slot buffers
(Q, K, V, O, and S, P where the strategy pipelines) alternate between blocks or uses (a
pipelined strategy may rotate through more S buffers: s0, s1, s2...); the per-row scalars
m, l, their per-chunk partials and 1/l take one line per row each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hwdef import HwConfig
from scheduler.spad import SpadAllocator, SpadFull
from scheduler.tiling import Geometry, Tiling, ceil_div
from scheduler.workload import ScheduleError, Workload

DRAM_ALIGN = 4096


@dataclass(frozen=True)
class Tensor:
    addr: int
    shape: tuple
    dtype: str
    row_stride: int

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] * self.row_stride

    def row_addr(self, head: int, row: int) -> int:
        """DRAM address of row `row` of head `head`."""
        return self.addr + (head * self.shape[1] + row) * self.row_stride

    def to_dict(self) -> dict:
        return {"addr": self.addr, "shape": list(self.shape), "dtype": self.dtype,
                "row_stride": self.row_stride, "bytes": self.nbytes}


def place_dram(wl: Workload, cfg: HwConfig, intermediates: bool,
               base: int = 0) -> dict[str, Tensor]:
    """DRAM tensors from `base`; "program" marks where the program starts (size set later)."""
    tensors: dict[str, Tensor] = {}
    heads, d = wl.heads_total, wl.head_dim
    nk_pad = ceil_div(wl.seq_kv, cfg.array_dim) * cfg.array_dim
    cursor = base

    def put(name: str, rows: int, cols: int, stride: int, dtype: str) -> None:
        nonlocal cursor
        tensors[name] = Tensor(cursor, (heads, rows, cols), dtype, stride)
        cursor += ceil_div(tensors[name].nbytes, DRAM_ALIGN) * DRAM_ALIGN

    put("q", wl.seq_q, d, d, "int8")
    put("k", wl.seq_kv, d, d, "int8")
    put("v", wl.seq_kv, d, d, "int8")
    put("o", wl.seq_q, d, d, "int8")
    if intermediates:
        put("s", wl.seq_q, nk_pad, nk_pad * 4, "int32")
        put("p", wl.seq_q, nk_pad, nk_pad, "uint8")
        put("r", wl.seq_q, cfg.vector_lanes, cfg.line_bytes, "int32")   # 1/l in every lane
    tensors["program"] = Tensor(cursor, (1, 1, 1), "insn", 0)
    return tensors


@dataclass(frozen=True)
class Buffers:
    """Scratchpad line addresses of every buffer; pairs are the two slots of a buffer (both
    equal where there is one). The allocator (and the memory map's "scratchpad" entry) name
    them by their symbols in docs/numerics.md: q, k, v, s, x, a, p, o and rows (the per-row
    scalars, one line per row each: m, l, m' and, unless r = 1/l overwrites l, r0 and r1;
    full rows: m, l, r)."""

    queries: tuple[int, int]    # Q rows of a block (alternating per block)
    keys: tuple[int, int]       # K chunks (least recently used slot refilled)
    values: tuple[int, int]     # V chunks
    scores: tuple[int, ...]     # int32 S; one buffer (both slots equal) unless pipelined
                                # (two or more: Tiling.score_buffers)
    shifted: int | None         # int32 S - m ping-pong buffer; None: in place in S
    pv: int                     # int32 A = P·V of a block
    weights: tuple[int, int]    # uint8 P (alternating per item that makes P)
    outputs: tuple[int, int]    # int8 O rows (alternating per block, or one buffer)
    row_max: int                # m, one line per row
    row_sum: int                # l
    chunk_max: int | None       # a chunk's row maxima, folded into m (None: full rows)
    chunk_sum: int | None       # a chunk's row sums, added to l (None: full rows)
    recip: tuple[int, int]      # r = 1/l (alternating per block, or l itself)
    spad: dict = field(default_factory=dict, compare=False)   # name -> {addr, lines}


def place_spad(cfg: HwConfig, geo: Geometry, tiling: Tiling, score_buffers: int,
               lean: bool = False, recip_over_sum: bool = False) -> Buffers:
    """Allocate every buffer or raise ScheduleError saying how many regions were needed.

    *score_buffers*: S buffers (s0, s1, ...); P has two buffers when S has more than one.

    The per-row scalars take one 64-byte line per row each, several regions at Br = 32. A
    *lean* layout (mas and its ablation) saves them: a chunk's row max m' and its row sum l'
    share one line (each is read by the vector instruction right after the one that writes it,
    on the in-order vector queue); with *recip_over_sum* r = 1/l overwrites l (the strategy
    promises that no later block rewrites l before O = A·r has read r; otherwise r alternates
    between r0 and r1 per block); and O has one buffer (the next block's O = A·r comes after
    the store of this one in program order, and the semaphores make it wait for that store).
    Otherwise: m, l, m', l', r0, r1 and two O buffers."""
    if geo.full_rows:
        return _allocate(cfg, tiling, geo.br, _full_row_sizes(geo, tiling), ("m", "l", "r"))
    br, bc = geo.br, geo.bc
    two = score_buffers >= 2
    s_names = tuple(f"s{n}" for n in range(score_buffers))
    rows = (("m", "l", "m'") + (() if recip_over_sum else ("r0", "r1")) if lean
            else ("m", "l", "m'", "l'", "r0", "r1"))
    sizes = [  # name, lines, partners (streamed together)
        *((name, br * geo.s_pitch, ("x", "q0", "q1", "k0", "k1")) for name in s_names),
        ("x", br * geo.s_pitch, (*s_names, "rows")) if tiling.separate_x else None,
        ("a", br * geo.a_pitch, ("rows", "o0", "o1", "p0", "p1", "v0", "v1")),
        ("k0", bc * geo.row_lines, ("q0", "q1", *s_names)),
        ("k1", bc * geo.row_lines, ("q0", "q1", *s_names)),
        ("v0", bc * geo.row_lines, ("p0", "p1", "a")),
        ("v1", bc * geo.row_lines, ("p0", "p1", "a")),
        ("p0", br * geo.p_pitch, ("v0", "v1", *s_names, "a")),
        ("p1", br * geo.p_pitch, ("v0", "v1", *s_names, "a")) if two else None,
        ("q0", br * geo.row_lines, ("k0", "k1", *s_names)),
        ("q1", br * geo.row_lines, ("k0", "k1", *s_names)),
        ("o0", br * geo.row_lines, ("a", "rows")),
        None if lean else ("o1", br * geo.row_lines, ("a", "rows")),
        ("rows", len(rows) * br, ("x", *s_names, "a")),   # one line per row each
    ]
    return _allocate(cfg, tiling, br, [s for s in sizes if s], rows)


def _full_row_sizes(geo: Geometry, tiling: Tiling) -> list:
    """FLAT's buffers: S and P of whole rows, one Q and one O (a block's Q is dead after its
    last Q·Kᵀ, the next O is written a block later), two K chunks, one or two V chunks, A,
    and the rows m, l, r."""
    br = geo.br
    keys = geo.s_pitch * geo.lanes      # a whole row (all keys, padded): no chunk is longer
    sizes = [  # name, lines, partners (streamed together)
        ("s0", br * geo.s_pitch, ("x", "q0", "k0", "k1", "rows")),
        ("x", br * geo.s_pitch, ("s0", "rows")) if tiling.separate_x else None,
        ("p0", br * geo.p_pitch, ("v0", "v1", "s0", "x", "a")),
        ("a", br * geo.a_pitch, ("rows", "o0", "p0", "v0", "v1")),
        ("k0", min(geo.bc, keys) * geo.row_lines, ("q0", "s0")),
        ("k1", min(geo.bc, keys) * geo.row_lines, ("q0", "s0")),
        ("v0", min(geo.bv, keys) * geo.row_lines, ("p0", "a")),
        ("v1", min(geo.bv, keys) * geo.row_lines, ("p0", "a")) if tiling.value_buffers == 2
        else None,
        ("q0", br * geo.row_lines, ("k0", "k1", "s0")),
        ("o0", br * geo.row_lines, ("a", "rows")),
        ("rows", 3 * br, ("x", "s0", "a")),   # m, l, r: one line per row
    ]
    return [s for s in sizes if s]


def _allocate(cfg: HwConfig, tiling: Tiling, br: int, wanted: list,
              row_names: tuple[str, ...]) -> Buffers:
    """Place *wanted* (name, lines, partners), largest first; the per-row scalars
    *row_names* share the "rows" buffer, `br` lines each."""
    alloc = SpadAllocator(cfg)
    need = sum(ceil_div(lines, cfg.spad_region_lines) for _, lines, _ in wanted)
    try:
        for name, lines, partners in sorted(wanted, key=lambda s: -s[1]):
            alloc.alloc(name, lines, partners)
    except SpadFull as full:
        raise ScheduleError(
            f"tiling {tiling.describe()} needs {need} scratchpad regions of "
            f"{cfg.spad_region_lines} lines, the configuration has "
            f"{cfg.spad_regions} (buffer {full} did not fit)") from None
    at = {name: b.addr for name, b in alloc.buffers.items()}
    row = {name: at["rows"] + n * br for n, name in enumerate(row_names)}
    pair = lambda name: (at[f"{name}0"], at.get(f"{name}1", at[f"{name}0"]))  # noqa: E731
    n_scores = sum(bool(re.fullmatch(r"s\d+", name)) for name in at)    # s0, s1, ...
    scores = pair("s") + tuple(at[f"s{i}"] for i in range(2, n_scores))
    return Buffers(queries=pair("q"), keys=pair("k"), values=pair("v"), scores=scores,
                   shifted=at.get("x"), pv=at["a"], weights=pair("p"), outputs=pair("o"),
                   row_max=row["m"], row_sum=row["l"], chunk_max=row.get("m'"),
                   chunk_sum=row.get("l'", row.get("m'")),
                   recip=((row["r0"], row["r1"]) if "r0" in row else
                          (row["r"], row["r"]) if "r" in row else (row["l"], row["l"])),
                   spad={name: {"addr": b.addr, "lines": b.lines}
                         for name, b in alloc.buffers.items()})
