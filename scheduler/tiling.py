"""A tiling and the buffer geometry it implies.

`Tiling` is what the search chooses: Br query rows per block, Bc keys per chunk, and whether
the score steps ping-pong through a separate X buffer; for the pipelined strategy (mas), how
many S buffers it rotates through; for strategies that keep whole score rows on chip (FLAT),
also Bv, the keys of a V chunk. `Geometry` derives every size the layout and the instruction
templates need from the workload, the configuration and the tiling, and rejects tilings whose
accumulator rows cannot hold Q·Kᵀ and P·V together.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import lcm

from hwdef import HwConfig
from scheduler.workload import ScheduleError, Workload


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# mas's S buffers at most: a whole row of 1024 keys in 64-key chunks (more buffers than a
# block has chunks hold nothing; the bound keeps the tiling space and the layout small).
MAX_SCORE_BUFFERS = 16


@dataclass(frozen=True)
class Tiling:
    block_rows: int     # Br: query rows per block (DRAM -> scratchpad tile of Q, S, P, O)
    chunk_keys: int     # Bc: keys per chunk (tile of K, V, S, P); a multiple of the array size
    # Steps 3-4 ping-pong S -> X -> S through a second int32 buffer in another bank (one
    # vector per cycle) instead of running in place (read and write share a bank: slower,
    # but one chunk of int32 scores less on chip).
    separate_x: bool = True
    # Full-row strategies only: keys of a V chunk (P·V reads P from column Bv·j, so Bv is a
    # multiple of the scratchpad line; 0: the smallest such multiple of Bc).
    value_keys: int = 0
    # Full-row strategies only: V buffers (2: the next V chunk loads during P·V; 1: one
    # chunk less on chip, so a taller block may fit).
    value_buffers: int = 2
    # Pipelined strategies only (mas): S buffers (2: Q·Kᵀ of the next item overlaps the
    # softmax of this one; n > 2: the max pass leaves its last n chunks of scores on chip,
    # n - 2 more exp items per block skip their Q·Kᵀ, and a Q·Kᵀ refills the buffer used
    # least recently; as many as a block has chunks: no Q·Kᵀ is recomputed at all).
    score_buffers: int = 2

    def describe(self) -> str:
        return (f"Br={self.block_rows} Bc={self.chunk_keys}"
                f"{f' Bv={self.value_keys}' if self.value_keys else ''}"
                f"{' one V buffer' if self.value_buffers == 1 else ''}"
                f"{f' {self.score_buffers} S buffers' if self.score_buffers != 2 else ''}"
                f"{'' if self.separate_x else ' in-place'}")

    def to_dict(self) -> dict:
        out = {"block_rows": self.block_rows, "chunk_keys": self.chunk_keys,
               "separate_x": self.separate_x}
        if self.value_keys:
            out["value_keys"] = self.value_keys
        if self.value_buffers != 2:
            out["value_buffers"] = self.value_buffers
        if self.score_buffers != 2:
            out["score_buffers"] = self.score_buffers
        return out


@dataclass(frozen=True)
class Geometry:
    """Sizes in array tiles, scratchpad lines and accumulator rows of one tiling."""

    dim: int            # array size
    lanes: int          # vector lanes
    line_bytes: int
    br: int             # Br
    bc: int             # Bc
    d: int              # head dimension
    d_pad: int          # d rounded up to whole array tiles
    row_lines: int      # lines of one Q, K, V or O row (d_pad int8)
    s_pitch: int        # lines of one row of int32 scores (Bc)
    p_pitch: int        # lines of one row of uint8 weights (Bc)
    a_pitch: int        # lines of one row of int32 P·V (d_pad)
    acc_pv: int         # first accumulator row of P·V (Q·Kᵀ uses the rows below)
    full_rows: bool = False     # S and P hold whole rows of all keys (s_pitch, p_pitch)
    bv: int = 0                 # keys of a V chunk (full rows; otherwise Bc)

    @classmethod
    def of(cls, wl: Workload, cfg: HwConfig, tiling: Tiling,
           full_rows: bool = False) -> Geometry:
        dim, lb, lanes = cfg.array_dim, cfg.line_bytes, cfg.vector_lanes
        br, bc = tiling.block_rows, tiling.chunk_keys
        if br <= 0:
            raise ScheduleError(f"tiling {tiling.describe()}: Br must be at least 1")
        if bc % dim or bc <= 0:
            raise ScheduleError(f"tiling {tiling.describe()}: Bc must be a positive multiple "
                                f"of the array size {dim}")
        d_pad = ceil_div(wl.head_dim, dim) * dim
        if not 2 <= tiling.score_buffers <= MAX_SCORE_BUFFERS:
            raise ScheduleError(f"tiling {tiling.describe()}: 2 to {MAX_SCORE_BUFFERS} S buffers")
        if full_rows:
            return cls._full_rows(wl, cfg, tiling, d_pad)
        if tiling.value_keys or tiling.value_buffers != 2:
            raise ScheduleError(f"tiling {tiling.describe()}: Bv and the V buffer count are "
                                "for full-row strategies (flat) only")
        if br * (bc + d_pad) // dim > cfg.acc_lines:
            raise ScheduleError(
                f"tiling {tiling.describe()}: Q·Kᵀ ({br} x {bc // dim} tiles) and "
                f"P·V ({br} x {d_pad // dim} tiles) need {br * (bc + d_pad) // dim} "
                f"accumulator rows, the configuration has {cfg.acc_lines}")
        return cls(dim=dim, lanes=lanes, line_bytes=lb, br=br, bc=bc, d=wl.head_dim,
                   d_pad=d_pad, row_lines=ceil_div(d_pad, lb), s_pitch=bc // lanes,
                   p_pitch=ceil_div(bc, lb), a_pitch=d_pad // lanes,
                   acc_pv=cfg.acc_lines - br * d_pad // dim)

    @classmethod
    def _full_rows(cls, wl: Workload, cfg: HwConfig, tiling: Tiling, d_pad: int) -> Geometry:
        """S and P rows span all keys: Q·Kᵀ of chunk j writes S from column Bc·j (a whole
        line of int32 scores: Bc a multiple of the lanes) and P·V of V chunk j reads P from
        column Bv·j (a whole line of uint8 weights: Bv a multiple of the line)."""
        dim, lb, lanes = cfg.array_dim, cfg.line_bytes, cfg.vector_lanes
        br, bc = tiling.block_rows, tiling.chunk_keys
        nk_pad = ceil_div(wl.seq_kv, dim) * dim
        step = lcm(dim, lb)
        bv = tiling.value_keys or min(lcm(bc, step), nk_pad)
        if tiling.value_buffers not in (1, 2):
            raise ScheduleError(f"tiling {tiling.describe()}: 1 or 2 V buffers")
        if tiling.score_buffers != 2:
            raise ScheduleError(f"tiling {tiling.describe()}: the S buffer count is for "
                                "pipelined strategies (mas) only")
        if bc % lanes and bc < nk_pad:
            raise ScheduleError(f"tiling {tiling.describe()}: with full rows, Bc must be a "
                                f"multiple of the {lanes} vector lanes")
        if bv % step and bv < nk_pad:
            raise ScheduleError(f"tiling {tiling.describe()}: with full rows, Bv must be a "
                                f"multiple of {step} (array size {dim}, line {lb} bytes)")
        if br * (min(bc, nk_pad) + d_pad) // dim > cfg.acc_lines:
            raise ScheduleError(
                f"tiling {tiling.describe()}: Q·Kᵀ ({br} x {min(bc, nk_pad) // dim} tiles) and "
                f"P·V ({br} x {d_pad // dim} tiles) need "
                f"{br * (min(bc, nk_pad) + d_pad) // dim} accumulator rows, the configuration "
                f"has {cfg.acc_lines}")
        return cls(dim=dim, lanes=lanes, line_bytes=lb, br=br, bc=bc, d=wl.head_dim,
                   d_pad=d_pad, row_lines=ceil_div(d_pad, lb), s_pitch=ceil_div(nk_pad, lanes),
                   p_pitch=ceil_div(nk_pad, lb), a_pitch=d_pad // lanes,
                   acc_pv=cfg.acc_lines - br * d_pad // dim, full_rows=True, bv=bv)

    def padded_keys(self, keys: int) -> int:
        """Keys rounded up to whole array tiles (the matrix unit's n or k extent)."""
        return ceil_div(keys, self.dim) * self.dim
