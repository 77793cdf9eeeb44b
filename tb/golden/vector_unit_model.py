"""Stream-level golden model of the vector ALU array (rtl/vector/npu_vector_unit.sv).

Takes the sequence of vectors the unit accepts (op, flags, operands, mask, row_last, tag) and
returns the sequence of result vectors it must emit, in order: one per element-wise vector and
one per closed reduction row. All arithmetic comes from `npu_model.numerics`; this module only
adds what the stream interface defines (operand b selection, masking, narrowing, flag
collection, row bookkeeping for RMAX/RSUM with one running row per op).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwdef.params import SatMode, VecFlag, VecOp
from npu_model import numerics as nm


@dataclass
class VecIn:
    """One input vector of the unit (what is presented with in_valid_i)."""

    op: VecOp
    a: np.ndarray  # int64 array of int32 values, one per lane
    b: np.ndarray | None = None  # None: b is `scalar` broadcast (in_b_scalar_i = 1)
    scalar: int = 0
    shift: int = 0
    sat: SatMode = SatMode.NONE
    mask: np.ndarray | None = None  # bool per lane; None: all lanes enabled
    row_last: bool = False
    tag: int = 0

    @property
    def b_scalar(self) -> bool:
        return self.b is None

    def operand_b(self) -> np.ndarray:
        if self.b is None:
            return np.full(len(self.a), self.scalar, dtype=np.int64)
        return np.asarray(self.b, dtype=np.int64)

    def lane_mask(self) -> np.ndarray:
        if self.mask is None:
            return np.ones(len(self.a), dtype=bool)
        return np.asarray(self.mask, dtype=bool)


@dataclass(frozen=True)
class VecOut:
    """One result vector: lane values (int32, after narrowing), flag bits, tag."""

    data: tuple[int, ...]
    flags: int
    tag: int

    def describe(self) -> str:
        names = [f.name for f in VecFlag if self.flags >> f & 1]
        return f"tag={self.tag} flags={'|'.join(names) or '-'} data={list(self.data)}"


def _flags(**bits: bool) -> int:
    return sum(1 << VecFlag[name.upper()] for name, on in bits.items() if on)


@dataclass
class _Row:
    vectors: list = field(default_factory=list)
    masks: list = field(default_factory=list)


class VectorUnitModel:
    """Feeds vectors one at a time; `push` returns the result the unit emits for it, if any."""

    def __init__(self, lanes: int):
        self.lanes = lanes
        self.rows = {VecOp.RMAX: _Row(), VecOp.RSUM: _Row()}

    def push(self, item: VecIn) -> VecOut | None:
        op = VecOp(item.op)
        a = np.asarray(item.a, dtype=np.int64)
        assert a.shape == (self.lanes,), a.shape
        mask = item.lane_mask()
        if op.is_reduction:
            return self._reduce(op, a, mask, item)

        b = item.operand_b()
        overflow = np.zeros(self.lanes, dtype=bool)
        exp2_dom = np.zeros(self.lanes, dtype=bool)
        recip_dom = np.zeros(self.lanes, dtype=bool)
        if op == VecOp.COPY:
            y = a.copy()
        elif op == VecOp.ADD:
            y = nm.vadd(a, b)
            overflow = nm.overflowed32(a + b)
        elif op == VecOp.SUB:
            y = nm.vsub(a, b)
            overflow = nm.overflowed32(a - b)
        elif op == VecOp.MAX:
            y = nm.vmax(a, b)
        elif op == VecOp.MULSHR:
            y = nm.vmulshr(a, b, item.shift)
            exact = nm.mulshr_exact(a, b, item.shift)
            overflow = np.array([v < nm.INT32_MIN or v > nm.INT32_MAX for v in exact], dtype=bool)
        elif op == VecOp.EXP2:
            y = nm.vexp2(a, item.shift)
            exp2_dom = nm.exp2_domain_error(a)
        elif op == VecOp.RECIP:
            y = nm.vrecip(a)
            recip_dom = nm.recip_domain_error(a)
        else:  # pragma: no cover - VecOp is exhaustive
            raise ValueError(op)
        narrowed = nm.narrow(y, item.sat)
        data = np.where(mask, narrowed, 0)
        flags = _flags(
            overflow=bool((overflow & mask).any()),
            exp2_domain=bool((exp2_dom & mask).any()),
            recip_domain=bool((recip_dom & mask).any()),
            narrowed=bool(((narrowed != y) & mask).any()),
        )
        return VecOut(tuple(int(v) for v in data), flags, item.tag)

    def _reduce(self, op: VecOp, a: np.ndarray, mask: np.ndarray, item: VecIn) -> VecOut | None:
        row = self.rows[op]
        row.vectors.append(a)
        row.masks.append(mask)
        if not item.row_last:
            return None
        self.rows[op] = _Row()
        overflow = False
        if op == VecOp.RMAX:
            value = nm.row_max(np.concatenate(row.vectors), np.concatenate(row.masks))
        else:
            value, overflow = nm.row_sum_vectors(row.vectors, row.masks)
        narrowed = int(nm.narrow(value, item.sat))
        flags = _flags(overflow=overflow, narrowed=narrowed != value)
        return VecOut((narrowed,) * self.lanes, flags, item.tag)


def run_stream(lanes: int, items) -> list[VecOut]:
    """Expected outputs, in order, of a unit fed *items* from reset."""
    model = VectorUnitModel(lanes)
    outs = []
    for item in items:
        out = model.push(item)
        if out is not None:
            outs.append(out)
    return outs
