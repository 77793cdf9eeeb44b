"""Attention schedules as NPU programs: layer-wise, FLAT and MAS-Attention.

The dataflow unit is an *item*: one block of query rows against one chunk of keys.

* When all keys of a block fit in one chunk, the block is one `single` item: Q·Kᵀ, the whole
  softmax chain (docs/numerics.md steps 2-8) and P·V.
* Otherwise the block is processed in two passes over its key chunks, because the integer
  contract subtracts the row maximum of *all* keys before the exponent: `max` items compute
  Q·Kᵀ and fold the chunk's row maximum into m; `exp` items run steps 3-7 on the chunk,
  accumulating l and P·V, on scores the max pass left in an S buffer or else recomputed by
  Q·Kᵀ (cheaper than keeping Br x N int32 scores on chip). The fused strategies run the exp
  pass backwards so that passes meet on chunks (K, V, scores) still on chip (_plan_scores,
  _plan_reuse).

Per item the matrix unit runs QK (and PV for exp/single items), the vector unit runs the
softmax steps; after the block's last item the vector unit scales the accumulated P·V by
1/l (step 9) and DMA-out stores O.

Strategies differ only in order and overlap:

* `layerwise` stores S to DRAM, runs softmax DRAM to DRAM (P and 1/l back to DRAM), then P·V.
* `flat` fuses per block with intermediates on chip, in program order QK, softmax, PV; the
  matrix and vector units are serialized (never busy together), DMA prefetches.
* `mas` software-pipelines the items: while the vector unit runs softmax on item c, the matrix
  unit computes QK for item c+1 and PV for item c-1. S and P are double-buffered, and every
  on-chip buffer is locked by its producer and released by its last reader (overwrite control):
  a refill that came too early would wait (or, in strict mode, stop the NPU) instead of
  corrupting data.

The program is emitted sequentially; scheduler/sync.py adds the semaphores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hwdef import HwConfig, isa
from hwdef.params import RECIP_FRAC_BITS, SatMode, VecOp
from scheduler.spad import SpadAllocator, SpadFull
from scheduler.sync import SyncEmitter
from scheduler.workload import ScheduleError, Workload

STRATEGIES = ("layerwise", "flat", "mas")
EXP2_SHIFT = 7          # P = exp2(t, shift 7) saturated to uint8 (docs/numerics.md step 5)
DRAM_ALIGN = 4096
I32, I8, U8 = isa.ElemType.INT32, isa.ElemType.INT8, isa.ElemType.UINT8


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class Tiling:
    block_rows: int     # Br: query rows per block (DRAM -> scratchpad tile of Q, S, P, O)
    chunk_keys: int     # Bc: keys per chunk (tile of K, V, S, P); a multiple of the array size
    # Steps 3-4 ping-pong S -> X -> S through a second int32 buffer in another bank (one
    # vector per cycle) instead of running in place (read and write share a bank: slower,
    # but one chunk of int32 scores less on chip).
    separate_x: bool = True

    def describe(self) -> str:
        return (f"Br={self.block_rows} Bc={self.chunk_keys}"
                f"{'' if self.separate_x else ' in-place'}")

    def to_dict(self) -> dict:
        return {"block_rows": self.block_rows, "chunk_keys": self.chunk_keys,
                "separate_x": self.separate_x}


@dataclass(frozen=True)
class Tensor:
    addr: int
    shape: tuple
    dtype: str
    row_stride: int

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] * self.row_stride

    def to_dict(self) -> dict:
        return {"addr": self.addr, "shape": list(self.shape), "dtype": self.dtype,
                "row_stride": self.row_stride, "bytes": self.nbytes}


@dataclass(frozen=True)
class Block:
    head: int
    index: int          # global block number (slot selection)
    q0: int
    rows: int


@dataclass(frozen=True)
class Item:
    block: Block
    kind: str           # "single", "max" or "exp"
    k0: int
    keys: int           # valid keys of the chunk
    first: bool         # first item of its pass in the block
    last: bool          # last item of its pass in the block
    index: int          # global item number
    exp_index: int      # global number among items that produce P (-1 for max items)

    @property
    def makes_p(self) -> bool:
        return self.kind != "max"


@dataclass
class Layout:
    """Where everything lives: DRAM tensors and scratchpad buffers."""
    tensors: dict = field(default_factory=dict)
    spad: dict = field(default_factory=dict)


class AttentionProgram:
    """Builds the program of one strategy and tiling; raises ScheduleError if it cannot fit."""

    def __init__(self, wl: Workload, cfg: HwConfig, tiling: Tiling, strategy: str,
                 dram_base: int = 0, dram_limit: int | None = None):
        if strategy not in STRATEGIES:
            raise ScheduleError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
        self.wl, self.cfg, self.tiling, self.strategy = wl, cfg, tiling, strategy
        dim, lb, lanes = cfg.array_dim, cfg.line_bytes, cfg.vector_lanes
        self.dim, self.lb, self.lanes = dim, lb, lanes
        self.br, self.bc = tiling.block_rows, tiling.chunk_keys
        if self.br <= 0:
            raise ScheduleError(f"tiling {tiling.describe()}: Br must be at least 1")
        if self.bc % dim or self.bc <= 0:
            raise ScheduleError(f"tiling {tiling.describe()}: Bc must be a positive multiple "
                                f"of the array size {dim}")
        self.d = wl.head_dim
        self.d_pad = _ceil(self.d, dim) * dim
        self.nk_pad = _ceil(wl.seq_kv, dim) * dim
        self.row_lines = _ceil(self.d_pad, lb)          # Q, K, V, O rows
        self.s_pitch = self.bc // lanes                  # int32 scores
        self.p_pitch = _ceil(self.bc, lb)                # uint8 weights
        self.a_pitch = self.d_pad // lanes               # int32 P·V
        self.acc_pv = cfg.acc_lines - self.br * self.d_pad // dim
        if self.br * (self.bc + self.d_pad) // dim > cfg.acc_lines:
            raise ScheduleError(
                f"tiling {tiling.describe()}: Q·Kᵀ ({self.br} x {self.bc // dim} tiles) and "
                f"P·V ({self.br} x {self.d_pad // dim} tiles) need "
                f"{self.br * (self.bc + self.d_pad) // dim} accumulator rows, the "
                f"configuration has {cfg.acc_lines}")
        self.ow = strategy == "mas"
        self.pipelined = strategy == "mas"
        self.score, self.out_scale = wl.score, wl.output
        serialize = (isa.Queue.MATRIX, isa.Queue.VECTOR) if strategy == "flat" else ()
        self.em = SyncEmitter(cfg, serialize)
        self.layout = Layout()
        self._place_dram(dram_base)
        tensors_end = self.layout.tensors["program"].addr
        if dram_limit is not None and tensors_end > dram_limit:
            raise ScheduleError(
                f"{wl.describe()} with {strategy} needs {tensors_end} bytes of DRAM for its "
                f"tensors before the program, the DRAM has {dram_limit}; fewer heads or "
                f"shorter sequences would fit" + (" (layerwise keeps S and P in DRAM: flat or "
                                                   "mas need far less)"
                                                   if strategy == "layerwise" else ""))
        self._place_spad()
        # Layer-wise stays the unfused baseline: every chunk is loaded for every use.
        self.reuse = strategy != "layerwise"
        self.blocks, self.items = self._plan_items()
        self.s_use = self._plan_scores()
        computed = [i for i in self.items if self.s_use[i.index][1]]
        self.last_qk_of_block = {i.block.index: i.index for i in computed}
        self.k_use = self._plan_reuse([(i.index, (i.block.head, i.k0)) for i in computed])
        self.v_use = self._plan_reuse([(i.index, (i.block.head, i.k0)) for i in self.items
                                       if i.makes_p])
        if strategy == "layerwise":
            self._emit_layerwise()
        elif self.pipelined:
            self._emit_pipelined()
        else:
            self._emit_sequential()
        self.prog_base = self.layout.tensors["program"].addr
        code = (len(self.em.insns) + 1) * isa.INSN_BYTES
        self.layout.tensors["program"] = Tensor(self.prog_base, (1, 1, code), "insn", code)
        self.dram_bytes = self.prog_base + _ceil(code, DRAM_ALIGN) * DRAM_ALIGN

    # ---- layout ---------------------------------------------------------------------------
    def _place_dram(self, base: int) -> None:
        wl, t = self.wl, self.layout.tensors
        heads = wl.heads_total
        cursor = base

        def put(name, rows, cols, stride, dtype):
            nonlocal cursor
            t[name] = Tensor(cursor, (heads, rows, cols), dtype, stride)
            cursor += _ceil(t[name].nbytes, DRAM_ALIGN) * DRAM_ALIGN

        put("q", wl.seq_q, self.d, self.d, "int8")
        put("k", wl.seq_kv, self.d, self.d, "int8")
        put("v", wl.seq_kv, self.d, self.d, "int8")
        put("o", wl.seq_q, self.d, self.d, "int8")
        if self.strategy == "layerwise":
            put("s", wl.seq_q, self.nk_pad, self.nk_pad * 4, "int32")
            put("p", wl.seq_q, self.nk_pad, self.nk_pad, "uint8")
            put("r", wl.seq_q, self.lanes, self.lb, "int32")   # 1/l in every lane
        t["program"] = Tensor(cursor, (1, 1, 1), "insn", 0)

    def _place_spad(self) -> None:
        br, bc = self.br, self.bc
        two_s = 2 if self.pipelined else 1
        sizes = [  # name, lines, partners (streamed together)
            ("s0", br * self.s_pitch, ("x", "q0", "q1", "k0", "k1")),
            ("s1", br * self.s_pitch, ("x", "q0", "q1", "k0", "k1")) if two_s == 2 else None,
            ("x", br * self.s_pitch, ("s0", "s1", "rows")) if self.tiling.separate_x else None,
            ("a", br * self.a_pitch, ("rows", "o0", "o1", "p0", "p1", "v0", "v1")),
            ("k0", bc * self.row_lines, ("q0", "q1", "s0", "s1")),
            ("k1", bc * self.row_lines, ("q0", "q1", "s0", "s1")),
            ("v0", bc * self.row_lines, ("p0", "p1", "a")),
            ("v1", bc * self.row_lines, ("p0", "p1", "a")),
            ("p0", br * self.p_pitch, ("v0", "v1", "s0", "s1", "a")),
            ("p1", br * self.p_pitch, ("v0", "v1", "s0", "s1", "a")) if two_s == 2 else None,
            ("q0", br * self.row_lines, ("k0", "k1", "s0", "s1")),
            ("q1", br * self.row_lines, ("k0", "k1", "s0", "s1")),
            ("o0", br * self.row_lines, ("a", "rows")),
            ("o1", br * self.row_lines, ("a", "rows")),
            ("rows", 6 * br, ("x", "s0", "s1", "a")),   # m, l, m', l', r0, r1: one line per row
        ]
        alloc = SpadAllocator(self.cfg)
        need = sum(_ceil(s[1], self.cfg.spad_region_lines) for s in sizes if s)
        try:
            for name, lines, partners in sorted((s for s in sizes if s), key=lambda s: -s[1]):
                alloc.alloc(name, lines, partners)
        except SpadFull as full:
            raise ScheduleError(
                f"tiling {self.tiling.describe()} needs {need} scratchpad regions of "
                f"{self.cfg.spad_region_lines} lines, the configuration has "
                f"{self.cfg.spad_regions} (buffer {full} did not fit)") from None
        self.buf = {name: b.addr for name, b in alloc.buffers.items()}
        if "s1" not in self.buf:
            self.buf["s1"], self.buf["p1"] = self.buf["s0"], self.buf["p0"]
        self.buf.setdefault("x", None)
        rows = self.buf["rows"]
        self.m, self.l, self.mt, self.lt = rows, rows + br, rows + 2 * br, rows + 3 * br
        self.r = (rows + 4 * br, rows + 5 * br)
        self.layout.spad = {name: {"addr": b.addr, "lines": b.lines}
                            for name, b in alloc.buffers.items()}

    # ---- items ----------------------------------------------------------------------------
    def chunks(self, q0: int, rows: int) -> list[tuple[int, int]]:
        wl, out = self.wl, []
        for k0 in range(0, wl.seq_kv, self.bc):
            if wl.causal and k0 > q0 + rows - 1 + wl.seq_kv - wl.seq_q:
                break   # every row of the block is before this chunk's first key
            out.append((k0, min(self.bc, wl.seq_kv - k0)))
        # A block whose rows see no key at all still produces its (zero) output rows.
        return out or [(0, min(self.bc, wl.seq_kv))]

    def _plan_items(self):
        wl, blocks, items = self.wl, [], []
        n_exp = 0
        for head in range(wl.heads_total):
            for q0 in range(0, wl.seq_q, self.br):
                block = Block(head, len(blocks), q0, min(self.br, wl.seq_q - q0))
                blocks.append(block)
                chunks = self.chunks(q0, block.rows)
                passes = ["single"] if len(chunks) == 1 else ["max", "exp"]
                for kind in passes:
                    # Fused strategies run the exp pass backwards: it starts on the chunks
                    # the max pass ended with, still on chip, and ends on the chunks the next
                    # block's max pass starts with (see _plan_reuse).
                    order = chunks[::-1] if kind == "exp" and self.reuse else chunks
                    for j, (k0, keys) in enumerate(order):
                        makes_p = kind != "max"
                        items.append(Item(block, kind, k0, keys, j == 0, j == len(order) - 1,
                                          len(items), n_exp if makes_p else -1))
                        n_exp += makes_p
        return blocks, items

    def _plan_scores(self) -> dict:
        """Which S buffer each item's scores are in, and whether Q·Kᵀ must compute them:
        {item index: (slot, compute, kept)}.

        A `max` item's scores are only read (row max), so they stay valid in their buffer
        until it is refilled. Fused strategies start a block's exp pass on the chunks its max
        pass ended with: while those scores are still in an S buffer (one for flat, two for
        mas), the exp item uses them instead of recomputing Q·Kᵀ. *kept* marks max items whose
        scores an exp item will use. Buffers are refilled least recently used first."""
        slots = 2 if self.pipelined else 1
        plan, held, used = {}, [None] * slots, [-1] * slots
        for item in self.items:
            chunk = (item.block.index, item.k0)
            if self.reuse and item.kind == "exp" and chunk in held:
                slot, compute = held.index(chunk), False
                plan[used[slot]][2] = True
            else:
                slot, compute = min(range(slots), key=lambda b: used[b]), True
            held[slot] = chunk if item.kind == "max" else None
            used[slot] = item.index
            plan[item.index] = [slot, compute, False]
        return {index: tuple(entry) for index, entry in plan.items()}

    def _plan_reuse(self, uses: list) -> dict:
        """Which of the two K (or V) buffers each use reads, whether it must be loaded first,
        and whether the use is the last read of that load: {item index: (slot, load, last)}.

        *uses* are (item index, chunk) in the order the matrix unit reads them; buffers are
        refilled least recently used first. Fused strategies do not fetch a chunk that is still
        in a buffer: consecutive passes over the same keys share their turning chunks, and a
        block with a single chunk reuses K and V from the block before. Layer-wise loads every
        use."""
        plan, held, used = {}, [None, None], [-1, -1]
        last_use = [None, None]     # item index of the latest read of each buffer's load
        for n, (index, chunk) in enumerate(uses):
            if self.reuse and chunk in held:
                slot, load = held.index(chunk), False
            else:
                slot, load = min((0, 1), key=lambda b: used[b]), True
                if last_use[slot] is not None:
                    plan[last_use[slot]][2] = True
                held[slot] = chunk
            used[slot], last_use[slot] = n, index
            plan[index] = [slot, load, False]
        for index in last_use:
            if index is not None:
                plan[index][2] = True
        return {index: tuple(entry) for index, entry in plan.items()}

    def _causal(self, item: Item) -> dict:
        if not self.wl.causal:
            return {}
        diag = item.block.q0 + 1 + self.wl.seq_kv - self.wl.seq_q - item.k0
        return {"causal": 1, "diag": max(-(1 << 13), min(diag, (1 << 13) - 1))}

    def _s(self, item: Item) -> int:
        return self.buf[f"s{self.s_use[item.index][0]}"]

    def _p(self, item: Item) -> int:
        return self.buf[f"p{item.exp_index % 2}"]

    # ---- instruction helpers --------------------------------------------------------------
    def _load_rows(self, note, dram_addr, rows, pad_rows, spad_addr, lock=0):
        """DMA rows of d int8 into rows of `row_lines` lines; contiguous rows merge into one
        long row (one burst stream instead of one burst per row)."""
        d, lb = self.d, self.lb
        if d == self.row_lines * lb:
            return self.em.emit("DMA_LOAD", note, dram_addr=dram_addr, dram_stride=rows * d,
                                rows=1, row_bytes=rows * d, spad_addr=spad_addr, spad_pitch=1,
                                pad_rows=1, pad_bytes=pad_rows * d, lock_readers=lock)
        return self.em.emit("DMA_LOAD", note, dram_addr=dram_addr, dram_stride=d, rows=rows,
                            row_bytes=d, spad_addr=spad_addr, spad_pitch=self.row_lines,
                            pad_rows=pad_rows, pad_bytes=self.d_pad, lock_readers=lock)

    def _head_row(self, name: str, head: int, row: int) -> int:
        t = self.layout.tensors[name]
        return t.addr + (head * t.shape[1] + row) * t.row_stride

    def load_q(self, block: Block) -> None:
        self._load_rows(f"Q h{block.head} rows {block.q0}+{block.rows}",
                        self._head_row("q", block.head, block.q0), block.rows, block.rows,
                        self.buf[f"q{block.index % 2}"], lock=int(self.ow))

    def _load_keys(self, tensor: str, item: Item, use: tuple) -> None:
        """K or V rows of the item's chunk, zero-padded to whole array tiles, unless the
        chunk is still on chip. The load is locked for one reader: the last read of the load
        (all reads are matrix instructions, in order) releases it."""
        slot, load, _ = use
        if not load:
            return
        b = item.block
        self._load_rows(f"{tensor.upper()} h{b.head} keys {item.k0}+{item.keys}",
                        self._head_row(tensor, b.head, item.k0), item.keys,
                        _ceil(item.keys, self.dim) * self.dim,
                        self.buf[f"{tensor}{slot}"], lock=int(self.ow))

    def load_k(self, item: Item) -> None:
        if item.index in self.k_use:      # not for items whose scores are still on chip
            self._load_keys("k", item, self.k_use[item.index])

    def load_v(self, item: Item) -> None:
        self._load_keys("v", item, self.v_use[item.index])

    def qk(self, item: Item) -> None:
        if not self.s_use[item.index][1]:
            return      # the max pass left this chunk's scores in their S buffer
        b = item.block
        last_use_of_q = item.index == self.last_qk_of_block[b.index]
        k_slot, _, last_use_of_k = self.k_use[item.index]
        self.em.emit(
            "MATMUL", f"S = Q·Kᵀ h{b.head} rows {b.q0}+{b.rows} keys {item.k0}+{item.keys} "
            f"({item.kind})",
            a_addr=self.buf[f"q{b.index % 2}"], a_pitch=self.row_lines, rows=b.rows,
            b_addr=self.buf[f"k{k_slot}"], b_pitch=self.row_lines,
            k_tiles=self.d_pad // self.dim, n_tiles=_ceil(item.keys, self.dim),
            transpose=1, a_signed=1, acc_addr=0, emit=1, dst_addr=self._s(item),
            dst_pitch=self.s_pitch, release_a=int(self.ow and last_use_of_q),
            release_b=int(self.ow and last_use_of_k),
            lock_readers=int(self.ow and (item.kind == "max" or self.tiling.separate_x)))

    def _vec(self, note, op, rows, row_len, a, a_pitch, dst, dst_pitch, a_type=I32,
             dst_type=I32, sat=SatMode.NONE, b_mode=isa.BMode.SCALAR, b=0, b_pitch=0,
             scalar=0, shift=0, release_a=False, lock=0, mask=None):
        return self.em.emit(
            "VECTOR", note, op=op, sat=sat, b_mode=b_mode, shift=shift,
            scalar=scalar & 0xFFFFFFFF, a_addr=a, a_pitch=a_pitch, a_type=a_type, b_addr=b,
            b_pitch=b_pitch, dst_addr=dst, dst_pitch=dst_pitch, dst_type=dst_type, rows=rows,
            row_len=row_len, release_a=int(release_a and self.ow),
            lock_readers=lock if self.ow else 0, **(mask or {}))

    def softmax(self, item: Item) -> None:
        """Vector steps of one item (docs/numerics.md steps 2-8)."""
        b, lanes = item.block, self.lanes
        rows, keys, mask = b.rows, item.keys, self._causal(item)
        s = self._s(item)
        # In place, S must not be locked while SUB and MULSHR rewrite it (a locked region
        # would hold their own writes): only the last writer (MULSHR) locks it for EXP2.
        x = self.buf["x"] if self.buf["x"] is not None else s
        in_place = x == s
        tag = f"h{b.head} rows {b.q0}+{rows} keys {item.k0}+{keys}"
        # Scores a max item keeps for the exp pass stay locked with a separate x (the exp
        # item's SUB releases them); in place, SUB rewrites them, so the row max unlocks them.
        release_s = item.kind == "max" and (in_place or not self.s_use[item.index][2])
        if item.kind in ("single", "max"):
            self._vec(f"m = rowmax S {tag}", VecOp.RMAX, rows, keys, s, self.s_pitch,
                      self.m if item.first else self.mt, 1, release_a=release_s,
                      mask=mask)
            if not item.first:
                self._vec(f"m = max(m, m') {tag}", VecOp.MAX, rows, lanes, self.m, 1, self.m,
                          1, b_mode=isa.BMode.VECTOR, b=self.mt, b_pitch=1)
        if item.kind == "max":
            return
        p = self._p(item)
        self._vec(f"x = S - m {tag}", VecOp.SUB, rows, keys, s, self.s_pitch, x, self.s_pitch,
                  b_mode=isa.BMode.ROW, b=self.m, b_pitch=1, release_a=not in_place,
                  lock=0 if in_place else 1, mask=mask)
        self._vec(f"t = x·M >> SH {tag}", VecOp.MULSHR, rows, keys, x, self.s_pitch, s,
                  self.s_pitch, scalar=self.score.multiplier, shift=self.score.shift,
                  release_a=not in_place, lock=1, mask=mask)
        self._vec(f"P = exp2(t) {tag}", VecOp.EXP2, rows, keys, s, self.s_pitch, p,
                  self.p_pitch, dst_type=U8, sat=SatMode.UINT8, shift=EXP2_SHIFT,
                  release_a=True, lock=2, mask=mask)
        self._vec(f"l = rowsum P {tag}", VecOp.RSUM, rows, keys, p, self.p_pitch,
                  self.l if item.first else self.lt, 1, a_type=U8, release_a=True, mask=mask)
        if not item.first:
            self._vec(f"l = l + l' {tag}", VecOp.ADD, rows, lanes, self.l, 1, self.l, 1,
                      b_mode=isa.BMode.VECTOR, b=self.lt, b_pitch=1)
        if item.last:
            r = self.r[b.index % 2]
            self._vec(f"r = 1/l h{b.head} rows {b.q0}+{rows}", VecOp.RECIP, rows, lanes,
                      self.l, 1, r, 1)
            if not self.out_scale.is_identity:
                self._vec(f"r = r·R >> RS h{b.head} rows {b.q0}+{rows}", VecOp.MULSHR, rows,
                          lanes, r, 1, r, 1, scalar=self.out_scale.multiplier,
                          shift=self.out_scale.shift)

    def pv(self, item: Item) -> None:
        b = item.block
        v_slot, _, last_use_of_v = self.v_use[item.index]
        self.em.emit(
            "MATMUL", f"A += P·V h{b.head} rows {b.q0}+{b.rows} keys {item.k0}+{item.keys}",
            a_addr=self._p(item), a_pitch=self.p_pitch, rows=b.rows,
            b_addr=self.buf[f"v{v_slot}"], b_pitch=self.row_lines,
            k_tiles=_ceil(item.keys, self.dim), n_tiles=self.d_pad // self.dim, transpose=0,
            a_signed=0, acc_addr=self.acc_pv, accumulate=int(not item.first),
            emit=int(item.last), dst_addr=self.buf["a"], dst_pitch=self.a_pitch,
            release_a=int(self.ow), release_b=int(self.ow and last_use_of_v),
            lock_readers=int(self.ow and item.last))

    def finish(self, block: Block) -> None:
        """O = sat8(A·r >> 30) (step 9), then O to DRAM."""
        o = self.buf[f"o{block.index % 2}"]
        tag = f"h{block.head} rows {block.q0}+{block.rows}"
        self._vec(f"O = A·r >> 30 {tag}", VecOp.MULSHR, block.rows, self.d, self.buf["a"],
                  self.a_pitch, o, self.row_lines, dst_type=I8, sat=SatMode.INT8,
                  b_mode=isa.BMode.ROW, b=self.r[block.index % 2], b_pitch=1,
                  shift=RECIP_FRAC_BITS, release_a=True, lock=1)
        self.em.emit("DMA_STORE", f"O {tag}", dram_addr=self._head_row("o", block.head,
                                                                        block.q0),
                     dram_stride=self.d, rows=block.rows, row_bytes=self.d, spad_addr=o,
                     spad_pitch=self.row_lines, release_src=int(self.ow))

    # ---- strategies -----------------------------------------------------------------------
    def _emit_sequential(self) -> None:
        """FLAT: per item QK, softmax, PV in order; loads one item ahead (prefetch)."""
        items = self.items
        self.load_q(items[0].block)
        self.load_k(items[0])
        for c, item in enumerate(items):
            nxt = items[c + 1] if c + 1 < len(items) else None
            if nxt is not None:
                if nxt.block != item.block:
                    self.load_q(nxt.block)
                self.load_k(nxt)
            if item.makes_p:
                self.load_v(item)
            self.qk(item)
            self.softmax(item)
            if item.makes_p:
                self.pv(item)
                if item.last:
                    self.finish(item.block)

    def _emit_pipelined(self) -> None:
        """MAS: step c runs QK(c+1) and PV(c-1) on the matrix unit while the vector unit runs
        the softmax of item c."""
        items = self.items
        self.load_q(items[0].block)
        self.load_k(items[0])
        self.qk(items[0])
        for c, item in enumerate(items + [None]):
            nxt = items[c + 1] if c + 1 < len(items) else None
            prev = items[c - 1] if c >= 1 else None
            if nxt is not None:
                if nxt.block != item.block:
                    self.load_q(nxt.block)
                self.load_k(nxt)
            if item is not None and item.makes_p:
                self.load_v(item)
            if nxt is not None:
                self.qk(nxt)
            if prev is not None and prev.makes_p:
                self.pv(prev)
            if item is not None:
                self.softmax(item)
            if prev is not None and prev.makes_p and prev.last:
                self.finish(prev.block)

    def _emit_layerwise(self) -> None:
        """Unfused: S to DRAM; softmax DRAM to DRAM (P and r back to DRAM); then P·V."""
        wl = self.wl
        s_t, p_t, r_t = (self.layout.tensors[n] for n in ("s", "p", "r"))
        # 1. S = Q·Kᵀ for every block and chunk, stored as int32 rows of nk_pad scores.
        qk_items = [i for i in self.items if i.kind != "exp"]
        last_block = None
        for item in qk_items:
            b = item.block
            if b != last_block:
                self.load_q(b)
                last_block = b
            self.load_k(item)
            self.qk(item)
            self.em.emit("DMA_STORE", f"S h{b.head} rows {b.q0}+{b.rows} keys {item.k0}",
                         dram_addr=s_t.addr + (b.head * wl.seq_q + b.q0) * s_t.row_stride
                         + item.k0 * 4, dram_stride=s_t.row_stride, rows=b.rows,
                         row_bytes=_ceil(item.keys, self.dim) * self.dim * 4,
                         spad_addr=self._s(item), spad_pitch=self.s_pitch)
        # 2. softmax, DRAM to DRAM: (max pass,) exp pass; P and r are stored.
        for item in self.items:
            b = item.block
            kp = _ceil(item.keys, self.dim) * self.dim
            s_row = s_t.addr + (b.head * wl.seq_q + b.q0) * s_t.row_stride + item.k0 * 4
            self.em.emit("DMA_LOAD", f"S h{b.head} rows {b.q0}+{b.rows} keys {item.k0}",
                         dram_addr=s_row, dram_stride=s_t.row_stride, rows=b.rows,
                         row_bytes=kp * 4, spad_addr=self._s(item), spad_pitch=self.s_pitch,
                         pad_rows=b.rows, pad_bytes=kp * 4)
            self.softmax(item)
            if item.makes_p:
                self.em.emit("DMA_STORE", f"P h{b.head} rows {b.q0}+{b.rows} keys {item.k0}",
                             dram_addr=p_t.addr + (b.head * wl.seq_q + b.q0) * p_t.row_stride
                             + item.k0, dram_stride=p_t.row_stride, rows=b.rows,
                             row_bytes=kp, spad_addr=self._p(item), spad_pitch=self.p_pitch)
                if item.last:
                    self.em.emit("DMA_STORE", f"r h{b.head} rows {b.q0}+{b.rows}",
                                 dram_addr=self._head_row("r", b.head, b.q0),
                                 dram_stride=r_t.row_stride, rows=b.rows, row_bytes=self.lb,
                                 spad_addr=self.r[b.index % 2], spad_pitch=1)
        # 3. A = P·V per block, then O = A·r.
        for item in (i for i in self.items if i.makes_p):
            b = item.block
            kp = _ceil(item.keys, self.dim) * self.dim
            if item.first:
                self.em.emit("DMA_LOAD", f"r h{b.head} rows {b.q0}+{b.rows}",
                             dram_addr=self._head_row("r", b.head, b.q0),
                             dram_stride=r_t.row_stride, rows=b.rows, row_bytes=self.lb,
                             spad_addr=self.r[b.index % 2], spad_pitch=1)
            self.em.emit("DMA_LOAD", f"P h{b.head} rows {b.q0}+{b.rows} keys {item.k0}",
                         dram_addr=p_t.addr + (b.head * wl.seq_q + b.q0) * p_t.row_stride
                         + item.k0, dram_stride=p_t.row_stride, rows=b.rows, row_bytes=kp,
                         spad_addr=self._p(item), spad_pitch=self.p_pitch, pad_rows=b.rows,
                         pad_bytes=kp)
            self.load_v(item)
            self.pv(item)
            if item.last:
                self.finish(b)

    # ---- output ---------------------------------------------------------------------------
    @property
    def words(self) -> list[int]:
        """The program: every instruction with its semaphores, then HALT."""
        if getattr(self, "_words", None) is None:
            self._words = self.em.words()
        return self._words

    def listing(self, addresses: bool = True) -> str:
        """One instruction per line with the scheduler's note as a comment; without
        addresses the text is assembler input (`firmware_gen asm`)."""
        lines = []
        for index, word in enumerate(self.words):
            text = isa.format_insn(word)
            if addresses:
                text = f"{self.prog_base + index * isa.INSN_BYTES:08x}  {text}"
            note = self.em.insns[index].note if index < len(self.em.insns) else ""
            lines.append(f"{text}    # {note}" if note else text)
        return "\n".join(lines) + "\n"
