"""Scratchpad allocation: region-aligned buffers placed bank by bank.

Banks are selected by the high address bits (docs/scratchpad.md), so a buffer of at most one
bank's lines lives in one bank, and two streams run without conflicts when their buffers are in
different banks. Each buffer names the buffers it is streamed against (operands of the same
instruction, or of instructions that run concurrently); the allocator puts a buffer in the bank
where the fewest of those already are. Every buffer starts on an overwrite-control region and
owns whole regions, so lock/release of one buffer never touches another.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwdef import HwConfig


@dataclass
class Buffer:
    name: str
    addr: int
    lines: int          # lines used (the allocation is rounded up to whole regions)

    @property
    def end(self) -> int:
        return self.addr + self.lines


class SpadFull(Exception):
    pass


class SpadAllocator:
    def __init__(self, cfg: HwConfig):
        self.cfg = cfg
        self.region = cfg.spad_region_lines
        self.bank_lines = cfg.spad_bank_lines
        # free regions per bank (True = free)
        self.free = [[True] * (self.bank_lines // self.region) for _ in range(cfg.spad_banks)]
        self.bank_of: dict[str, list[int]] = {}
        self.buffers: dict[str, Buffer] = {}

    def _regions(self, lines: int) -> int:
        return -(-lines // self.region)

    def alloc(self, name: str, lines: int, partners: tuple[str, ...] = ()) -> Buffer:
        need = self._regions(lines)
        per_bank = self.bank_lines // self.region
        if need > per_bank:
            return self._alloc_banks(name, lines, -(-need // per_bank))
        best = None
        for bank, free in enumerate(self.free):
            for start in range(per_bank - need + 1):
                if all(free[start:start + need]):
                    clash = sum(bank in self.bank_of.get(p, ()) for p in partners)
                    key = (clash, start, bank)
                    if best is None or key < best[0]:
                        best = (key, bank, start)
                    break
        if best is None:
            raise SpadFull(name)
        _, bank, start = best
        for r in range(start, start + need):
            self.free[bank][r] = False
        buf = Buffer(name, bank * self.bank_lines + start * self.region, lines)
        self.bank_of[name] = [bank]
        self.buffers[name] = buf
        return buf

    def _alloc_banks(self, name: str, lines: int, banks: int) -> Buffer:
        for first in range(len(self.free) - banks + 1):
            if all(all(self.free[b]) for b in range(first, first + banks)):
                used = self._regions(lines)
                for r in range(used):
                    b, i = divmod(r, len(self.free[0]))
                    self.free[first + b][i] = False
                self.bank_of[name] = list(range(first, first + banks))
                buf = Buffer(name, first * self.bank_lines, lines)
                self.buffers[name] = buf
                return buf
        raise SpadFull(name)

    def used_lines(self) -> int:
        return sum(not f for bank in self.free for f in bank) * self.region
