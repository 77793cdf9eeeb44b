"""The strategies, one module each: a module that defines `STRATEGY` (a `Strategy` subclass)
is a strategy. Adding one is adding a module here."""

from __future__ import annotations

import importlib
import pkgutil

from scheduler.strategies.base import Strategy
from scheduler.workload import ScheduleError


def _discover() -> dict[str, type[Strategy]]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        strategy = getattr(importlib.import_module(f"{__name__}.{module.name}"), "STRATEGY", None)
        if strategy is not None:
            found.append(strategy)
    return {s.name: s for s in sorted(found, key=lambda s: s.rank)}


REGISTRY = _discover()
STRATEGIES = tuple(REGISTRY)


def get(name: str) -> type[Strategy]:
    if name not in REGISTRY:
        raise ScheduleError(f"unknown strategy {name!r}; choose one of {STRATEGIES}")
    return REGISTRY[name]


__all__ = ["REGISTRY", "STRATEGIES", "Strategy", "get"]
