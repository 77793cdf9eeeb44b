"""A Python API to build NPU programs.

    prog = Program()
    prog.dma_load(dram_addr=0x1000, dram_stride=64, rows=16, row_bytes=64, spad_addr=0,
                  spad_pitch=1, pad_rows=16, pad_bytes=64, signal=[0])
    prog.matmul(wait=[0], a_addr=0, a_pitch=1, rows=16, ..., signal=[1])
    prog.halt()
    image = prog.to_bytes()

Every method validates its fields against hwdef/isa.py at once (IsaError names the field),
so a bad program fails where it is built, not in the simulator.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hwdef import isa


def _mask(semaphores: Iterable[int] | int | None) -> int:
    if semaphores is None:
        return 0
    if isinstance(semaphores, int):
        semaphores = [semaphores]
    mask = 0
    for sem in semaphores:
        if not 0 <= sem < isa.NUM_SEMAPHORES:
            raise isa.IsaError(f"semaphore {sem} does not exist "
                               f"(0..{isa.NUM_SEMAPHORES - 1})")
        mask |= 1 << sem
    return mask


def load_defaults(fields: dict) -> dict:
    """DMA_LOAD fields with the padded shape defaulting to the loaded one (no padding)."""
    return {"pad_rows": fields.get("rows", 0), "pad_bytes": fields.get("row_bytes", 0),
            **fields}


class Program:
    """A program under construction: its words and a note per instruction (what it does,
    shown as a comment in listings). `base` is the DRAM address it will be loaded at."""

    def __init__(self, base: int = 0) -> None:
        self.words: list[int] = []
        self.notes: list[str] = []
        self.base = base

    def emit(self, mnemonic: str, wait=None, signal=None, *, note: str = "",
             **fields: int) -> int:
        """Append one instruction; returns its index."""
        word = isa.encode(mnemonic, wait_mask=_mask(wait), signal_mask=_mask(signal),
                          **{k: int(v) for k, v in fields.items()})
        return self.append(word, note=note)

    def append(self, word: int, *, note: str = "", checked: bool = False) -> int:
        """Append an encoded instruction word; it is decoded to check it unless the caller
        made it with hwdef.isa itself (*checked*)."""
        if not checked:
            isa.decode(word)
        self.words.append(word)
        self.notes.append(note)
        return len(self.words) - 1

    def nop(self, wait=None, signal=None, *, note: str = "") -> int:
        return self.emit("NOP", wait, signal, note=note)

    def halt(self, *, note: str = "") -> int:
        return self.emit("HALT", note=note)

    def sync(self, queue: isa.Queue, wait=None, signal=None, *, note: str = "") -> int:
        if queue == isa.Queue.DISPATCH:
            raise isa.IsaError("SYNC needs an execution queue (DMA_IN, DMA_OUT, MATRIX, VECTOR)")
        return self.emit("SYNC", wait, signal, note=note, target_queue=int(queue))

    def dma_load(self, wait=None, signal=None, **fields: Any) -> int:
        return self.emit("DMA_LOAD", wait, signal, **load_defaults(fields))

    def dma_store(self, wait=None, signal=None, **fields: Any) -> int:
        return self.emit("DMA_STORE", wait, signal, **fields)

    def matmul(self, wait=None, signal=None, **fields: Any) -> int:
        return self.emit("MATMUL", wait, signal, **fields)

    def vector(self, wait=None, signal=None, **fields: Any) -> int:
        return self.emit("VECTOR", wait, signal, **fields)

    def to_bytes(self) -> bytes:
        return isa.to_bytes(self.words)

    def listing(self, addresses: bool = True) -> str:
        """The program as assembler text, each instruction with its note; with addresses,
        its DRAM address (base + offset) first in the comment."""
        from firmware_gen.asm import disassemble
        return disassemble(self.words, addresses=addresses, base=self.base, notes=self.notes)

    def __len__(self) -> int:
        return len(self.words)
