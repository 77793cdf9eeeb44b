"""The dataflow plan of an attention program: blocks, items and buffer reuse.

The dataflow unit is an *item*: one block of query rows against one chunk of keys.

* When all keys of a block fit in one chunk, the block is one `single` item: Q·Kᵀ, the whole
  softmax chain (docs/numerics.md steps 2-8) and P·V.
* Otherwise the block is processed in two passes over its key chunks, because the integer
  contract subtracts the row maximum of *all* keys before the exponent: `max` items compute
  Q·Kᵀ and fold the chunk's row maximum into m; `exp` items run steps 3-7 on the chunk,
  accumulating l and P·V, on scores the max pass left in an S buffer or else recomputed by
  Q·Kᵀ (cheaper than keeping Br x N int32 scores on chip). Strategies that keep data on chip
  run the exp pass backwards so that passes meet on chunks (K, V, scores) still on chip.

`plan` also decides, per item, which of the strategy's S buffers (mas: the tiling's two or
three) holds its scores and whether Q·Kᵀ computes them (`ScoreUse`), and which K and V buffer
each use reads and whether it is loaded first (`BufferUse`).

Full-row strategies (FLAT) keep a block's scores against *all* its keys on chip, so the
softmax runs once over whole rows and there is no max pass: `plan_full_rows` gives each block
`row` items (Q·Kᵀ of one K chunk into its columns of S) and then `pv` items (P·V of one V
chunk, whose width Bv may differ from Bc).
"""

from __future__ import annotations

from dataclasses import dataclass

from hwdef.quant import causal_offset
from scheduler.workload import Workload


@dataclass(frozen=True)
class Block:
    head: int
    index: int          # global block number (slot selection)
    q0: int
    rows: int

    def tag(self) -> str:
        return f"h{self.head} rows {self.q0}+{self.rows}"


@dataclass(frozen=True)
class Item:
    block: Block
    kind: str           # "single", "max" or "exp"; full rows: "row" (Q·Kᵀ) or "pv" (P·V)
    k0: int
    keys: int           # valid keys of the chunk
    first: bool         # first item of its pass in the block
    last: bool          # last item of its pass in the block
    index: int          # global item number
    exp_index: int      # global number among items that produce P (-1 for max items)

    @property
    def makes_p(self) -> bool:
        """The item's P·V accumulates into A (full rows: its P is written by the block's
        one softmax)."""
        return self.kind in ("single", "exp", "pv")

    def tag(self) -> str:
        return f"{self.block.tag()} keys {self.k0}+{self.keys}"


@dataclass(frozen=True)
class ScoreUse:
    slot: int           # S buffer holding the item's scores
    compute: bool       # Q·Kᵀ computes them (False: a max item left them there)
    kept: bool          # a max item whose scores a later exp item uses


@dataclass(frozen=True)
class BufferUse:
    slot: int           # K or V buffer the use reads
    load: bool          # the chunk is loaded first (False: still on chip)
    last: bool          # the last read of that load (releases the buffer)


@dataclass(frozen=True)
class Plan:
    blocks: list[Block]
    items: list[Item]
    scores: dict[int, ScoreUse]          # item index -> S buffer use
    keys: dict[int, BufferUse]           # item index -> K buffer use (items that run Q·Kᵀ)
    values: dict[int, BufferUse]         # item index -> V buffer use (items that make P)
    last_qk_of_block: dict[int, int]     # block index -> item index of its last Q·Kᵀ


def chunks(wl: Workload, chunk_keys: int, q0: int, rows: int) -> list[tuple[int, int]]:
    """(first key, keys) of every chunk a block of query rows sees."""
    out = []
    for k0 in range(0, wl.seq_kv, chunk_keys):
        if wl.causal and k0 > q0 + rows - 1 + causal_offset(wl.seq_q, wl.seq_kv):
            break   # every row of the block is before this chunk's first key
        out.append((k0, min(chunk_keys, wl.seq_kv - k0)))
    # A block whose rows see no key at all still produces its (zero) output rows.
    return out or [(0, min(chunk_keys, wl.seq_kv))]


