"""FLAT (Kao et al., ASPLOS 2023): attention fused at row granularity.

For each block of Br query rows: Q·Kᵀ against all the keys the block sees, chunk by chunk
into one buffer of whole score rows kept on chip; the exact softmax once over the stored
rows (row max, subtract, scale, exp2, row sum, 1/l: no second pass, no recomputation); then
P·V over V chunks and O = A·r. The matrix and vector units take turns inside a block (never
both busy); the DMA engines prefetch (the next K or V chunk while one is in use, the next
block's Q once this block's last Q·Kᵀ is done). Br is bounded by how many whole rows of
int32 scores and uint8 weights fit next to the K and V chunks, so a small scratchpad gets
short blocks and K and V are read again for every block. docs/scheduler.md compares this
point by point with FLAT's dataflow.
"""

from __future__ import annotations

from hwdef import isa
from scheduler.emit import AttentionEmitter
from scheduler.strategies.base import Strategy


class Flat(Strategy):
    name = "flat"
    rank = 1
    summary = "FLAT: row-granular fusion, whole score rows on chip, units serialized"
    full_rows = True
    serialize = (isa.Queue.MATRIX, isa.Queue.VECTOR)

    @classmethod
    def emit(cls, em: AttentionEmitter) -> None:
        items = em.plan.items
        for n, block in enumerate(em.plan.blocks):
            mine = [i for i in items if i.block == block]
            rows = [i for i in mine if i.kind == "row"]
            if n == 0:
                em.load_q(block)
            for item in rows:               # S[:, chunk] = Q·Kᵀ, chunk by chunk
                em.load_k(item)
                em.qk(item)
            pvs = [i for i in mine if i.kind == "pv"]
            em.softmax_rows(block, pvs[-1].k0 + pvs[-1].keys)   # the keys the block sees
            if n + 1 < len(em.plan.blocks):  # Q is dead after the last Q·Kᵀ: load the next
                em.load_q(em.plan.blocks[n + 1])
            for item in mine:
                if item.kind == "pv":       # A += P[:, chunk]·V[chunk]
                    em.load_v(item)
                    em.pv(item)
            em.finish(block)


STRATEGY = Flat
