"""Instruction templates of attention: one method per step of the integer contract.

`AttentionEmitter` turns dataflow items (scheduler/plan.py) into instructions in a sequential
order, through `SyncEmitter` (which adds the semaphores). Each method is one numerics step of
docs/numerics.md on the NPU's buffers: load Q, K or V; S = Q·Kᵀ; the softmax chain (steps
2-8); A += P·V; O = A·r (step 9) and its store. Strategies (scheduler/strategies/) only choose
the order. With overwrite control every on-chip buffer is locked by its producer and released
by its last reader: a refill that came too early waits (or, in strict mode, stops the NPU).
"""

from __future__ import annotations

from hwdef import HwConfig, isa
from hwdef.params import RECIP_FRAC_BITS, SOFTMAX_EXP2_SHIFT, SatMode, VecOp
from hwdef.quant import causal_offset
from scheduler.layout import Buffers, Tensor
from scheduler.plan import Block, BufferUse, Item, Plan
from scheduler.sync import Insn, SyncEmitter
from scheduler.tiling import Geometry
from scheduler.workload import Workload

I32, I8, U8 = isa.ElemType.INT32, isa.ElemType.INT8, isa.ElemType.UINT8
_DIAG = next(f for f in isa.BY_MNEMONIC["VECTOR"].fields if f.name == "diag")