def chunk_count(wl: Workload, chunk_keys: int, q0: int, rows: int) -> int:
    """len(chunks(...)) without listing them."""
    total = -(-wl.seq_kv // chunk_keys)
    if wl.causal:
        last_key = q0 + rows - 1 + causal_offset(wl.seq_q, wl.seq_kv)
        total = min(total, last_key // chunk_keys + 1) if last_key >= 0 else 0
    return max(total, 1)


# The fewest instructions the templates of scheduler/emit.py issue, whatever the strategy
# (strategies only order them): a max item runs Q·Kᵀ and a row max; an exp item the softmax
# steps SUB, MULSHR, EXP2, RSUM and P·V; a single item both; a block loads Q, then scales O
# and stores it.
MIN_ITEM_INSNS = {"max": 2, "exp": 5, "single": 7}
MIN_BLOCK_INSNS = 3


# A full-row block: Q·Kᵀ per K chunk, P·V per V chunk, and once RMAX, SUB, MULSHR, EXP2, RSUM,
# RECIP.
MIN_FULL_ROW_INSNS = 6


def min_instructions(wl: Workload, block_rows: int, chunk_keys: int,
                     value_keys: int = 0) -> int:
    """A lower bound of the instructions (HALT included) of any strategy's program with this
    tiling (*value_keys*: a full-row strategy's Bv), counted from the plan's shape without
    building it: it tells in milliseconds that a program cannot fit where building it would
    take minutes."""
    per_head = 0
    for q0 in range(0, wl.seq_q, block_rows):
        rows = min(block_rows, wl.seq_q - q0)
        seen = chunk_count(wl, chunk_keys, q0, rows)
        if value_keys:
            # A block sweeping more chunks than buffers (two K, at most two V) loads them all
            # (least-recently-used refill of a cyclic sweep never hits), except chunks a block
            # of at most two left behind; those were loaded by a block not counted here.
            values = chunk_count(wl, value_keys, q0, rows)
            per_head += (MIN_BLOCK_INSNS + MIN_FULL_ROW_INSNS + seen + values
                         + (seen if seen > 2 else 0) + (values if values > 2 else 0))
        else:
            per_head += MIN_BLOCK_INSNS + (MIN_ITEM_INSNS["single"] if seen == 1 else
                                           seen * (MIN_ITEM_INSNS["max"] + MIN_ITEM_INSNS["exp"]))
    return per_head * wl.heads_total + 1


def has_one_chunk_blocks(wl: Workload, block_rows: int, chunk_keys: int) -> bool:
    """Whether some block sees all its keys in one chunk (a "single" item, no max pass)."""
    return any(chunk_count(wl, chunk_keys, q0, min(block_rows, wl.seq_q - q0)) == 1
               for q0 in range(0, wl.seq_q, block_rows))


def plan_items(wl: Workload, block_rows: int, chunk_keys: int,
               keep_on_chip: bool) -> tuple[list[Block], list[Item]]:
    blocks: list[Block] = []
    items: list[Item] = []
    n_exp = 0
    for head in range(wl.heads_total):
        for q0 in range(0, wl.seq_q, block_rows):
            block = Block(head, len(blocks), q0, min(block_rows, wl.seq_q - q0))
            blocks.append(block)
            seen = chunks(wl, chunk_keys, q0, block.rows)
            passes = ["single"] if len(seen) == 1 else ["max", "exp"]
            for kind in passes:
                # Kept on chip, the exp pass runs backwards: it starts on the chunks the max
                # pass ended with, and ends on the chunks the next block's max pass starts with.
                order = seen[::-1] if kind == "exp" and keep_on_chip else seen
                for j, (k0, keys) in enumerate(order):
                    makes_p = kind != "max"
                    items.append(Item(block, kind, k0, keys, j == 0, j == len(order) - 1,
                                      len(items), n_exp if makes_p else -1))
                    n_exp += makes_p
    return blocks, items


def plan_scores(items: list[Item], slots: int, keep_on_chip: bool) -> dict[int, ScoreUse]:
    """A `max` item's scores are only read (row max), so they stay valid in their buffer until
    it is refilled. Kept on chip, a block's exp pass starts on the chunks its max pass ended
    with: while those scores are still in an S buffer, the exp item uses them instead of
    recomputing Q·Kᵀ. Buffers are refilled least recently used first, so *slots* buffers
    keep the scores of a block's last *slots* max items (mas: Tiling.score_buffers)."""
    plan: dict[int, list] = {}
    held: list = [None] * slots
    used = [-1] * slots
    for item in items:
        chunk = (item.block.index, item.k0)
        if keep_on_chip and item.kind == "exp" and chunk in held:
            slot, compute = held.index(chunk), False
            plan[used[slot]][2] = True
        else:
            slot, compute = min(range(slots), key=lambda b: used[b]), True
        held[slot] = chunk if item.kind == "max" else None
        used[slot] = item.index
        plan[item.index] = [slot, compute, False]
    return {index: ScoreUse(*entry) for index, entry in plan.items()}


def plan_reuse(uses: list[tuple[int, tuple]], keep_on_chip: bool,
               slots: int = 2) -> dict[int, BufferUse]:
    """Which of the *slots* K (or V) buffers each use reads, whether it must be loaded first,
    and whether the use is the last read of that load.

    *uses* are (item index, chunk) in the order the matrix unit reads them; buffers are
    refilled least recently used first. Kept on chip, a chunk still in a buffer is not
    fetched again: consecutive passes over the same keys share their turning chunks, and a
    block with a single chunk reuses K and V from the block before. Otherwise every use
    loads."""
    plan: dict[int, list] = {}
    held: list = [None] * slots
    used = [-1] * slots
    last_use: list = [None] * slots   # item index of the latest read of each buffer's load
    for n, (index, chunk) in enumerate(uses):
        if keep_on_chip and chunk in held:
            slot, load = held.index(chunk), False
        else:
            slot, load = min(range(slots), key=lambda b: used[b]), True
            if last_use[slot] is not None:
                plan[last_use[slot]][2] = True
            held[slot] = chunk
        used[slot], last_use[slot] = n, index
        plan[index] = [slot, load, False]
    for index in last_use:
        if index is not None:
            plan[index][2] = True
    return {index: BufferUse(*entry) for index, entry in plan.items()}


def plan(wl: Workload, block_rows: int, chunk_keys: int, score_buffers: int,
         keep_on_chip: bool) -> Plan:
    blocks, items = plan_items(wl, block_rows, chunk_keys, keep_on_chip)
    scores = plan_scores(items, score_buffers, keep_on_chip)
    computed = [i for i in items if scores[i.index].compute]
    return Plan(
        blocks=blocks, items=items, scores=scores,
        keys=plan_reuse([(i.index, (i.block.head, i.k0)) for i in computed], keep_on_chip),
        values=plan_reuse([(i.index, (i.block.head, i.k0)) for i in items if i.makes_p],
                          keep_on_chip),
        last_qk_of_block={i.block.index: i.index for i in computed})


def plan_full_rows(wl: Workload, block_rows: int, chunk_keys: int, value_keys: int,
                   value_buffers: int) -> Plan:
    """FLAT's plan: per block, `row` items run Q·Kᵀ chunk by chunk into one S buffer of whole
    rows, then `pv` items run P·V over V chunks of Bv keys. V chunks end at the block's last
    visible key (P beyond it is not written; its V rows are zero padding). A chunk still in a
    K or V buffer is not fetched again (a block with one chunk keeps K and V from the block
    before); otherwise every block reads all its keys again."""
    blocks: list[Block] = []
    items: list[Item] = []
    n_pv = 0
    for head in range(wl.heads_total):
        for q0 in range(0, wl.seq_q, block_rows):
            block = Block(head, len(blocks), q0, min(block_rows, wl.seq_q - q0))
            blocks.append(block)
            seen = chunks(wl, chunk_keys, q0, block.rows)
            for j, (k0, keys) in enumerate(seen):
                items.append(Item(block, "row", k0, keys, j == 0, j == len(seen) - 1,
                                  len(items), -1))
            # the keys any row of the block sees (a block that sees none keeps one, masked)
            total = seen[-1][0] + seen[-1][1]
            if wl.causal:
                visible = q0 + block.rows + causal_offset(wl.seq_q, wl.seq_kv)
                total = min(total, max(visible, 1))
            starts = range(0, total, value_keys)
            for j, k0 in enumerate(starts):
                items.append(Item(block, "pv", k0, min(value_keys, total - k0), j == 0,
                                  j == len(starts) - 1, len(items), n_pv))
                n_pv += 1
    rows = [i for i in items if i.kind == "row"]
    return Plan(
        blocks=blocks, items=items,
        scores={i.index: ScoreUse(0, True, False) for i in rows},
        keys=plan_reuse([(i.index, (i.block.head, i.k0, i.keys)) for i in rows], True),
        values=plan_reuse([(i.index, (i.block.head, i.k0, i.keys)) for i in items
                           if i.kind == "pv"], True, value_buffers),
        last_qk_of_block={i.block.index: i.index for i in rows})
