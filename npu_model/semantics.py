"""What each instruction checks, touches and costs, from its encoded fields (docs/isa.md).

One definition per instruction, used by everything that reasons about programs:

* `check`    - the error an instruction reports before any access, in the engines' order,
               with the info value the RTL puts in ERROR_INFO (the block benches check it):
               field values, ranges, then operand aliasing (`in_place`, docs/isa.md).
* `access`   - the scratchpad lines it reads and writes (as strided `Span`s), the DRAM rows it
               reads or writes, what it releases and what it locks for how many readers.
* `row_length`, `vectors_per_row` - the VECTOR row rule, causal mask included.
* `work`     - MACs, vectors and DRAM bytes: the counters the RTL keeps and the bench's
               roofline divides by.

The instruction-level executor (npu_model/executor.py), the scheduler's synchronization and
cost model (scheduler/sync.py, scheduler/cost.py), the block models under tb/golden/ and the
bench all call these functions, so a new instruction or operand mode is one edit here.
Fields are the dictionaries of `hwdef.isa.decode` (every field of the instruction present).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from hwdef import HwConfig, isa
from hwdef.params import ACC_BITS, AXI_BOUNDARY_BYTES, AXI_MAX_BURST_BEATS, SatMode, VecOp
from hwdef.regs import ErrorCode

_ACC_BYTES = ACC_BITS // 8


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class Fault:
    """An instruction's error: the code and the ERROR_INFO value."""

    code: ErrorCode
    info: int = 0


