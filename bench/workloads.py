"""The workload suite of `make bench`: the shapes this line of work measures (BERT, ViT, a
sequence sweep), scaled to a 2-core machine (fewer heads; the cycles of one head scale
linearly with heads in every strategy)."""

from __future__ import annotations

from dataclasses import dataclass

from scheduler import Workload


@dataclass(frozen=True)
class BenchWorkload:
    name: str
    workload: Workload


def suite(quick: bool = False) -> list[BenchWorkload]:
    if quick:     # a smoke run of the whole flow in a few minutes
        return [BenchWorkload("vit-197", Workload(197, 197, 64)),
                BenchWorkload("sweep-128", Workload(128, 128, 64))]
    items = [BenchWorkload("bert-512", Workload(512, 512, 64)),
             BenchWorkload("vit-197", Workload(197, 197, 64)),
             BenchWorkload("vit-256", Workload(256, 256, 64))]
    items += [BenchWorkload(f"sweep-{n}", Workload(n, n, 64)) for n in (128, 1024, 2048)]
    return items


CONFIGS = ("default", "small")     # small: the default datapath with a quarter of the scratchpad
