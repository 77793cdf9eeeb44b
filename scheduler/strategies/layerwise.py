"""Layer-wise (unfused) attention: S to DRAM; softmax DRAM to DRAM (P and 1/l back to DRAM);
then P·V. The baseline every fused strategy is measured against: every chunk is loaded for
every use."""

from __future__ import annotations

from scheduler.emit import AttentionEmitter
from scheduler.strategies.base import Strategy


class Layerwise(Strategy):
    name = "layerwise"
    rank = 0
    summary = "unfused: S and P through DRAM"
    keep_on_chip = False
    dram_intermediates = True

    @classmethod
    def emit(cls, em: AttentionEmitter) -> None:
        items = em.plan.items
        # 1. S = Q·Kᵀ for every block and chunk, stored as int32 rows of padded keys.
        last_block = None
        for item in (i for i in items if i.kind != "exp"):
            if item.block != last_block:
                em.load_q(item.block)
                last_block = item.block
            em.load_k(item)
            em.qk(item)
            em.store_s(item)
        # 2. softmax, DRAM to DRAM: (max pass,) exp pass; P and r are stored.
        for item in items:
            em.load_s(item)
            em.softmax(item)
            if item.makes_p:
                em.store_p(item)
                if item.last:
                    em.store_r(item.block)
        # 3. A = P·V per block, then O = A·r.
        for item in (i for i in items if i.makes_p):
            if item.first:
                em.load_r(item.block)
            em.load_p(item)
            em.load_v(item)
            em.pv(item)
            if item.last:
                em.finish(item.block)


STRATEGY = Layerwise