class Span(NamedTuple):
    """Scratchpad lines of a strided operand: `rows` rows of `per_row` consecutive lines,
    the first line of row r at `addr + r * pitch`."""

    addr: int
    rows: int
    pitch: int
    per_row: int

    @classmethod
    def of_bytes(cls, addr: int, rows: int, pitch: int, nbytes: int, line_bytes: int) -> Span:
        """Rows of `nbytes` bytes each, every row starting at byte 0 of its first line."""
        return cls(addr, rows, pitch, ceil_div(nbytes, line_bytes))

    @property
    def last(self) -> int:
        """The highest line (the range check's subject)."""
        return self.addr + (self.rows - 1) * self.pitch + self.per_row - 1

    def meets(self, other: Span) -> bool:
        """The bounding line intervals [addr, last] of both spans intersect (the aliasing
        check's comparison, docs/isa.md "Operand aliasing")."""
        return self.addr <= other.last and other.addr <= self.last

    def lines(self) -> range | list[int]:
        """Every line, row by row (lines shared by overlapping rows repeat)."""
        if self.pitch == self.per_row or self.rows == 1:
            return range(self.addr, self.addr + (self.rows - 1) * self.pitch + self.per_row)
        return [self.addr + r * self.pitch + k for r in range(self.rows)
                for k in range(self.per_row)]

    def regions(self, region_lines: int) -> list[int]:
        """Overwrite-control regions holding a line of the span, ascending."""
        return sorted({line // region_lines for line in self.lines()})


class DramRows(NamedTuple):
    """DRAM bytes of a DMA: `rows` rows of `row_bytes`, `stride` apart."""

    addr: int
    rows: int
    stride: int
    row_bytes: int

    @property
    def end(self) -> int:
        """One past the last byte (strides are unsigned, so the last row ends last)."""
        return self.addr + (self.rows - 1) * self.stride + self.row_bytes

    @property
    def nbytes(self) -> int:
        return self.rows * self.row_bytes

    def granules(self, granule: int) -> set[int]:
        """Indices of the `granule`-byte blocks any row touches."""
        out: set[int] = set()
        for r in range(self.rows):
            start = self.addr + r * self.stride
            out.update(range(start // granule, (start + self.row_bytes - 1) // granule + 1))
        return out


def row_bursts(addr: int, nbytes: int, line_bytes: int) -> list[tuple[int, int]]:
    """AXI bursts (beat-aligned address, beats) covering DRAM bytes [addr, addr + nbytes):
    split at 4 KiB boundaries and at the longest AXI4 burst."""
    cur = addr - addr % line_bytes
    end = ceil_div(addr + nbytes, line_bytes) * line_bytes
    out = []
    while cur < end:
        stop = min(end, (cur // AXI_BOUNDARY_BYTES + 1) * AXI_BOUNDARY_BYTES,
                   cur + AXI_MAX_BURST_BEATS * line_bytes)
        out.append((cur, (stop - cur) // line_bytes))
        cur = stop
    return out


class Access(NamedTuple):
    """Everything an instruction touches (empty for NOP and HALT)."""

    reads: tuple[Span, ...] = ()
    write: Span | None = None
    releases: tuple[Span, ...] = ()      # released once each, in this order, after the work
    lock_readers: int = 0                # the write's regions await this many reads after it
    dram_read: DramRows | None = None
    dram_write: DramRows | None = None


# ---- VECTOR row rule ------------------------------------------------------------------------
def vectors_per_row(row_len: int, lanes: int) -> int:
    return ceil_div(row_len, lanes)


def row_length(f: dict, row: int) -> int:
    """Valid elements of row `row` of a VECTOR: row_len, or under the causal mask
    min(row_len, max(0, diag + row)) (docs/isa.md)."""
    if f["causal"]:
        return min(f["row_len"], max(0, f["diag"] + row))
    return f["row_len"]


def _elem_bytes(etype: int) -> int:
    return 4 if etype == isa.ElemType.INT32 else 1


# ---- MATMUL shapes -------------------------------------------------------------------------
def b_shape(f: dict, dim: int) -> tuple[int, int]:
    """(stored rows, stored bytes per row) of MATMUL's B: K x N, or N x K with transpose."""
    kk, nn = f["k_tiles"] * dim, f["n_tiles"] * dim
    return (nn, kk) if f["transpose"] else (kk, nn)


# ---- access --------------------------------------------------------------------------------
def access(cfg: HwConfig, mnemonic: str, f: dict) -> Access:
    lb = cfg.line_bytes
    if mnemonic == "DMA_LOAD":
        dst = Span.of_bytes(f["spad_addr"], f["pad_rows"], f["spad_pitch"], f["pad_bytes"], lb)
        return Access(write=dst, lock_readers=f["lock_readers"],
                      dram_read=DramRows(f["dram_addr"], f["rows"], f["dram_stride"],
                                         f["row_bytes"]))
    if mnemonic == "DMA_STORE":
        src = Span.of_bytes(f["spad_addr"], f["rows"], f["spad_pitch"], f["row_bytes"], lb)
        return Access(reads=(src,), releases=(src,) if f["release_src"] else (),
                      dram_write=DramRows(f["dram_addr"], f["rows"], f["dram_stride"],
                                          f["row_bytes"]))
    if mnemonic == "MATMUL":
        dim = cfg.array_dim
        a = Span.of_bytes(f["a_addr"], f["rows"], f["a_pitch"], f["k_tiles"] * dim, lb)
        b_rows, b_cols = b_shape(f, dim)
        b = Span.of_bytes(f["b_addr"], b_rows, f["b_pitch"], b_cols, lb)
        c: Span | None = (Span.of_bytes(f["dst_addr"], f["rows"], f["dst_pitch"],
                                        f["n_tiles"] * dim * _ACC_BYTES, lb)
                          if f["emit"] else None)
        released = tuple(s for s, flag in ((a, f["release_a"]), (b, f["release_b"])) if flag)
        return Access(reads=(a, b), write=c, releases=released,
                      lock_readers=f["lock_readers"] if f["emit"] else 0)
    if mnemonic == "VECTOR":
        lanes, rows = cfg.vector_lanes, f["rows"]
        nvec = vectors_per_row(f["row_len"], lanes)

        def operand(addr: int, pitch: int, etype: int, count: int) -> Span:
            return Span.of_bytes(addr, rows, pitch, count * lanes * _elem_bytes(etype), lb)

        a = operand(f["a_addr"], f["a_pitch"], f["a_type"], nvec)
        reads: list[Span] = [a]
        releases: list[Span] = [a] if f["release_a"] else []
        if f["b_mode"] != isa.BMode.SCALAR:
            b = (operand(f["b_addr"], f["b_pitch"], f["a_type"], nvec)
                 if f["b_mode"] == isa.BMode.VECTOR
                 else operand(f["b_addr"], f["b_pitch"], isa.ElemType.INT32, 1))
            reads.append(b)
            if f["release_b"]:
                releases.append(b)
        out_vecs = 1 if VecOp(f["op"]).is_reduction else nvec
        out = operand(f["dst_addr"], f["dst_pitch"], f["dst_type"], out_vecs)
        return Access(reads=tuple(reads), write=out, releases=tuple(releases),
                      lock_readers=f["lock_readers"])
    return Access()


# ---- checks --------------------------------------------------------------------------------
def _dram_fault(rows: DramRows, base: int, size: int) -> Fault | None:
    if rows.addr < base:
        return Fault(ErrorCode.DRAM_RANGE, rows.addr)
    if rows.end > base + size or rows.end > 1 << 32:
        return Fault(ErrorCode.DRAM_RANGE, (rows.end - 1) & 0xFFFFFFFF)
    return None


def _spad_fault(cfg: HwConfig, spans) -> Fault | None:
    for span in spans:
        if span.last >= cfg.spad_lines:
            return Fault(ErrorCode.SPAD_RANGE, span.last)
    return None


def in_place(f: dict, operand: str) -> bool:
    """VECTOR's result is exactly in place on `operand` ("a", or "b" in b_mode VECTOR): same
    address, pitch and element type, an element-wise op, and rows that share no line."""
    if operand == "b" and f["b_mode"] != isa.BMode.VECTOR:
        return False
    if VecOp(f["op"]).is_reduction or f["dst_type"] != f["a_type"]:
        return False
    if f["dst_addr"] != f[f"{operand}_addr"] or f["dst_pitch"] != f[f"{operand}_pitch"]:
        return False
    return True


def _overlap_fault(f: dict, acc: Access, names: tuple[str, ...]) -> Fault | None:
    """OPERAND_OVERLAP (info dst_addr) for the first read operand, in the engine's order, whose
    bounding interval meets the write's and that is not exactly in place (docs/isa.md)."""
    if acc.write is None:
        return None
    for name, span in zip(names, acc.reads):
        if span.meets(acc.write):
            # in place needs rows that share no line: one row, or pitch >= lines per row
            if (name in ("a", "b") and in_place(f, name)
                    and (span.rows == 1 or span.pitch >= span.per_row)):
                continue
            return Fault(ErrorCode.OPERAND_OVERLAP, f["dst_addr"])
    return None


_VECTOR_ENUMS = (("op", VecOp), ("sat", SatMode), ("b_mode", isa.BMode),
                 ("a_type", isa.ElemType), ("dst_type", isa.ElemType))


def check(cfg: HwConfig, mnemonic: str, f: dict,
          dram_window: tuple[int, int] | None = None) -> Fault | None:
    """The first failing check of the instruction in its engine's order, or None.

    DMA addresses must lie in the DRAM window (base, size): [base, base + size); a DMA check
    without a window is a caller's bug, not a 4 GiB default."""
    if mnemonic in ("DMA_LOAD", "DMA_STORE"):
        if dram_window is None:
            raise ValueError(f"checking {mnemonic} needs the DRAM window (base, size)")
        dram_base, dram_size = dram_window
    if mnemonic == "DMA_LOAD":
        if f["rows"] == 0 or f["row_bytes"] == 0:
            return Fault(ErrorCode.BAD_FIELD, 0)
        if f["pad_rows"] < f["rows"]:
            return Fault(ErrorCode.BAD_FIELD, f["pad_rows"])
        if f["pad_bytes"] < f["row_bytes"]:
            return Fault(ErrorCode.BAD_FIELD, f["pad_bytes"])
        acc = access(cfg, mnemonic, f)
        return (_spad_fault(cfg, (acc.write,))
                or _dram_fault(acc.dram_read, dram_base, dram_size))  # type: ignore[arg-type]
    if mnemonic == "DMA_STORE":
        if f["rows"] == 0 or f["row_bytes"] == 0:
            return Fault(ErrorCode.BAD_FIELD, 0)
        acc = access(cfg, mnemonic, f)
        return (_spad_fault(cfg, acc.reads)
                or _dram_fault(acc.dram_write, dram_base, dram_size))  # type: ignore[arg-type]
    if mnemonic == "MATMUL":
        if f["rows"] == 0 or f["k_tiles"] == 0 or f["n_tiles"] == 0:
            return Fault(ErrorCode.BAD_FIELD, 0)
        acc_end = f["acc_addr"] + f["n_tiles"] * f["rows"]
        if acc_end > cfg.acc_lines:
            return Fault(ErrorCode.ACC_RANGE, acc_end)
        acc = access(cfg, mnemonic, f)
        return (_spad_fault(cfg, acc.reads + ((acc.write,) if acc.write else ()))
                or _overlap_fault(f, acc, ("A", "B")))
    if mnemonic == "VECTOR":
        if f["rows"] == 0:
            return Fault(ErrorCode.BAD_FIELD, f["rows"])
        if f["row_len"] == 0:
            return Fault(ErrorCode.BAD_FIELD, f["row_len"])
        for name, enum in _VECTOR_ENUMS:
            if f[name] > max(enum):
                return Fault(ErrorCode.BAD_FIELD, f[name])
        acc = access(cfg, mnemonic, f)
        return _spad_fault(cfg, acc.reads + (acc.write,)) or _overlap_fault(f, acc, ("a", "b"))
    return None


# ---- work ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Work:
    macs: int = 0                # int8 multiply-accumulates of the matrix unit
    vectors: int = 0             # vectors through the vector ALU array
    dram_read_bytes: int = 0
    dram_write_bytes: int = 0


def work(cfg: HwConfig, mnemonic: str, f: dict) -> Work:
    if mnemonic == "MATMUL":
        return Work(macs=f["rows"] * f["k_tiles"] * f["n_tiles"] * cfg.array_dim ** 2)
    if mnemonic == "VECTOR":
        return Work(vectors=f["rows"] * vectors_per_row(f["row_len"], cfg.vector_lanes))
    if mnemonic == "DMA_LOAD":
        return Work(dram_read_bytes=f["rows"] * f["row_bytes"])
    if mnemonic == "DMA_STORE":
        return Work(dram_write_bytes=f["rows"] * f["row_bytes"])
    return Work()
