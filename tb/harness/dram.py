"""Back door of the simulation DRAM model (tb/sv/npu_dram_model.sv) from NumPy arrays.

The model reads a `$readmemh` file when its `load_req_i` input pulses and writes a word range
with `$writememh` when `dump_req_i` pulses, so a test moves whole buffers in or out of DRAM in
one clock cycle with no per-cycle Python. Memory is byte addressed; a word (one bus beat of
`line_bytes` bytes) holds byte `a` of its range in bits [8*(a % line_bytes) +: 8]
(little-endian), so hex digits are written most significant byte first.

A `clear_req_i` pulse zeroes a word range inside the simulator (a defined starting state for
a whole DRAM window in milliseconds, where a file of zeros would take a second per 16 MiB).

`hex_image` / `parse_hex` are plain functions (usable without a simulator); `DramBackdoor`
drives the model's back-door ports from a cocotb test.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

LOAD_FILE = "npu_dram_load.hex"   # the model's default file names (relative to the sim's cwd)
DUMP_FILE = "npu_dram_dump.hex"


def hex_image(data: np.ndarray, first_word: int, line_bytes: int) -> str:
    """`$readmemh` text placing *data* (uint8, whole words) from word *first_word* on."""
    data = np.asarray(data, dtype=np.uint8).reshape(-1)
    if data.size % line_bytes:
        raise ValueError(f"{data.size} bytes is not a whole number of {line_bytes}-byte words")
    text = data.reshape(-1, line_bytes)[:, ::-1].tobytes().hex()
    width = 2 * line_bytes
    rows = [text[i:i + width] for i in range(0, len(text), width)]
    return f"@{first_word:x}\n" + "\n".join(rows) + "\n"


def parse_hex(text: str, line_bytes: int) -> np.ndarray:
    """Bytes of a `$writememh` dump (one word per line, optional `@addr` lines ignored only
    if they continue the sequence), as a uint8 array in address order."""
    words: list[bytes] = []
    for raw in text.split("\n"):
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if line.startswith("@"):
            if int(line[1:], 16) != len(words) and words:
                raise ValueError(f"non-contiguous dump at {line}")
            continue
        words.append(bytes.fromhex(line.zfill(2 * line_bytes))[::-1])
    return np.frombuffer(b"".join(words), dtype=np.uint8).copy()


class DramBackdoor:
    """Loads and dumps byte ranges of the DRAM model through its back-door ports.

    Ranges are whole words: *addr* and the length must be multiples of *line_bytes* (the model
    replaces whole words, so a caller that wants to change part of a word keeps a shadow copy
    and writes the whole word)."""

    def __init__(self, dut, clk, line_bytes: int, mem_bytes: int, prefix: str = "dram_",
                 directory: str | os.PathLike | None = None) -> None:
        self.dut = dut
        self.clk = clk
        self.line_bytes = line_bytes
        self.mem_bytes = mem_bytes
        self.prefix = prefix
        base = Path(directory) if directory is not None else Path.cwd()
        self.load_path = base / LOAD_FILE
        self.dump_path = base / DUMP_FILE

    def _sig(self, name: str):
        return getattr(self.dut, self.prefix + name)

    def _check_range(self, addr: int, nbytes: int) -> None:
        if addr % self.line_bytes or nbytes % self.line_bytes or nbytes <= 0:
            raise ValueError(f"range 0x{addr:x}+{nbytes} is not whole {self.line_bytes}-byte words")
        if addr < 0 or addr + nbytes > self.mem_bytes:
            raise ValueError(f"range 0x{addr:x}+{nbytes} is outside the {self.mem_bytes}-byte DRAM")

    async def _pulse(self, name: str) -> None:
        """One-cycle pulse of a request input, driven on falling edges so the rising edge in
        between samples it exactly once; returns after that edge has been fully evaluated."""
        from cocotb.triggers import FallingEdge
        await FallingEdge(self.clk)
        self._sig(name).value = 1
        await FallingEdge(self.clk)
        self._sig(name).value = 0

    async def load(self, addr: int, data: np.ndarray) -> None:
        """Write *data* (uint8) to DRAM bytes addr.. (takes about one clock cycle)."""
        data = np.asarray(data, dtype=np.uint8).reshape(-1)
        self._check_range(addr, data.size)
        self.load_path.write_text(hex_image(data, addr // self.line_bytes, self.line_bytes))
        await self._pulse("load_req_i")

    async def clear(self, addr: int, nbytes: int) -> None:
        """Zero DRAM bytes addr..addr+nbytes-1 (takes about one clock cycle)."""
        self._check_range(addr, nbytes)
        first = addr // self.line_bytes
        self._sig("dump_first_i").value = first
        self._sig("dump_last_i").value = first + nbytes // self.line_bytes - 1
        await self._pulse("clear_req_i")

    async def dump(self, addr: int, nbytes: int) -> np.ndarray:
        """Read DRAM bytes addr..addr+nbytes-1 (takes about one clock cycle)."""
        self._check_range(addr, nbytes)
        first = addr // self.line_bytes
        self._sig("dump_first_i").value = first
        self._sig("dump_last_i").value = first + nbytes // self.line_bytes - 1
        if self.dump_path.exists():
            self.dump_path.unlink()
        await self._pulse("dump_req_i")
        data = parse_hex(self.dump_path.read_text(), self.line_bytes)
        if data.size != nbytes:
            raise AssertionError(f"dump returned {data.size} bytes, expected {nbytes}")
        return data
