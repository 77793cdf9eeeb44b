"""The serialization ablation: MAS's own dataflow (chunked two passes, the same tiling, K, V and
score reuse) with the matrix and vector units taking turns: per item Q·Kᵀ, softmax, P·V in
program order, never both units busy at once; DMA prefetches one item ahead. Against `mas` it
isolates what the concurrency alone is worth. (Until FLAT itself was built, scheduler/
strategies/flat.py, this was called `flat`.)"""

from __future__ import annotations

from hwdef import isa
from scheduler.emit import AttentionEmitter
from scheduler.strategies.base import Strategy


class Serial(Strategy):
    name = "serial"
    rank = 2
    summary = "ablation: mas's dataflow with the matrix and vector units serialized"
    serialize = (isa.Queue.MATRIX, isa.Queue.VECTOR)
    lean_layout = True

    @classmethod
    def emit(cls, em: AttentionEmitter) -> None:
        items = em.plan.items
        em.load_q(items[0].block)
        em.load_k(items[0])
        for c, item in enumerate(items):
            nxt = items[c + 1] if c + 1 < len(items) else None
            if nxt is not None:
                if nxt.block != item.block:
                    em.load_q(nxt.block)
                em.load_k(nxt)
            if item.makes_p:
                em.load_v(item)
            em.qk(item)
            em.softmax(item)
            if item.makes_p:
                em.pv(item)
                if item.last:
                    em.finish(item.block)


STRATEGY = Serial
