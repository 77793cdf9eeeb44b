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
* What the instruction checks (its error, in the engine's order, with the ERROR_INFO value) and
  which lines and regions it reads, writes, releases and locks is npu_model/semantics.py
  (`check`, `access`); this module adds the data the engine computes and writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwdef import HwConfig, isa
from npu_model import semantics as sem
from tb.golden.matrix_unit_model import wrap_int32

FIELDS = tuple(fld.name for fld, _ in isa.BY_MNEMONIC["MATMUL"].layout()[1:])


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
    def __init__(self, cfg: HwConfig):
        self.cfg = cfg
        self.dim = cfg.array_dim
        self.line_bytes = cfg.line_bytes
        self.region_lines = cfg.spad_region_lines
        # Accumulator rows; None = unknown (the hardware does not reset them).
        self.acc: list[np.ndarray | None] = [None] * cfg.acc_lines

    @staticmethod
    def fields(f: dict) -> dict:
        """Every MATMUL field, missing ones 0."""
        return {name: int(f.get(name, 0)) for name in FIELDS}

    def operand_lines(self, f) -> tuple[set[int], set[int], set[int]]:
        """Lines of A, B and (with emit) the destination."""
        acc = sem.access(self.cfg, "MATMUL", self.fields(f))
        a, b = acc.reads
        return (set(a.lines()), set(b.lines()),
                set(acc.write.lines()) if acc.write is not None else set())

    def check(self, f) -> tuple[int, int]:
        """(ErrorCode value, info) of the instruction; (0, 0) when it runs."""
        fault = sem.check(self.cfg, "MATMUL", self.fields(f))
        return (0, 0) if fault is None else (int(fault.code), fault.info)

    # ---- execution --------------------------------------------------------------------------
    def _gather(self, spad: np.ndarray, span: sem.Span, cols: int):
        """Bytes 0..cols-1 of every row of a strided operand: shape rows x cols."""
        lines = (span.addr + np.arange(span.rows)[:, None] * span.pitch
                 + (np.arange(cols) // self.line_bytes)[None, :])
        bytes_ = np.broadcast_to(np.arange(cols) % self.line_bytes, lines.shape)
        return spad[lines, bytes_]

    def execute(self, f, spad: np.ndarray) -> MatmulResult:
        f = self.fields(f)
        err, info = self.check(f)
        if err:
            return MatmulResult(error=err, info=info, spad=spad.copy())
        dim, lb = self.dim, self.line_bytes
        rows, kt, nt = f["rows"], f["k_tiles"], f["n_tiles"]
        access = sem.access(self.cfg, "MATMUL", f)
        a_span, b_span = access.reads

        a = self._gather(spad, a_span, kt * dim).astype(np.int64)
        if f["a_signed"]:
            a = np.where(a >= 128, a - 256, a)
        b = self._gather(spad, b_span, sem.b_shape(f, dim)[1]).astype(np.int64)
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

        res.a_lines, res.b_lines = set(a_span.lines()), set(b_span.lines())
        region = self.region_lines
        if f["release_a"]:
            res.release_a = set(a_span.regions(region))
        if f["release_b"]:
            res.release_b = set(b_span.regions(region))
        if access.write is not None and access.lock_readers:
            res.lock = set(access.write.regions(region))
        return res
