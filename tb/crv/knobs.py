"""The random choices of a random program, as pyvsc constrained-random objects.

pyvsc draws the *shape* of each instruction and of the program (opcode mix, operation, element
types, row and tile counts, flags, overwrite-control use, synchronization style, DRAM timing):
the combinations the coverage model (tb/crv/coverage.py) crosses. Where the operands go is
decided afterwards by the generator (tb/crv/generator.py) so that they fit and depend on each
other; whether an instruction is legal is never decided here but by
npu_model.semantics.check, the one definition the RTL is compared with.

The weights bias towards the corners (one row, exactly one tile, a tail of one lane, the last
legal count) without starving the middle.
"""

from __future__ import annotations

import vsc

# Kinds of deliberately illegal programs (ProgramKnobs.illegal); 0 is a legal program.
ILLEGAL_KINDS = ("none", "field", "spad_range", "acc_range", "dram_range", "opcode",
                 "reserved_bits", "ow_violation", "bad_release", "deadlock", "sem_overflow",
                 "operand_overlap", "prog_align")


MAX_INSNS = 255          # body instructions at most (ProgramKnobs.length is 8 bits)


@vsc.randobj
class ProgramKnobs:
    def __init__(self, max_insns: int):
        self.max_insns = max_insns
        self.length = vsc.rand_bit_t(8)
        self.fences = vsc.rand_bit_t(1)        # explicit fences instead of the sync pass
        self.strict = vsc.rand_bit_t(1)
        self.illegal = vsc.rand_bit_t(4)
        self.lat_min = vsc.rand_bit_t(8)
        self.lat_extra = vsc.rand_bit_t(8)
        self.bytes_per_cycle = vsc.rand_bit_t(8)
        self.extra_sems = vsc.rand_bit_t(2)    # extra producer/consumer semaphore pairs
        self.window_pages = vsc.rand_bit_t(4)  # the window starts this many 4 KiB pages up
        # An illegal MATMUL (where the kind allows one) right behind a legal one in the matrix
        # queue: the engine takes it while the legal one runs and must hold its error.
        self.matmul_before_illegal = vsc.rand_bit_t(1)

    @vsc.constraint
    def shape(self):
        self.length in vsc.rangelist((1, self.max_insns))
        vsc.dist(self.length, [vsc.weight((1, 4), 2), vsc.weight((5, self.max_insns), 8)])
        vsc.dist(self.fences, [vsc.weight(0, 3), vsc.weight(1, 1)])
        vsc.dist(self.strict, [vsc.weight(0, 1), vsc.weight(1, 1)])
        self.illegal < len(ILLEGAL_KINDS)
        vsc.dist(self.illegal, [vsc.weight(0, 70), vsc.weight((1, len(ILLEGAL_KINDS) - 1), 30)])
        self.lat_min <= 40
        self.lat_extra <= 60
        vsc.dist(self.lat_extra, [vsc.weight(0, 1), vsc.weight((1, 60), 1)])
        self.bytes_per_cycle <= 64
        vsc.dist(self.bytes_per_cycle, [vsc.weight(0, 2), vsc.weight((1, 64), 1)])
        self.window_pages <= 3
        vsc.dist(self.matmul_before_illegal, [vsc.weight(0, 1), vsc.weight(1, 1)])


