"""MAS-Attention: the matrix and vector units as two concurrent streams. Step c runs Q·Kᵀ of
item c+1 and P·V of item c-1 on the matrix unit while the vector unit runs the softmax of
item c; S and P are double-buffered (S may have more buffers, Tiling.score_buffers), and
every buffer is locked by its producer and released by its last reader (overwrite control,
CTRL.STRICT)."""

from __future__ import annotations

from scheduler.emit import AttentionEmitter
from scheduler.plan import has_one_chunk_blocks
from scheduler.strategies.base import Strategy
from scheduler.tiling import Tiling
from scheduler.workload import Workload


class Mas(Strategy):
    name = "mas"
    rank = 3
    summary = "MAS-Attention: matrix and vector units concurrent, buffers locked and released"
    score_buffers = 2
    tiled_score_buffers = True
    overwrite_control = True
    lean_layout = True

    @classmethod
    def recip_over_sum(cls, wl: Workload, tiling: Tiling) -> bool:
        # O = A·r of a block comes one step after its last softmax, behind the next item's
        # softmax: a one-chunk ("single") block writes l there.
        return not has_one_chunk_blocks(wl, tiling.block_rows, tiling.chunk_keys)

    @classmethod
    def emit(cls, em: AttentionEmitter) -> None:
        items = em.plan.items
        em.load_q(items[0].block)
        em.load_k(items[0])
        em.qk(items[0])
        for c, item in enumerate([*items, None]):
            nxt = items[c + 1] if c + 1 < len(items) else None
            prev = items[c - 1] if c >= 1 else None
            if nxt is not None:
                if item is not None and nxt.block != item.block:
                    em.load_q(nxt.block)
                em.load_k(nxt)
            if item is not None and item.makes_p:
                em.load_v(item)
            if nxt is not None:
                em.qk(nxt)
            if prev is not None and prev.makes_p:
                em.pv(prev)
            if item is not None:
                em.softmax(item)
            if prev is not None and prev.makes_p and prev.last:
                em.finish(prev.block)


STRATEGY = Mas
