"""Stimulus of the vector engine bench: random VECTOR instructions with disjoint operands and
operand data suited to each op. Operand extents (lines per row) come from
npu_model.semantics.access, so the generator follows the ISA's layout rule."""

from __future__ import annotations

import numpy as np

from hwdef.isa import BMode, ElemType
from hwdef.params import VecOp
from npu_model import semantics as sem
from tb.agents.engine_port import insn_fields
from tb.blocks.vector_values import rand_int32, rand_operand_a


def vector_fields(**kw) -> dict:
    """A full VECTOR field dict (every field present, defaults 0)."""
    return insn_fields("VECTOR", **kw)


def rand_words(rng, op: VecOp, n: int) -> np.ndarray:
    """int32 operand a values suited to the op (mostly in its useful range)."""
    return rand_operand_a(rng, op, n, exp2_range=24 * 1024, odd=0.1)


def words_to_lines(words: np.ndarray, lb: int) -> np.ndarray:
    return words.astype("<i4").view(np.uint8).reshape(-1, lb)


class Allocator:
    """Disjoint line ranges for the operands of one instruction."""

    def __init__(self, env, rng, align: int = 1):
        self.env, self.rng, self.align = env, rng, align
        self.used: list[tuple[int, int]] = []

    def place(self, span: int, bank: int | None = None) -> int | None:
        lo, hi = 0, self.env.lines
        if bank is not None:
            lo, hi = bank * self.env.bank_lines, (bank + 1) * self.env.bank_lines
        span_al = -(-span // self.align) * self.align
        for _ in range(60):
            start = int(self.rng.integers(lo, max(lo, hi - span_al) + 1))
            start -= start % self.align
            if start + span_al > hi:
                continue
            if all(start + span_al <= s or e <= start for s, e in self.used):
                self.used.append((start, start + span_al))
                return start
        return None


def operand_lines(cfg, f: dict) -> dict[str, int]:
    """Lines per row of a, b (0 for a scalar b) and dst (npu_model.semantics.access)."""
    acc = sem.access(cfg, "VECTOR", f)
    return {"a": acc.reads[0].per_row,
            "b": acc.reads[1].per_row if len(acc.reads) > 1 else 0,
            "dst": acc.write.per_row}


def random_insn(env, rng, op: VecOp | None = None, align: int = 1,
                max_rows: int = 6, max_vecs: int = 7) -> dict | None:
    """A random valid instruction with disjoint a / b / dst (None if it did not fit)."""
    lanes = env.lanes
    op = VecOp(int(rng.integers(0, 9))) if op is None else op
    a_type = int(rng.integers(0, 3))
    dst_type = int(rng.integers(0, 3))
    b_mode = int(rng.integers(0, 3))
    rows = int(rng.integers(1, max_rows + 1))
    row_len = int(rng.integers(1, max_vecs * lanes + 1))
    causal = bool(rng.random() < 0.35)
    diag = int(rng.integers(-2, row_len + 2)) if causal else int(rng.integers(-8192, 8192))
    if op == VecOp.MULSHR:
        shift = int(rng.integers(0, 64))
    elif op == VecOp.EXP2:
        shift = int(rng.integers(0, 12))
    else:
        shift = int(rng.integers(0, 64))
    f = vector_fields(op=int(op), sat=int(rng.integers(0, 3)), b_mode=b_mode, shift=shift,
                      scalar=int(rand_int32(rng, 1)[0]), a_type=a_type, dst_type=dst_type,
                      rows=rows, row_len=row_len, causal=int(causal), diag=diag)
    alloc = Allocator(env, rng, align)

    def pitch(lines):
        roll = rng.random()
        if roll < 0.1 and rows > 1 and lines == 1:
            return 0 if roll < 0.05 else lines
        return lines + int(rng.integers(0, 3))

    per_row = operand_lines(env.cfg, f)
    for name in ("dst", "a", "b"):
        lines = per_row[name]
        if lines == 0:
            f["b_addr"], f["b_pitch"] = int(rng.integers(0, 1 << 16)), int(rng.integers(0, 4096))
            continue
        p = pitch(lines)
        if name == "dst" and p == 0:
            p = lines                      # rows overwriting each other: order-dependent
        start = alloc.place((rows - 1) * p + lines)
        if start is None:
            return None
        f[f"{name}_addr"], f[f"{name}_pitch"] = start, p
    return f


async def preload(env, rng, f: dict) -> None:
    """Fresh random operand data (suited to the op) in a's and b's lines."""
    lanes, lb = env.lanes, env.lb
    per_row = operand_lines(env.cfg, f)
    op = VecOp(f["op"])
    streams = [("a", f["a_type"], op)]
    if f["b_mode"] == BMode.VECTOR:
        streams.append(("b", f["a_type"], VecOp.ADD))
    elif f["b_mode"] == BMode.ROW:
        streams.append(("b", ElemType.INT32, VecOp.ADD))
    for name, etype, kind in streams:
        lines = per_row[name]
        for i in range(f["rows"]):
            start = f[f"{name}_addr"] + i * f[f"{name}_pitch"]
            if etype == ElemType.INT32:
                data = words_to_lines(rand_words(rng, kind, lines * lanes), lb)
            else:
                data = rng.integers(0, 256, (lines, lb), dtype=np.uint8)
            await env.write_lines(start, data)
