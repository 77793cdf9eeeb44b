"""Bit-exact NumPy model of the matrix unit (docs/matrix_unit.md).

The model is sequence based, not cycle based: it sees the weight-row beats and the A rows in
stream order and returns the C rows the unit must emit, in order. Timing (double buffering,
stalls, pipelining) must not change any result, so the bench compares the DUT's C stream
against this list.

Contract modelled here:

* Weights arrive as rows of Dim int8 values; Dim rows form a tile. Row r of a tile becomes
  weight row r (``W[r, :] = row``) or, when loaded transposed, weight column r
  (``W[:, r] = row``). Tiles are used in load order.
* An A row (Dim values, int8 when ``signed`` else uint8) multiplies with the oldest loaded,
  unretired tile; ``last`` retires that tile after the row.
* ``result = (acc[addr] if accumulate else 0) + a @ W`` computed in int64 and wrapped to int32
  (two's complement, modulo 2**32). ``write`` stores it in acc[addr]; ``emit`` outputs it.

Accumulator rows start *unknown* (the hardware does not reset its accumulator memory);
accumulating into an unknown row is a test-bench bug and raises.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from npu_model.numerics import INT8_MAX, INT8_MIN, UINT8_MAX


def wrap_int32(x) -> np.ndarray:
    """Reduce int64 values modulo 2**32 into the int32 range."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


@dataclass(frozen=True)
class ARow:
    """One beat of the A stream."""

    data: tuple[int, ...]  # Dim values: -128..127 if signed else 0..255
    signed: bool = True
    last: bool = False
    addr: int = 0
    write: bool = False
    accumulate: bool = False
    emit: bool = True
    tag: int = 0


@dataclass(frozen=True)
class CRow:
    """One expected beat of the C stream."""

    data: tuple[int, ...]  # Dim int32 values
    addr: int
    tag: int


class MatmulModel:
    """Weight tiles, accumulator rows and the expected C stream of the matrix unit."""

    def __init__(self, dim: int, acc_lines: int):
        self.dim = dim
        self.acc_lines = acc_lines
        self._loading: np.ndarray | None = None  # tile being assembled
        self._loaded_rows = 0
        self.tiles: deque[np.ndarray] = deque()  # loaded, not yet retired (oldest first)
        self.acc: list[np.ndarray | None] = [None] * acc_lines

    # ---- weights ------------------------------------------------------------------------
    def load_row(self, row, transpose: bool) -> None:
        """One beat of the weight stream."""
        row = np.asarray(row, dtype=np.int64)
        if row.shape != (self.dim,):
            raise ValueError(f"weight row must have {self.dim} elements")
        if row.min() < INT8_MIN or row.max() > INT8_MAX:
            raise ValueError("weights are int8")
        if self._loading is None:
            self._loading = np.zeros((self.dim, self.dim), dtype=np.int64)
            self._loaded_rows = 0
        r = self._loaded_rows
        if transpose:
            self._loading[:, r] = row
        else:
            self._loading[r, :] = row
        self._loaded_rows += 1
        if self._loaded_rows == self.dim:
            self.tiles.append(self._loading)
            self._loading = None

    def load_tile(self, rows, transpose: bool) -> None:
        """Dim beats of the weight stream (``rows`` as streamed, one row per beat)."""
        for row in np.asarray(rows):
            self.load_row(row, transpose)

    # ---- A rows -------------------------------------------------------------------------
    def push(self, row: ARow) -> CRow | None:
        """Process one A row; return the C row it emits, if any."""
        if not self.tiles:
            raise RuntimeError("A row with no loaded weight tile")
        a = np.asarray(row.data, dtype=np.int64)
        if a.shape != (self.dim,):
            raise ValueError(f"A row must have {self.dim} elements")
        lo, hi = (INT8_MIN, INT8_MAX) if row.signed else (0, UINT8_MAX)
        if a.min() < lo or a.max() > hi:
            raise ValueError(f"A values out of range for signed={row.signed}")
        if not 0 <= row.addr < self.acc_lines:
            raise ValueError("accumulator address out of range")
        w = self.tiles[0]
        product = a @ w  # int64: |sum| <= Dim * 255 * 128, exact
        if row.accumulate:
            old = self.acc[row.addr]
            if old is None:
                raise RuntimeError(f"accumulate into unknown accumulator row {row.addr}")
            total = old + product
        else:
            total = product
        result = wrap_int32(total)
        if row.write:
            self.acc[row.addr] = result.copy()
        if row.last:
            self.tiles.popleft()
        if row.emit:
            return CRow(tuple(int(v) for v in result), row.addr, row.tag)
        return None

    def run(self, rows) -> list[CRow]:
        """Expected C stream of a sequence of A rows (weights must already be loaded)."""
        out = []
        for row in rows:
            c = self.push(row)
            if c is not None:
                out.append(c)
        return out

    def acc_known(self, addr: int) -> bool:
        return self.acc[addr] is not None
