"""Instruction-level golden model of the whole NPU (docs/isa.md, docs/numerics.md).

Executes a program in program order on a DRAM byte array, a scratchpad and the matrix unit's
accumulators, with NumPy arithmetic from npu_model/numerics.py. For a program whose semaphores
order every data dependency, the concurrent hardware must leave DRAM exactly as this sequential
model does; the top-level scoreboard compares the two byte for byte.

What each instruction checks, touches, locks and releases comes from npu_model/semantics.py,
so bad-input tests know which error code and faulting address to expect without asking the RTL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwdef import HwConfig, isa
from hwdef.params import SatMode, VecFlag, VecOp
from hwdef.regs import ErrorCode
from npu_model import numerics as nx
from npu_model import semantics as sem


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
    def _before_write(self, span: sem.Span | None, pc: int) -> None:
        if self.strict and span is not None:
            for region in span.regions(self.cfg.spad_region_lines):
                if self.pending[region] > 0:
                    raise ModelError(ErrorCode.OW_VIOLATION, pc, region)

    def _after(self, acc: sem.Access, pc: int) -> None:
        """Releases, then the lock of the written regions (docs/isa.md, overwrite control)."""
        for span in acc.releases:
            for region in span.regions(self.cfg.spad_region_lines):
                if self.pending[region] == 0:
                    if self.strict:
                        raise ModelError(ErrorCode.BAD_RELEASE, pc, region)
                else:
                    self.pending[region] -= 1
        if acc.lock_readers and acc.write is not None:
            for region in acc.write.regions(self.cfg.spad_region_lines):
                self.pending[region] = acc.lock_readers

    # ---- helpers ----------------------------------------------------------------------------
    def _row_bytes(self, line: int, nbytes: int) -> np.ndarray:
        """A view-free copy of nbytes starting at byte 0 of `line` (spanning lines)."""
        return self.spad.reshape(-1)[line * self.lb: line * self.lb + nbytes].copy()

    def _write_row_bytes(self, line: int, data: np.ndarray) -> None:
        flat = self.spad.reshape(-1)
        flat[line * self.lb: line * self.lb + len(data)] = data

    def _start(self, mnemonic: str, f: dict, pc: int, res: RunResult) -> sem.Access:
        """Checks (the engine's error, if any), the write's overwrite check and the work
        counters; returns what the instruction touches."""
        fault = sem.check(self.cfg, mnemonic, f, (self.dram_base, self.dram_size))
        if fault is not None:
            raise ModelError(fault.code, pc, fault.info)
        acc = sem.access(self.cfg, mnemonic, f)
        self._before_write(acc.write, pc)
        work = sem.work(self.cfg, mnemonic, f)
        res.macs += work.macs
        res.vectors += work.vectors
        res.dram_read_bytes += work.dram_read_bytes
        res.dram_write_bytes += work.dram_write_bytes
        return acc

    # ---- instructions -----------------------------------------------------------------------
    def dma_load(self, f: dict, pc: int, res: RunResult) -> None:
        acc = self._start("DMA_LOAD", f, pc, res)
        rows, rb, pb = f["rows"], f["row_bytes"], f["pad_bytes"]
        for r in range(f["pad_rows"]):
            row = np.zeros(pb, dtype=np.uint8)
            if r < rows:
                start = f["dram_addr"] + r * f["dram_stride"]
                row[:rb] = self.dram[start:start + rb]
            self._write_row_bytes(f["spad_addr"] + r * f["spad_pitch"], row)
        self._after(acc, pc)

    def dma_store(self, f: dict, pc: int, res: RunResult) -> None:
        acc = self._start("DMA_STORE", f, pc, res)
        rb = f["row_bytes"]
        for r in range(f["rows"]):
            start = f["dram_addr"] + r * f["dram_stride"]
            self.dram[start:start + rb] = self._row_bytes(f["spad_addr"] + r * f["spad_pitch"], rb)
        self._after(acc, pc)

    def matmul(self, f: dict, pc: int, res: RunResult) -> None:
        acc = self._start("MATMUL", f, pc, res)
        dim = self.cfg.array_dim
        rows, nt = f["rows"], f["n_tiles"]
        a_cols = f["k_tiles"] * dim
        b_rows, b_cols = sem.b_shape(f, dim)
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
        self._after(acc, pc)

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
        acc = self._start("VECTOR", f, pc, res)
        lanes = self.cfg.vector_lanes
        op, sat = VecOp(f["op"]), SatMode(f["sat"])
        bmode, atype, dtype = isa.BMode(f["b_mode"]), isa.ElemType(f["a_type"]), \
            isa.ElemType(f["dst_type"])
        nvec = sem.vectors_per_row(f["row_len"], lanes)
        flags = 0
        for i in range(f["rows"]):
            mask = (np.arange(nvec * lanes) < sem.row_length(f, i)).reshape(nvec, lanes)
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
                flags |= 1 << VecFlag.NARROWED
            self._store_vectors(f["dst_addr"], f["dst_pitch"], dtype, i, narrowed)
        self._after(acc, pc)
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
            flags |= int(np.any(nx.overflowed32(wide) & mask)) << VecFlag.OVERFLOW
            y = nx.sat32(wide)
        elif op == VecOp.MAX:
            y = nx.vmax(a, b)
        elif op == VecOp.MULSHR:
            exact = nx.mulshr_exact(a, b, shift)
            saturated = (exact > nx.INT32_MAX) | (exact < nx.INT32_MIN)
            flags |= int(np.any(saturated.astype(bool) & mask)) << VecFlag.OVERFLOW
            y = nx.vmulshr(a, b, shift)
        elif op == VecOp.EXP2:
            flags |= int(np.any(nx.exp2_domain_error(a) & mask)) << VecFlag.EXP2_DOMAIN
            y = nx.vexp2(a, shift)
        elif op == VecOp.RECIP:
            flags |= int(np.any(nx.recip_domain_error(a) & mask)) << VecFlag.RECIP_DOMAIN
            y = nx.vrecip(a)
        else:  # pragma: no cover - guarded by the field check
            raise AssertionError(op)
        return np.where(mask, y, 0), flags

    # ---- program ----------------------------------------------------------------------------
    def run(self, prog_base: int, max_insns: int = 1_000_000) -> RunResult:
        res = RunResult(retired=0)
        pc = prog_base
        fetch_bytes = self.cfg.fetch_burst_beats * self.lb
        if prog_base % isa.INSN_BYTES:   # checked at START, before any fetch (docs/isa.md)
            res.error = ModelError(ErrorCode.PROG_ALIGN, prog_base, prog_base)
            return res
        for _ in range(max_insns):
            try:
                # fetch reads whole aligned bursts: the word's burst must lie in the window
                burst = pc - pc % fetch_bytes
                if burst < self.dram_base or burst + fetch_bytes > self.dram_base + self.dram_size:
                    raise ModelError(ErrorCode.DRAM_RANGE, pc, pc)
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