class AttentionEmitter:
    def __init__(self, wl: Workload, cfg: HwConfig, geo: Geometry, buf: Buffers,
                 tensors: dict[str, Tensor], plan: Plan, overwrite_control: bool,
                 sync: SyncEmitter):
        self.wl, self.cfg, self.geo, self.buf = wl, cfg, geo, buf
        self.tensors, self.plan, self.ow, self.sync = tensors, plan, overwrite_control, sync

    # ---- where an item's data is ------------------------------------------------------------
    def s_addr(self, item: Item) -> int:
        if self.geo.full_rows:      # the item's columns of the block's whole rows
            return self.buf.scores[0] + item.k0 // self.geo.lanes
        return self.buf.scores[self.plan.scores[item.index].slot]

    def p_addr(self, item: Item) -> int:
        if self.geo.full_rows:
            return self.buf.weights[0] + item.k0 // self.geo.line_bytes
        return self.buf.weights[item.exp_index % 2]

    def causal_fields(self, item: Item) -> dict:
        """The VECTOR causal mask of an item: row i of the block keeps keys < diag + i."""
        if not self.wl.causal:
            return {}
        diag = item.block.q0 + 1 + causal_offset(self.wl.seq_q, self.wl.seq_kv) - item.k0
        return {"causal": 1, "diag": max(_DIAG.min, min(diag, _DIAG.max))}

    def emit(self, mnemonic: str, *, note: str, **fields: int) -> Insn:
        return self.sync.emit(mnemonic, note=note, **fields)

    # ---- loads ------------------------------------------------------------------------------
    def _load_rows(self, note: str, dram_addr: int, rows: int, pad_rows: int, spad_addr: int,
                   lock: int = 0) -> Insn:
        """DMA rows of d int8 into rows of `row_lines` lines; contiguous rows merge into one
        long row (one burst stream instead of one burst per row)."""
        g = self.geo
        if g.d == g.row_lines * g.line_bytes:
            return self.emit("DMA_LOAD", note=note, dram_addr=dram_addr, dram_stride=rows * g.d,
                             rows=1, row_bytes=rows * g.d, spad_addr=spad_addr, spad_pitch=1,
                             pad_rows=1, pad_bytes=pad_rows * g.d, lock_readers=lock)
        return self.emit("DMA_LOAD", note=note, dram_addr=dram_addr, dram_stride=g.d, rows=rows,
                         row_bytes=g.d, spad_addr=spad_addr, spad_pitch=g.row_lines,
                         pad_rows=pad_rows, pad_bytes=g.d_pad, lock_readers=lock)

    def load_q(self, block: Block) -> None:
        self._load_rows(f"Q {block.tag()}", self.tensors["q"].row_addr(block.head, block.q0),
                        block.rows, block.rows, self.buf.queries[block.index % 2],
                        lock=int(self.ow))

    def _load_keys(self, tensor: str, item: Item, use: BufferUse) -> None:
        """K or V rows of the item's chunk, zero-padded to whole array tiles, unless the
        chunk is still on chip. The load is locked for one reader: the last read of the load
        (all reads are matrix instructions, in order) releases it."""
        if not use.load:
            return
        b = item.block
        slots = self.buf.keys if tensor == "k" else self.buf.values
        self._load_rows(f"{tensor.upper()} h{b.head} keys {item.k0}+{item.keys}",
                        self.tensors[tensor].row_addr(b.head, item.k0), item.keys,
                        self.geo.padded_keys(item.keys), slots[use.slot], lock=int(self.ow))

    def load_k(self, item: Item) -> None:
        if item.index in self.plan.keys:      # not for items whose scores are still on chip
            self._load_keys("k", item, self.plan.keys[item.index])

    def load_v(self, item: Item) -> None:
        self._load_keys("v", item, self.plan.values[item.index])

    # ---- matrix steps -----------------------------------------------------------------------
    def qk(self, item: Item) -> None:
        """Step 1: S = Q·Kᵀ of the item's chunk, unless its scores are still on chip."""
        if not self.plan.scores[item.index].compute:
            return
        b, g = item.block, self.geo
        last_use_of_q = item.index == self.plan.last_qk_of_block[b.index]
        k_use = self.plan.keys[item.index]
        self.emit(
            "MATMUL", note=f"S = Q·Kᵀ {item.tag()} ({item.kind})",
            a_addr=self.buf.queries[b.index % 2], a_pitch=g.row_lines, rows=b.rows,
            b_addr=self.buf.keys[k_use.slot], b_pitch=g.row_lines,
            k_tiles=g.d_pad // g.dim, n_tiles=g.padded_keys(item.keys) // g.dim,
            transpose=1, a_signed=1, acc_addr=0, emit=1, dst_addr=self.s_addr(item),
            dst_pitch=g.s_pitch, release_a=int(self.ow and last_use_of_q),
            release_b=int(self.ow and k_use.last),
            lock_readers=int(self.ow and (item.kind == "max" or self.buf.shifted is not None)))

    def pv(self, item: Item) -> None:
        """Step 7: A += P·V over the block's chunks; the last one emits A."""
        b, g = item.block, self.geo
        v_use = self.plan.values[item.index]
        self.emit(
            "MATMUL", note=f"A += P·V {item.tag()}",
            a_addr=self.p_addr(item), a_pitch=g.p_pitch, rows=b.rows,
            b_addr=self.buf.values[v_use.slot], b_pitch=g.row_lines,
            k_tiles=g.padded_keys(item.keys) // g.dim, n_tiles=g.d_pad // g.dim, transpose=0,
            a_signed=0, acc_addr=g.acc_pv, accumulate=int(not item.first),
            emit=int(item.last), dst_addr=self.buf.pv, dst_pitch=g.a_pitch,
            release_a=int(self.ow), release_b=int(self.ow and v_use.last),
            lock_readers=int(self.ow and item.last))

    # ---- vector steps -----------------------------------------------------------------------
    def _vec(self, note, op, rows, row_len, a, a_pitch, dst, dst_pitch, a_type=I32,
             dst_type=I32, sat=SatMode.NONE, b_mode=isa.BMode.SCALAR, b=0, b_pitch=0,
             scalar=0, shift=0, release_a=False, lock=0, mask=None) -> Insn:
        return self.emit(
            "VECTOR", note=note, op=op, sat=sat, b_mode=b_mode, shift=shift,
            scalar=scalar & 0xFFFFFFFF, a_addr=a, a_pitch=a_pitch, a_type=a_type, b_addr=b,
            b_pitch=b_pitch, dst_addr=dst, dst_pitch=dst_pitch, dst_type=dst_type, rows=rows,
            row_len=row_len, release_a=int(release_a and self.ow),
            lock_readers=lock if self.ow else 0, **(mask or {}))

    def softmax(self, item: Item) -> None:
        """Vector steps of one item (docs/numerics.md steps 2-8)."""
        b, g, buf = item.block, self.geo, self.buf
        rows, keys, mask = b.rows, item.keys, self.causal_fields(item)
        s = self.s_addr(item)
        # In place, S must not be locked while SUB and MULSHR rewrite it (a locked region
        # would hold their own writes): only the last writer (MULSHR) locks it for EXP2.
        x = buf.shifted if buf.shifted is not None else s
        in_place = x == s
        tag = item.tag()
        # Scores a max item keeps for the exp pass stay locked with a separate x (the exp
        # item's SUB releases them); in place, SUB rewrites them, so the row max unlocks them.
        release_s = item.kind == "max" and (in_place or not self.plan.scores[item.index].kept)
        if item.kind in ("single", "max"):
            self._vec(f"m = rowmax S {tag}", VecOp.RMAX, rows, keys, s, g.s_pitch,
                      buf.row_max if item.first else buf.chunk_max, 1, release_a=release_s,
                      mask=mask)
            if not item.first:
                self._vec(f"m = max(m, m') {tag}", VecOp.MAX, rows, g.lanes, buf.row_max, 1,
                          buf.row_max, 1, b_mode=isa.BMode.VECTOR, b=buf.chunk_max, b_pitch=1)
        if item.kind == "max":
            return
        p = self.p_addr(item)
        score = self.wl.score
        self._vec(f"x = S - m {tag}", VecOp.SUB, rows, keys, s, g.s_pitch, x, g.s_pitch,
                  b_mode=isa.BMode.ROW, b=buf.row_max, b_pitch=1, release_a=not in_place,
                  lock=0 if in_place else 1, mask=mask)
        self._vec(f"t = x·M >> SH {tag}", VecOp.MULSHR, rows, keys, x, g.s_pitch, s,
                  g.s_pitch, scalar=score.multiplier, shift=score.shift,
                  release_a=not in_place, lock=1, mask=mask)
        self._vec(f"P = exp2(t) {tag}", VecOp.EXP2, rows, keys, s, g.s_pitch, p,
                  g.p_pitch, dst_type=U8, sat=SatMode.UINT8, shift=SOFTMAX_EXP2_SHIFT,
                  release_a=True, lock=2, mask=mask)
        self._vec(f"l = rowsum P {tag}", VecOp.RSUM, rows, keys, p, g.p_pitch,
                  buf.row_sum if item.first else buf.chunk_sum, 1, a_type=U8, release_a=True,
                  mask=mask)
        if not item.first:
            self._vec(f"l = l + l' {tag}", VecOp.ADD, rows, g.lanes, buf.row_sum, 1, buf.row_sum, 1,
                      b_mode=isa.BMode.VECTOR, b=buf.chunk_sum, b_pitch=1)
        if item.last:
            r = buf.recip[b.index % 2]
            self._vec(f"r = 1/l {b.tag()}", VecOp.RECIP, rows, g.lanes, buf.row_sum, 1, r, 1)
            out = self.wl.output
            if not out.is_identity:
                self._vec(f"r = r·R >> RS {b.tag()}", VecOp.MULSHR, rows, g.lanes, r, 1, r, 1,
                          scalar=out.multiplier, shift=out.shift)

    def softmax_rows(self, block: Block, keys: int) -> None:
        """Full rows: the whole chain of steps 2-8 once over the block's stored score rows
        (all *keys* it sees), exactly as a block whose keys fit one chunk."""
        self.softmax(Item(block, "single", 0, keys, True, True, -1, -1))

    def finish(self, block: Block) -> None:
        """O = sat8(A·r >> 30) (step 9), then O to DRAM."""
        g, buf = self.geo, self.buf
        o = buf.outputs[block.index % 2]
        self._vec(f"O = A·r >> 30 {block.tag()}", VecOp.MULSHR, block.rows, g.d, buf.pv,
                  g.a_pitch, o, g.row_lines, dst_type=I8, sat=SatMode.INT8,
                  b_mode=isa.BMode.ROW, b=buf.recip[block.index % 2], b_pitch=1,
                  shift=RECIP_FRAC_BITS, release_a=True, lock=1)
        self.emit("DMA_STORE", note=f"O {block.tag()}",
                  dram_addr=self.tensors["o"].row_addr(block.head, block.q0),
                  dram_stride=g.d, rows=block.rows, row_bytes=g.d, spad_addr=o,
                  spad_pitch=g.row_lines, release_src=int(self.ow))

    # ---- intermediates through DRAM (unfused strategies) ------------------------------------
    def _intermediate_rows(self, tensor: str, item: Item, col_bytes: int) -> int:
        """DRAM address of the item's first row and first key in S or P."""
        t, b = self.tensors[tensor], item.block
        return t.row_addr(b.head, b.q0) + item.k0 * col_bytes

    def store_s(self, item: Item) -> None:
        b, t = item.block, self.tensors["s"]
        self.emit("DMA_STORE", note=f"S {b.tag()} keys {item.k0}",
                  dram_addr=self._intermediate_rows("s", item, 4), dram_stride=t.row_stride,
                  rows=b.rows, row_bytes=self.geo.padded_keys(item.keys) * 4,
                  spad_addr=self.s_addr(item), spad_pitch=self.geo.s_pitch)

    def load_s(self, item: Item) -> None:
        b, t = item.block, self.tensors["s"]
        nbytes = self.geo.padded_keys(item.keys) * 4
        self.emit("DMA_LOAD", note=f"S {b.tag()} keys {item.k0}",
                  dram_addr=self._intermediate_rows("s", item, 4), dram_stride=t.row_stride,
                  rows=b.rows, row_bytes=nbytes, spad_addr=self.s_addr(item),
                  spad_pitch=self.geo.s_pitch, pad_rows=b.rows, pad_bytes=nbytes)

    def store_p(self, item: Item) -> None:
        b, t = item.block, self.tensors["p"]
        self.emit("DMA_STORE", note=f"P {b.tag()} keys {item.k0}",
                  dram_addr=self._intermediate_rows("p", item, 1), dram_stride=t.row_stride,
                  rows=b.rows, row_bytes=self.geo.padded_keys(item.keys),
                  spad_addr=self.p_addr(item), spad_pitch=self.geo.p_pitch)

    def load_p(self, item: Item) -> None:
        b, t = item.block, self.tensors["p"]
        nbytes = self.geo.padded_keys(item.keys)
        self.emit("DMA_LOAD", note=f"P {b.tag()} keys {item.k0}",
                  dram_addr=self._intermediate_rows("p", item, 1), dram_stride=t.row_stride,
                  rows=b.rows, row_bytes=nbytes, spad_addr=self.p_addr(item),
                  spad_pitch=self.geo.p_pitch, pad_rows=b.rows, pad_bytes=nbytes)

    def _r_rows(self, mnemonic: str, block: Block) -> None:
        t = self.tensors["r"]
        fields = dict(dram_addr=t.row_addr(block.head, block.q0), dram_stride=t.row_stride,
                      rows=block.rows, row_bytes=self.geo.line_bytes,
                      spad_addr=self.buf.recip[block.index % 2], spad_pitch=1)
        self.emit(mnemonic, note=f"r {block.tag()}", **fields)

    def store_r(self, block: Block) -> None:
        self._r_rows("DMA_STORE", block)

    def load_r(self, block: Block) -> None:
        self._r_rows("DMA_LOAD", block)
