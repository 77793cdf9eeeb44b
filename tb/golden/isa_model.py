"""Instruction-level golden model of the whole NPU (docs/isa.md, docs/numerics.md).

Executes a program in program order on a DRAM byte array, a scratchpad and the matrix unit's
accumulators, with NumPy arithmetic from tb/golden/numerics.py. For a program whose semaphores
order every data dependency, the concurrent hardware must leave DRAM exactly as this sequential
model does; the top-level scoreboard compares the two byte for byte.

It also knows the error checks of every instruction, so bad-input tests know which error code
and faulting address to expect without asking the RTL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwdef import HwConfig, isa
from hwdef.params import SatMode, VecOp
from hwdef.regs import ErrorCode
from tb.golden import numerics as nx


@dataclass
class ModelError(Exception):
    code: ErrorCode
    pc: int
    info: int = 0

    def __str__(self) -> str:
        return f"{self.code.name} at pc 0x{self.pc:x} (info {self.info})"


@dataclass
class RunResult:
    retired: int
    error: ModelError | None = None
    flags: int = 0
    macs: int = 0
    vectors: int = 0
    dram_read_bytes: int = 0
    dram_write_bytes: int = 0
    trace: list[str] = field(default_factory=list)


class NpuModel:
    def __init__(self, cfg: HwConfig, dram: np.ndarray, dram_base: int = 0,
                 dram_size: int | None = None):
        self.cfg = cfg
        self.dram = dram  # uint8, byte addressed from 0; modified in place
        self.dram_base = dram_base
        self.dram_size = len(dram) - dram_base if dram_size is None else dram_size
        self.lb = cfg.line_bytes
        self.spad = np.zeros((cfg.spad_lines, self.lb), dtype=np.uint8)
        self.acc = np.zeros((cfg.acc_lines, cfg.array_dim), dtype=np.int64)
        self.strict = False
        self.pending = np.zeros(cfg.spad_regions, dtype=np.int64)

    # ---- overwrite control (strict mode only: in program order, a write into a region that
    # still awaits reads is a violation; non-strict programs are assumed to be ordered) -------
    def _regions(self, lines) -> list[int]:
        return sorted({line // self.cfg.spad_region_lines for line in lines})

    def _before_write(self, lines, pc: int) -> None:
        if self.strict:
            for region in self._regions(lines):
                if self.pending[region] > 0:
                    raise ModelError(ErrorCode.OW_VIOLATION, pc, region)

    def _lock(self, lines, readers: int) -> None:
        if readers:
            for region in self._regions(lines):
                self.pending[region] = readers

    def _release(self, lines, pc: int) -> None:
        for region in self._regions(lines):
            if self.pending[region] == 0:
                if self.strict:
                    raise ModelError(ErrorCode.BAD_RELEASE, pc, region)
            else:
                self.pending[region] -= 1

    @staticmethod
    def _row_lines(addr: int, rows: int, pitch: int, nbytes: int, lb: int) -> list[int]:
        per_row = -(-nbytes // lb)
        return [addr + r * pitch + k for r in range(rows) for k in range(per_row)]

    # ---- helpers ----------------------------------------------------------------------------
    def _check_dram(self, start: int, end: int, pc: int) -> None:
        """[start, end) must lie inside the window."""
        if start < self.dram_base or end > self.dram_base + self.dram_size or end < start:
            raise ModelError(ErrorCode.DRAM_RANGE, pc, start)

    def _check_spad(self, last_line: int, pc: int) -> None:
        if last_line >= self.cfg.spad_lines:
            raise ModelError(ErrorCode.SPAD_RANGE, pc, last_line)

    def _row_bytes(self, line: int, nbytes: int) -> np.ndarray:
        """A view-free copy of nbytes starting at byte 0 of `line` (spanning lines)."""
        return self.spad.reshape(-1)[line * self.lb: line * self.lb + nbytes].copy()

    def _write_row_bytes(self, line: int, data: np.ndarray) -> None:
        flat = self.spad.reshape(-1)
        flat[line * self.lb: line * self.lb + len(data)] = data

    # ---- instructions -----------------------------------------------------------------------
    def dma_load(self, f: dict, pc: int, res: RunResult) -> None:
        rows, rb, prow, pb = f["rows"], f["row_bytes"], f["pad_rows"], f["pad_bytes"]
        if rows == 0 or rb == 0 or prow < rows or pb < rb:
            raise ModelError(ErrorCode.BAD_FIELD, pc)
        last = f["spad_addr"] + (prow - 1) * f["spad_pitch"] + (pb - 1) // self.lb
        self._check_spad(last, pc)
        for r in range(rows):
            start = f["dram_addr"] + r * f["dram_stride"]
            self._check_dram(start, start + rb, pc)
        lines = self._row_lines(f["spad_addr"], prow, f["spad_pitch"], pb, self.lb)
        self._before_write(lines, pc)
        for r in range(prow):
            row = np.zeros(pb, dtype=np.uint8)
            if r < rows:
                start = f["dram_addr"] + r * f["dram_stride"]
                row[:rb] = self.dram[start:start + rb]
                res.dram_read_bytes += rb
            self._write_row_bytes(f["spad_addr"] + r * f["spad_pitch"], row)
        self._lock(lines, f["lock_readers"])

    def dma_store(self, f: dict, pc: int, res: RunResult) -> None:
        rows, rb = f["rows"], f["row_bytes"]
        if rows == 0 or rb == 0:
            raise ModelError(ErrorCode.BAD_FIELD, pc)
        last = f["spad_addr"] + (rows - 1) * f["spad_pitch"] + (rb - 1) // self.lb
        self._check_spad(last, pc)
        for r in range(rows):
            start = f["dram_addr"] + r * f["dram_stride"]
            self._check_dram(start, start + rb, pc)
        for r in range(rows):
            start = f["dram_addr"] + r * f["dram_stride"]
            self.dram[start:start + rb] = self._row_bytes(f["spad_addr"] + r * f["spad_pitch"], rb)
            res.dram_write_bytes += rb
        if f["release_src"]:
            self._release(self._row_lines(f["spad_addr"], rows, f["spad_pitch"], rb, self.lb), pc)

    def matmul(self, f: dict, pc: int, res: RunResult) -> None:
        dim = self.cfg.array_dim
        rows, kt, nt = f["rows"], f["k_tiles"], f["n_tiles"]
        if rows == 0 or kt == 0 or nt == 0:
            raise ModelError(ErrorCode.BAD_FIELD, pc)
        if f["acc_addr"] + nt * rows > self.cfg.acc_lines:
            raise ModelError(ErrorCode.ACC_RANGE, pc, f["acc_addr"] + nt * rows)
        a_cols = kt * dim
        b_rows, b_cols = (nt * dim, kt * dim) if f["transpose"] else (kt * dim, nt * dim)
        self._check_spad(f["a_addr"] + (rows - 1) * f["a_pitch"] + (a_cols - 1) // self.lb, pc)
        self._check_spad(f["b_addr"] + (b_rows - 1) * f["b_pitch"] + (b_cols - 1) // self.lb, pc)
        if f["emit"]:
            self._check_spad(f["dst_addr"] + (rows - 1) * f["dst_pitch"]
                             + (nt * dim * 4 - 1) // self.lb, pc)
        dst_lines = (self._row_lines(f["dst_addr"], rows, f["dst_pitch"], nt * dim * 4, self.lb)
                     if f["emit"] else [])
        self._before_write(dst_lines, pc)
        a = np.stack([self._row_bytes(f["a_addr"] + i * f["a_pitch"], a_cols)
                      for i in range(rows)])
        a = a.view(np.int8).astype(np.int64) if f["a_signed"] else a.astype(np.int64)
        b = np.stack([self._row_bytes(f["b_addr"] + r * f["b_pitch"], b_cols)
                      for r in range(b_rows)]).view(np.int8).astype(np.int64)
        if f["transpose"]:
            b = b.T
        for n in range(nt):
            part = a @ b[:, n * dim:(n + 1) * dim]  # exact: |sum| < 2^31 for k <= 2^16
            lines = slice(f["acc_addr"] + n * rows, f["acc_addr"] + (n + 1) * rows)
            base = self.acc[lines] if f["accumulate"] else 0
            total = base + part
            total = ((total + (1 << 31)) % (1 << 32)) - (1 << 31)  # int32 wrap
            self.acc[lines] = total
            if f["emit"]:
                for i in range(rows):
                    line = f["dst_addr"] + i * f["dst_pitch"]
                    flat = self.spad.reshape(-1)
                    start = line * self.lb + n * dim * 4
                    flat[start:start + dim * 4] = total[i].astype("<i4").view(np.uint8)
        res.macs += rows * kt * nt * dim * dim
        if f["release_a"]:
            self._release(self._row_lines(f["a_addr"], rows, f["a_pitch"], a_cols, self.lb), pc)
        if f["release_b"]:
            self._release(self._row_lines(f["b_addr"], b_rows, f["b_pitch"], b_cols, self.lb), pc)
        self._lock(dst_lines, f["lock_readers"])

    def _load_vectors(self, addr: int, pitch: int, etype: isa.ElemType, row: int,
                      nvec: int) -> np.ndarray:
        lanes = self.cfg.vector_lanes
        if etype == isa.ElemType.INT32:
            raw = self._row_bytes(addr + row * pitch, nvec * lanes * 4)
            return raw.view("<i4").astype(np.int64).reshape(nvec, lanes)
        raw = self._row_bytes(addr + row * pitch, nvec * lanes)
        values = raw.view(np.int8) if etype == isa.ElemType.INT8 else raw
        return values.astype(np.int64).reshape(nvec, lanes)

    def _store_vectors(self, addr: int, pitch: int, etype: isa.ElemType, row: int,
                       values: np.ndarray) -> None:
        line = addr + row * pitch
        flat = self.spad.reshape(-1)
        if etype == isa.ElemType.INT32:
            data = values.reshape(-1).astype("<i4").view(np.uint8)
        else:
            data = (values.reshape(-1) & 0xFF).astype(np.uint8)
        flat[line * self.lb: line * self.lb + len(data)] = data

    def vector(self, f: dict, pc: int, res: RunResult) -> int:
        lanes = self.cfg.vector_lanes
        rows, rlen = f["rows"], f["row_len"]
        if rows == 0 or rlen == 0:
            raise ModelError(ErrorCode.BAD_FIELD, pc)
        for name, limit in (("op", max(VecOp)), ("sat", max(SatMode)),
                            ("b_mode", max(isa.BMode)), ("a_type", max(isa.ElemType)),
                            ("dst_type", max(isa.ElemType))):
            if f[name] > limit:
                raise ModelError(ErrorCode.BAD_FIELD, pc, f[name])
        op, sat = VecOp(f["op"]), SatMode(f["sat"])
        bmode, atype, dtype = isa.BMode(f["b_mode"]), isa.ElemType(f["a_type"]), \
            isa.ElemType(f["dst_type"])
        nvec = -(-rlen // lanes)

        def extent(addr, pitch, etype, count):
            nbytes = count * lanes * (4 if etype == isa.ElemType.INT32 else 1)
            return addr + (rows - 1) * pitch + (nbytes - 1) // self.lb

        self._check_spad(extent(f["a_addr"], f["a_pitch"], atype, nvec), pc)
        if bmode == isa.BMode.VECTOR:
            self._check_spad(extent(f["b_addr"], f["b_pitch"], atype, nvec), pc)
        elif bmode == isa.BMode.ROW:
            self._check_spad(f["b_addr"] + (rows - 1) * f["b_pitch"], pc)
        out_vecs = 1 if op.is_reduction else nvec
        self._check_spad(extent(f["dst_addr"], f["dst_pitch"], dtype, out_vecs), pc)

        def lines_of(addr, pitch, etype, count):
            nbytes = count * lanes * (4 if etype == isa.ElemType.INT32 else 1)
            return self._row_lines(addr, rows, pitch, nbytes, self.lb)

        dst_lines = lines_of(f["dst_addr"], f["dst_pitch"], dtype, out_vecs)
        self._before_write(dst_lines, pc)
        flags = 0
        for i in range(rows):
            length = rlen
            if f["causal"]:
                length = min(rlen, max(0, f["diag"] + i))
            mask = (np.arange(nvec * lanes) < length).reshape(nvec, lanes)
            a = self._load_vectors(f["a_addr"], f["a_pitch"], atype, i, nvec)
            if bmode == isa.BMode.VECTOR:
                b = self._load_vectors(f["b_addr"], f["b_pitch"], atype, i, nvec)
            elif bmode == isa.BMode.ROW:
                b = np.broadcast_to(self._load_vectors(f["b_addr"], f["b_pitch"],
                                                       isa.ElemType.INT32, i, 1), a.shape)
            else:
                b = np.full(a.shape, f["scalar"], dtype=np.int64)
            y, fl = self._vector_op(op, a, b, mask, f["shift"])
            flags |= fl
            narrowed = nx.narrow(y, sat)
            if np.any(narrowed != y):
                flags |= 1 << 3
            self._store_vectors(f["dst_addr"], f["dst_pitch"], dtype, i, narrowed)
        res.vectors += rows * nvec
        if f["release_a"]:
            self._release(lines_of(f["a_addr"], f["a_pitch"], atype, nvec), pc)
        if f["release_b"] and bmode != isa.BMode.SCALAR:
            b_lines = (lines_of(f["b_addr"], f["b_pitch"], atype, nvec)
                       if bmode == isa.BMode.VECTOR
                       else self._row_lines(f["b_addr"], rows, f["b_pitch"], lanes * 4, self.lb))
            self._release(b_lines, pc)
        self._lock(dst_lines, f["lock_readers"])
        return flags

    @staticmethod
    def _vector_op(op: VecOp, a, b, mask, shift):
        """Returns (result vectors, flag bits) for one row; masked lanes give 0."""
        flags = 0
        lanes = a.shape[1]
        if op == VecOp.RMAX:
            value = nx.row_max(a, mask)
            return np.full((1, lanes), value, dtype=np.int64), 0
        if op == VecOp.RSUM:
            total, over = nx.row_sum_vectors(list(a), list(mask))
            return np.full((1, lanes), total, dtype=np.int64), (1 if over else 0)
        if op == VecOp.COPY:
            y = a
        elif op in (VecOp.ADD, VecOp.SUB):
            wide = a + b if op == VecOp.ADD else a - b
            flags |= int(np.any(nx.overflowed32(wide) & mask))
            y = nx.sat32(wide)
        elif op == VecOp.MAX:
            y = nx.vmax(a, b)
        elif op == VecOp.MULSHR:
            exact = nx.mulshr_exact(a, b, shift)
            over = (exact > nx.INT32_MAX) | (exact < nx.INT32_MIN)
            flags |= int(np.any(over.astype(bool) & mask))
            y = nx.vmulshr(a, b, shift)
        elif op == VecOp.EXP2:
            flags |= int(np.any(nx.exp2_domain_error(a) & mask)) << 1
            y = nx.vexp2(a, shift)
        elif op == VecOp.RECIP:
            flags |= int(np.any(nx.recip_domain_error(a) & mask)) << 2
            y = nx.vrecip(a)
        else:  # pragma: no cover - guarded by the field check
            raise AssertionError(op)
        return np.where(mask, y, 0), flags

    # ---- program ----------------------------------------------------------------------------
    def run(self, prog_base: int, max_insns: int = 1_000_000) -> RunResult:
        res = RunResult(retired=0)
        pc = prog_base
        for _ in range(max_insns):
            try:
                self._check_dram(pc, pc + isa.INSN_BYTES, pc)
                word = int.from_bytes(self.dram[pc:pc + isa.INSN_BYTES].tobytes(), "little")
                try:
                    mnemonic, fields = isa.decode(word)
                except isa.IsaError:
                    raise ModelError(ErrorCode.ILLEGAL_OPCODE, pc, word & 0xF) from None
                res.trace.append(f"0x{pc:x}: {mnemonic}")
                if mnemonic == "DMA_LOAD":
                    self.dma_load(fields, pc, res)
                elif mnemonic == "DMA_STORE":
                    self.dma_store(fields, pc, res)
                elif mnemonic == "MATMUL":
                    self.matmul(fields, pc, res)
                elif mnemonic == "VECTOR":
                    res.flags |= self.vector(fields, pc, res)
                res.retired += 1
                if mnemonic == "HALT":
                    return res
            except ModelError as err:
                res.error = err
                return res
            pc += isa.INSN_BYTES
        raise RuntimeError(f"program did not HALT within {max_insns} instructions")
