"""NumPy model of one MATMUL instruction as the matrix engine executes it (docs/isa.md).

Instruction level, not cycle level: given the scratchpad image (lines x line_bytes, uint8) and
the accumulator rows before the instruction, it returns the error the engine must report (if
any), the scratchpad image after the instruction, the new accumulator rows, and the sets of
scratchpad regions the overwrite-control accesses must touch.

Semantics modelled (docs/isa.md, MATMUL):

* A is rows x K (K = k_tiles*Dim) int8 (a_signed) or uint8; element (i, c) is byte c % LB of
  line a_addr + i*a_pitch + c // LB (LB = bytes per line).
* B is stored as rows of int8; stored element (r, c) is byte c % LB of line
  b_addr + r*b_pitch + c // LB. Without transpose B is K x N (N = n_tiles*Dim); with
  transpose the stored matrix is N x K and B is its transpose.
* For output tile n, row i: acc[acc_addr + n*rows + i] = (old if accumulate else 0) +
  (A @ B)[i, n*Dim:(n+1)*Dim], int32 two's complement (the per-k-tile int32 wrap-around the
  hardware does is the same modulo 2**32 as wrapping the int64 sum once).
* With emit, that row is written as Dim little-endian int32 words to line
  dst_addr + i*dst_pitch + (n*Dim*4) // LB from byte (n*Dim*4) % LB; no other byte changes.
* Checks, in this order, before anything happens: rows, k_tiles or n_tiles zero -> BAD_FIELD
  (info 0, the field's value); acc_addr + n_tiles*rows > acc_lines -> ACC_RANGE (info: that
  end); the last line of A, then of B, then (with emit) of the destination >= spad_lines ->
  SPAD_RANGE (info: that line).
* release_a / release_b: every region (line // region_lines) holding a line of A / B is
  released once; lock_readers != 0 with emit: every region holding a destination line is
  locked once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwdef.regs import ErrorCode
from tb.golden.matrix_unit_model import wrap_int32

FIELDS = ("a_addr", "a_pitch", "rows", "b_addr", "b_pitch", "k_tiles", "n_tiles", "transpose",
          "a_signed", "acc_addr", "accumulate", "emit", "dst_addr", "dst_pitch", "release_a",
          "release_b", "lock_readers")


@dataclass
class MatmulResult:
    error: int = 0                      # ErrorCode value (0: ran)
    info: int = 0
    spad: np.ndarray | None = None      # image after the instruction
    written_lines: set[int] = field(default_factory=set)
    release_a: set[int] = field(default_factory=set)   # regions
    release_b: set[int] = field(default_factory=set)
    lock: set[int] = field(default_factory=set)
    a_lines: set[int] = field(default_factory=set)
    b_lines: set[int] = field(default_factory=set)


class MatmulEngineModel:
    def __init__(self, dim: int, acc_lines: int, spad_lines: int, line_bytes: int,
                 region_lines: int):
        self.dim = dim
        self.acc_lines = acc_lines
        self.spad_lines = spad_lines
        self.line_bytes = line_bytes
        self.region_lines = region_lines
        # Accumulator rows; None = unknown (the hardware does not reset them).
        self.acc: list[np.ndarray | None] = [None] * acc_lines

    # ---- geometry ---------------------------------------------------------------------------
    def a_last_line(self, f) -> int:
        return f["a_addr"] + (f["rows"] - 1) * f["a_pitch"] + \
            (f["k_tiles"] * self.dim - 1) // self.line_bytes

    def b_shape(self, f) -> tuple[int, int]:
        """(stored rows, stored columns) of B."""
        kk, nn = f["k_tiles"] * self.dim, f["n_tiles"] * self.dim
        return (nn, kk) if f["transpose"] else (kk, nn)

    def b_last_line(self, f) -> int:
        rows, cols = self.b_shape(f)
        return f["b_addr"] + (rows - 1) * f["b_pitch"] + (cols - 1) // self.line_bytes

    def dst_last_line(self, f) -> int:
        return f["dst_addr"] + (f["rows"] - 1) * f["dst_pitch"] + \
            (f["n_tiles"] * self.dim * 4 - 1) // self.line_bytes

    def _lines(self, base: int, pitch: int, rows: int, row_bytes: int) -> np.ndarray:
        """Line of every (row, byte column) of a strided matrix: shape rows x row_bytes."""
        return (base + np.arange(rows)[:, None] * pitch
                + (np.arange(row_bytes) // self.line_bytes)[None, :])

    def operand_lines(self, f) -> tuple[set[int], set[int], set[int]]:
        """Lines of A, B and (with emit) the destination."""
        kk = f["k_tiles"] * self.dim
        a = set(np.unique(self._lines(f["a_addr"], f["a_pitch"], f["rows"], kk)).tolist())
        rows, cols = self.b_shape(f)
        b = set(np.unique(self._lines(f["b_addr"], f["b_pitch"], rows, cols)).tolist())
        d = set()
        if f["emit"]:
            d = set(np.unique(self._lines(f["dst_addr"], f["dst_pitch"], f["rows"],
                                          f["n_tiles"] * self.dim * 4)).tolist())
        return a, b, d

    # ---- checks -----------------------------------------------------------------------------
    def check(self, f) -> tuple[int, int]:
        if f["rows"] == 0 or f["k_tiles"] == 0 or f["n_tiles"] == 0:
            return int(ErrorCode.BAD_FIELD), 0
        acc_end = f["acc_addr"] + f["n_tiles"] * f["rows"]
        if acc_end > self.acc_lines:
            return int(ErrorCode.ACC_RANGE), acc_end
        for last in (self.a_last_line(f), self.b_last_line(f)):
            if last >= self.spad_lines:
                return int(ErrorCode.SPAD_RANGE), last
        if f["emit"] and self.dst_last_line(f) >= self.spad_lines:
            return int(ErrorCode.SPAD_RANGE), self.dst_last_line(f)
        return 0, 0

    # ---- execution --------------------------------------------------------------------------
    def _gather(self, spad: np.ndarray, base: int, pitch: int, rows: int, cols: int):
        lines = self._lines(base, pitch, rows, cols)
        bytes_ = np.broadcast_to(np.arange(cols) % self.line_bytes, lines.shape)
        return spad[lines, bytes_]

    def execute(self, f, spad: np.ndarray) -> MatmulResult:
        f = {name: int(f.get(name, 0)) for name in FIELDS}
        err, info = self.check(f)
        if err:
            return MatmulResult(error=err, info=info, spad=spad.copy())
        dim, lb = self.dim, self.line_bytes
        rows, kt, nt = f["rows"], f["k_tiles"], f["n_tiles"]
        kk = kt * dim

        a = self._gather(spad, f["a_addr"], f["a_pitch"], rows, kk).astype(np.int64)
        if f["a_signed"]:
            a = np.where(a >= 128, a - 256, a)
        brows, bcols = self.b_shape(f)
        b = self._gather(spad, f["b_addr"], f["b_pitch"], brows, bcols).astype(np.int64)
        b = np.where(b >= 128, b - 256, b)
        if f["transpose"]:
            b = b.T
        c = a @ b   # rows x nn, int64 exact

        out = spad.copy()
        res = MatmulResult(spad=out)
        for n in range(nt):
            for i in range(rows):
                addr = f["acc_addr"] + n * rows + i
                part = c[i, n * dim:(n + 1) * dim]
                if f["accumulate"]:
                    old = self.acc[addr]
                    if old is None:
                        raise RuntimeError(f"accumulate into unknown accumulator row {addr}")
                    total = old + part
                else:
                    total = part
                val = wrap_int32(total)
                self.acc[addr] = val.copy()
                if f["emit"]:
                    line = f["dst_addr"] + i * f["dst_pitch"] + (n * dim * 4) // lb
                    off = (n * dim * 4) % lb
                    out[line, off:off + dim * 4] = np.frombuffer(
                        val.astype("<i4").tobytes(), dtype=np.uint8)
                    res.written_lines.add(line)

        a_lines, b_lines, d_lines = self.operand_lines(f)
        res.a_lines, res.b_lines = a_lines, b_lines
        region = self.region_lines
        if f["release_a"]:
            res.release_a = {line // region for line in a_lines}
        if f["release_b"]:
            res.release_b = {line // region for line in b_lines}
        if f["emit"] and f["lock_readers"]:
            res.lock = {line // region for line in d_lines}
        return res