@vsc.randobj
class InsnKnobs:
    """What every instruction draws: its class, rows, overwrite control and layout slack."""

    def __init__(self, max_rows: int):
        self.max_rows = max_rows
        self.kind = vsc.rand_bit_t(3)          # 0 DMA_LOAD, 1 DMA_STORE, 2 MATMUL, 3 VECTOR,
        #                                        4 SYNC
        self.rows = vsc.rand_bit_t(13)
        self.row_lines = vsc.rand_bit_t(3)     # whole lines per row (DMA rows, vector vectors)
        self.tail = vsc.rand_bit_t(8)          # a partial last line / vector: 0 = none
        self.lock = vsc.rand_bit_t(2)          # lock_readers of the written regions
        self.release = vsc.rand_bit_t(1)       # try to release what it reads
        self.pitch_slack = vsc.rand_bit_t(2)   # extra lines between rows

    @vsc.constraint
    def shape(self):
        self.kind <= 4
        vsc.dist(self.kind, [vsc.weight(0, 24), vsc.weight(1, 18), vsc.weight(2, 26),
                             vsc.weight(3, 30), vsc.weight(4, 2)])
        self.rows in vsc.rangelist((1, self.max_rows))
        vsc.dist(self.rows, [vsc.weight(1, 3), vsc.weight((2, self.max_rows - 1), 6),
                             vsc.weight(self.max_rows, 1)])
        self.row_lines <= 3
        vsc.dist(self.lock, [vsc.weight(0, 6), vsc.weight((1, 3), 2)])
        vsc.dist(self.pitch_slack, [vsc.weight(0, 6), vsc.weight((1, 3), 2)])


@vsc.randobj
class DmaKnobs:
    def __init__(self):
        self.pad_rows = vsc.rand_bit_t(2)      # DMA_LOAD: extra zero rows
        self.pad_lines = vsc.rand_bit_t(2)     # DMA_LOAD: extra zero lines per row
        self.dram_corner = vsc.rand_bit_t(2)   # 0 anywhere, 1 across a 4 KiB boundary,
        #                                        2 at the data area's end, 3 odd stride

    @vsc.constraint
    def corners(self):
        vsc.dist(self.dram_corner, [vsc.weight(0, 5), vsc.weight((1, 3), 3)])


@vsc.randobj
class MatmulKnobs:
    def __init__(self, max_tiles: int):
        self.max_tiles = max_tiles
        self.k_tiles = vsc.rand_bit_t(3)
        self.n_tiles = vsc.rand_bit_t(3)
        self.transpose = vsc.rand_bit_t(1)
        self.a_signed = vsc.rand_bit_t(1)
        self.accumulate = vsc.rand_bit_t(1)
        self.emit = vsc.rand_bit_t(1)
        # A second MATMUL right behind this one in the matrix queue (the engine holds both):
        # 0 none, 1 one reading lines this one emits (read after write through the
        # scratchpad), 2 one accumulating onto this one's accumulator rows.
        self.follow = vsc.rand_bit_t(2)

    @vsc.constraint
    def tiles(self):
        self.k_tiles in vsc.rangelist((1, self.max_tiles))
        self.n_tiles in vsc.rangelist((1, self.max_tiles))
        self.follow <= 2
        vsc.dist(self.follow, [vsc.weight(0, 6), vsc.weight(1, 2), vsc.weight(2, 1)])


@vsc.randobj
class VectorKnobs:
    def __init__(self):
        self.op = vsc.rand_bit_t(4)
        self.sat = vsc.rand_bit_t(2)
        self.b_mode = vsc.rand_bit_t(2)
        self.a_type = vsc.rand_bit_t(2)
        self.dst_type = vsc.rand_bit_t(2)
        self.shift = vsc.rand_bit_t(6)
        self.scalar_kind = vsc.rand_bit_t(3)   # 0 small, 1 large, 2 INT32_MIN, 3 INT32_MAX,
        #                                        4 zero, 5 -1, 6 random 32 bits
        self.causal = vsc.rand_bit_t(1)

    @vsc.constraint
    def operation(self):
        self.op <= 8
        self.sat <= 2
        self.b_mode <= 2
        self.a_type <= 2
        self.dst_type <= 2
        self.scalar_kind <= 6
        vsc.dist(self.shift, [vsc.weight(0, 2), vsc.weight((1, 16), 4), vsc.weight((17, 62), 2),
                              vsc.weight(63, 1)])
        vsc.dist(self.causal, [vsc.weight(0, 4), vsc.weight(1, 1)])
