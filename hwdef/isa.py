"""The NPU instruction set, defined once.

Every instruction is one 256-bit word. Bits [35:0] are a header common to all classes:

    [3:0]    opcode
    [19:4]   wait_mask    semaphores this instruction waits on (each must be > 0; all are
                          decremented together when it starts)
    [35:20]  signal_mask  semaphores it increments when it has completed

Class-specific fields follow from bit 36 upward in the order listed in `INSTRUCTIONS`; unused
high bits are zero (a decoder rejects nonzero reserved bits). The dispatcher routes classes to
queues (DMA-in, DMA-out, matrix, vector); the queues run concurrently and only the semaphores
order them, like Ascend's set_flag / wait_flag or VTA's dependency tokens.

`rtl/pkg/npu_isa_pkg.sv` (packed structs and opcode enum), `docs/isa.md` (bit layout tables) and
firmware_gen's assembler are all generated from or driven by this module.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

INSN_BITS = 256
INSN_BYTES = INSN_BITS // 8
OPCODE_BITS = 4
NUM_SEMAPHORES = 16
SEMAPHORE_BITS = 8  # counter width: a signal that would overflow it is an error


class IsaError(ValueError):
    """An instruction cannot be encoded or decoded (bad field, value out of range...)."""


class Queue(enum.IntEnum):
    """Execution queues; DISPATCH means the dispatcher itself executes the instruction."""

    DMA_IN = 0
    DMA_OUT = 1
    MATRIX = 2
    VECTOR = 3
    DISPATCH = 4


class ElemType(enum.IntEnum):
    """Element type of a scratchpad operand of a VECTOR instruction."""

    INT32 = 0  # one lane per 32-bit word: a vector is one scratchpad line
    INT8 = 1  # one lane per byte, sign-extended: a vector is a quarter line
    UINT8 = 2  # one lane per byte, zero-extended


class BMode(enum.IntEnum):
    """Where a VECTOR instruction's b operand comes from."""

    VECTOR = 0  # a second vector stream laid out like a (b_addr, b_pitch, a_type)
    ROW = 1  # one int32 line per row (b_addr + row * b_pitch), used for every vector of the row
    SCALAR = 2  # the instruction's scalar in every lane


@dataclass(frozen=True)
class Field:
    name: str
    bits: int
    doc: str
    signed: bool = False
    enum: type[enum.IntEnum] | None = None

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


_LAYOUTS: dict[str, list] = {}   # InsnClass.layout() results (the classes are immutable)


@dataclass(frozen=True)
class InsnClass:
    mnemonic: str
    opcode: int
    queue: Queue
    doc: str
    fields: tuple[Field, ...]

    def layout(self) -> list[tuple[Field, int]]:
        """(field, lsb) of every field, header included."""
        cached = _LAYOUTS.get(self.mnemonic)
        if cached is not None:
            return cached
        out, lsb = [], 0
        for fld in HEADER + self.fields:
            out.append((fld, lsb))
            lsb += fld.bits
        if lsb > INSN_BITS:
            raise IsaError(f"{self.mnemonic} needs {lsb} bits, more than {INSN_BITS}")
        _LAYOUTS[self.mnemonic] = out
        return out

    @property
    def used_bits(self) -> int:
        return sum(f.bits for f in HEADER + self.fields)


HEADER = (
    Field("opcode", OPCODE_BITS, "instruction class"),
    Field("wait_mask", NUM_SEMAPHORES, "semaphores to wait on and decrement before starting"),
    Field("signal_mask", NUM_SEMAPHORES, "semaphores to increment after completing"),
)

_SPAD = 16  # scratchpad line address fields (the configuration's size is checked at run time)
_PITCH = 12
_ROWS = 13
_LOCK = Field("lock_readers", 2, "after completing, mark every scratchpad region the output "
              "touched as awaiting this many last-use reads (0: none)")

INSTRUCTIONS: tuple[InsnClass, ...] = (
    InsnClass("NOP", 0, Queue.DISPATCH,
              "Does nothing; with masks it is a global fence: dispatch waits on wait_mask, then "
              "signals signal_mask.", ()),
    InsnClass("HALT", 1, Queue.DISPATCH,
              "Waits until every queue is empty and every unit idle, then sets STATUS.done and "
              "raises the interrupt.", ()),
    InsnClass("SYNC", 2, Queue.DMA_IN,
              "Executes in the queue named by its field: waits on wait_mask, signals "
              "signal_mask, moves no data (Ascend's wait_flag / set_flag).",
              (Field("target_queue", 2, "queue that executes it: 0 DMA-in, 1 DMA-out, 2 matrix, "
                     "3 vector"),)),
    InsnClass("DMA_LOAD", 3, Queue.DMA_IN,
              "DRAM to scratchpad, 2-D strided, with zero padding. Row r (r < rows) reads "
              "row_bytes bytes at dram_addr + r*dram_stride and writes them from the first byte "
              "of line spad_addr + r*spad_pitch; bytes row_bytes..pad_bytes-1 of each row and "
              "all pad_bytes of rows rows..pad_rows-1 are written as zeros.",
              (Field("dram_addr", 32, "byte address in DRAM of row 0"),
               Field("dram_stride", 24, "bytes between consecutive rows in DRAM"),
               Field("rows", _ROWS, "rows read from DRAM (1..)"),
               Field("row_bytes", 16, "bytes per row read from DRAM (1..)"),
               Field("spad_addr", _SPAD, "first scratchpad line"),
               Field("spad_pitch", _PITCH, "scratchpad lines between consecutive rows"),
               Field("pad_rows", _ROWS, "rows written (>= rows); extra rows are zero"),
               Field("pad_bytes", 16, "bytes written per row (>= row_bytes); extra are zero"),
               _LOCK)),
    InsnClass("DMA_STORE", 4, Queue.DMA_OUT,
              "Scratchpad to DRAM, 2-D strided: row r writes row_bytes bytes from the first "
              "byte of line spad_addr + r*spad_pitch to dram_addr + r*dram_stride.",
              (Field("dram_addr", 32, "byte address in DRAM of row 0"),
               Field("dram_stride", 24, "bytes between consecutive rows in DRAM"),
               Field("rows", _ROWS, "rows (1..)"),
               Field("row_bytes", 16, "bytes per row (1..)"),
               Field("spad_addr", _SPAD, "first scratchpad line"),
               Field("spad_pitch", _PITCH, "scratchpad lines between consecutive rows"),
               Field("release_src", 1, "the read of each region is its last use: release it"))),
    InsnClass("MATMUL", 5, Queue.MATRIX,
              "C = A·B (or A·Bᵀ with transpose) over k_tiles x n_tiles weight tiles of "
              "Dim x Dim. A: rows x (k_tiles*Dim) int8/uint8, row i at line a_addr + "
              "i*a_pitch. B: int8, row r at line b_addr + r*b_pitch; k_tiles*Dim rows of "
              "n_tiles*Dim columns, or with transpose n_tiles*Dim rows of k_tiles*Dim columns. "
              "Output tile n, row i goes to accumulator acc_addr + n*rows + i (the first k tile "
              "overwrites unless accumulate; later k tiles accumulate); with emit, the final "
              "rows are also written to the scratchpad as int32, row i of tile n at line "
              "dst_addr + i*dst_pitch, words n*Dim..n*Dim+Dim-1 of the row. The emitted rows must "
              "not overlap A or B (Operand aliasing).",
              (Field("a_addr", _SPAD, "first line of A"),
               Field("a_pitch", _PITCH, "lines between rows of A"),
               Field("rows", _ROWS, "rows of A and of C (1..)"),
               Field("b_addr", _SPAD, "first line of B"),
               Field("b_pitch", _PITCH, "lines between rows of B"),
               Field("k_tiles", 8, "reduction length in tiles of Dim (1..)"),
               Field("n_tiles", 8, "output width in tiles of Dim (1..)"),
               Field("transpose", 1, "B is stored transposed (rows of K for Q·Kᵀ)"),
               Field("a_signed", 1, "A is int8 (1) or uint8 (0, softmax weights)"),
               Field("acc_addr", 16, "first accumulator row"),
               Field("accumulate", 1, "the first k tile adds to the accumulators"),
               Field("emit", 1, "also write the final rows to the scratchpad"),
               Field("dst_addr", _SPAD, "first scratchpad line of the emitted rows"),
               Field("dst_pitch", _PITCH, "lines between emitted rows"),
               Field("release_a", 1, "A's reads are the last use of its regions"),
               Field("release_b", 1, "B's reads are the last use of its regions"),
               _LOCK)),
    InsnClass("VECTOR", 6, Queue.VECTOR,
              "Runs a vector ALU operation over rows x ceil(row_len/Lanes) vectors. Vector v of "
              "row i of operand a starts at line a_addr + i*a_pitch (int32: line + v; 8-bit "
              "types: quarter lines). Lanes beyond the row's length are disabled; with causal, "
              "row i's length is min(row_len, max(0, diag + i)). Element-wise results go to the "
              "same position of dst; reductions (RMAX, RSUM) write one int32 line per row at "
              "dst_addr + i*dst_pitch. dst must not overlap a or b except exactly in place "
              "(Operand aliasing).",
              (Field("op", 4, "vector operation (hwdef.params.VecOp)"),
               Field("sat", 2, "narrowing after the op (hwdef.params.SatMode)"),
               Field("b_mode", 2, "b operand source", enum=BMode),
               Field("shift", 6, "right shift of MULSHR / extra shift of EXP2"),
               Field("scalar", 32, "b operand when b_mode = SCALAR", signed=True),
               Field("a_addr", _SPAD, "first line of a"),
               Field("a_pitch", _PITCH, "lines between rows of a"),
               Field("a_type", 2, "element type of a (and of b when b_mode = VECTOR)",
                     enum=ElemType),
               Field("b_addr", _SPAD, "first line of b"),
               Field("b_pitch", _PITCH, "lines between rows of b"),
               Field("dst_addr", _SPAD, "first line of the result"),
               Field("dst_pitch", _PITCH, "lines between result rows"),
               Field("dst_type", 2, "element type of the result", enum=ElemType),
               Field("rows", _ROWS, "rows (1..)"),
               Field("row_len", _ROWS, "elements per row (1..)"),
               Field("causal", 1, "mask lanes at or beyond diag + row index"),
               Field("diag", 14, "causal diagonal: row i keeps elements < diag + i", signed=True),
               Field("release_a", 1, "a's reads are the last use of its regions"),
               Field("release_b", 1, "b's reads are the last use of its regions"),
               _LOCK)),
)

# The aliasing rule (docs/isa.md "Operand aliasing"; npu_model/semantics.py `check` and the
# engines' field checks implement it).
OPERAND_ALIASING_DOC = (
    "Only MATMUL (with emit) and VECTOR read and write the scratchpad in one instruction. Each "
    "operand is compared as the bounding line interval [first line, last line] of its strided "
    "span (first line = its `*_addr`, last line = the one the range check tests): MATMUL's "
    "emitted rows (dst) against A and against B; VECTOR's result (dst) against a, and against "
    "b when b_mode is VECTOR or ROW. An instruction whose write interval meets one of its read "
    "intervals stops with OPERAND_OVERLAP (ERROR_INFO = dst_addr), checked after every range "
    "check, a before b (A before B). The one exception is exact in-place element-wise VECTOR: "
    "the result may coincide with a (or with b in b_mode VECTOR) when dst_addr, dst_pitch and "
    "dst_type equal that operand's address, pitch and element type (a_type), the op is "
    "element-wise (not RMAX / RSUM) and the operand's rows share no line (rows = 1 or pitch "
    ">= lines per row). Then each result line is written after the reads of that line and "
    "no later read sees it, so the engines and the sequential model agree. Reductions (RMAX, "
    "RSUM: one int32 line per row) get no exception: their result lines must not meet a or b; "
    "neither may b in ROW mode (one line per row, shared by every vector of the row) meet the "
    "result. Everything else would make the outcome depend on how far the engines' read "
    "streams run ahead of their writes (the matrix engine re-reads A for each n tile). DMA "
    "instructions read or write the scratchpad, never both, and are not concerned."
)

BY_MNEMONIC = {c.mnemonic: c for c in INSTRUCTIONS}
BY_OPCODE = {c.opcode: c for c in INSTRUCTIONS}
HEADER_LAYOUT = BY_MNEMONIC["NOP"].layout()[:len(HEADER)]   # the same in every class


def encode(mnemonic: str, **values: int) -> int:
    """Encode one instruction; missing fields are 0. Raises IsaError on any bad field."""
    try:
        cls = BY_MNEMONIC[mnemonic.upper()]
    except KeyError:
        raise IsaError(f"unknown instruction '{mnemonic}'; known: "
                       f"{', '.join(BY_MNEMONIC)}") from None
    known = {f.name for f, _ in cls.layout()} - {"opcode"}
    unknown = set(values) - known
    if unknown:
        raise IsaError(f"{cls.mnemonic} has no field(s) {', '.join(sorted(unknown))}; fields: "
                       f"{', '.join(f.name for f in HEADER[1:] + cls.fields)}")
    word = 0
    for fld, lsb in cls.layout():
        value = cls.opcode if fld.name == "opcode" else int(values.get(fld.name, 0))
        if not fld.min <= value <= fld.max:
            raise IsaError(f"{cls.mnemonic}.{fld.name} = {show_int(value)} is out of range "
                           f"[{fld.min}, {fld.max}] ({fld.bits} bits)")
        word |= (value & ((1 << fld.bits) - 1)) << lsb
    return word


def with_semaphores(word: int, waits: Iterable[int] = (), signals: Iterable[int] = ()) -> int:
    """*word* (encoded without semaphores) with these wait and signal semaphores."""
    lsb = {fld.name: at for fld, at in HEADER_LAYOUT}
    for sem in (*waits, *signals):
        if not 0 <= sem < NUM_SEMAPHORES:
            raise IsaError(f"semaphore {show_int(sem)} does not exist "
                           f"(0..{NUM_SEMAPHORES - 1})")
    return (word | sum(1 << s for s in waits) << lsb["wait_mask"]
            | sum(1 << s for s in signals) << lsb["signal_mask"])


def decode(word: int) -> tuple[str, dict[str, int]]:
    """Decode one 256-bit word into (mnemonic, fields without opcode)."""
    if not 0 <= word < (1 << INSN_BITS):
        raise IsaError(f"instruction word does not fit in {INSN_BITS} bits")
    opcode = word & ((1 << OPCODE_BITS) - 1)
    if opcode not in BY_OPCODE:
        raise IsaError(f"illegal opcode {opcode}")
    cls = BY_OPCODE[opcode]
    fields = {}
    for fld, lsb in cls.layout()[1:]:
        raw = (word >> lsb) & ((1 << fld.bits) - 1)
        if fld.signed and raw >> (fld.bits - 1):
            raw -= 1 << fld.bits
        fields[fld.name] = raw
    if word >> cls.used_bits:
        raise IsaError(f"{cls.mnemonic}: reserved bits {cls.used_bits}..{INSN_BITS - 1} "
                       "are not zero")
    return cls.mnemonic, fields


def to_bytes(words: list[int]) -> bytes:
    """Little-endian image: instruction i at byte offset 32*i."""
    return b"".join(w.to_bytes(INSN_BYTES, "little") for w in words)


def from_bytes(image: bytes) -> list[int]:
    if len(image) % INSN_BYTES:
        raise IsaError(f"image length {len(image)} is not a multiple of {INSN_BYTES} bytes")
    return [int.from_bytes(image[i:i + INSN_BYTES], "little")
            for i in range(0, len(image), INSN_BYTES)]


# ---- text form (used by firmware_gen's assembler / disassembler and by docs/isa.md) ----------
# Error messages quote what they reject; a pasted megabyte or a 5000-digit number is cut short
# so that the message stays one readable line (and Python's int-to-str digit limit is never hit).
_QUOTE_CHARS = 40
_SHOW_BITS = 128


def quote(text: str) -> str:
    """*text* for an error message: at most _QUOTE_CHARS characters, non-printable ones
    escaped (a message is one line)."""
    short = text if len(text) <= _QUOTE_CHARS else text[:_QUOTE_CHARS] + "..."
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in short)
    return f"'{shown}'" + (f" ({len(text)} characters)" if len(text) > _QUOTE_CHARS else "")


def show_int(value: int) -> str:
    """An integer for an error message; a huge one as its size only."""
    if abs(value).bit_length() <= _SHOW_BITS:
        return str(value)
    return f"{'-' if value < 0 else ''}<a {abs(value).bit_length()}-bit number>"


# Integer literals as Python writes them (base prefixes, underscores), ASCII digits only:
# int() alone would also take fullwidth or other Unicode digits.
_INT_LITERAL = re.compile(r"[+-]?(0[xX](_?[0-9a-fA-F])+|0[oO](_?[0-7])+|0[bB](_?[01])+"
                          r"|0(_?0)*|[1-9](_?[0-9])*)")
_DECIMAL_DIGITS_EXACT = 4000   # below Python's int-from-str limit (4300 digits)


def parse_int(text: str) -> int | None:
    """The value of an ASCII integer literal (decimal, 0x, 0o, 0b; underscores between digits),
    or None when *text* is not one."""
    if not _INT_LITERAL.fullmatch(text):
        return None
    digits = text.lstrip("+-").replace("_", "")
    if not digits[1:2].isalpha() and len(digits) > _DECIMAL_DIGITS_EXACT:
        # int() would refuse this many decimal digits; far out of every field's range, the
        # smallest number with as many digits stands in for it in the range error.
        return (-1 if text.startswith("-") else 1) * 10 ** (len(digits) - 1)
    return int(text, 0)


def _sem_list(mask: int) -> str:
    return ",".join(f"s{i}" for i in range(NUM_SEMAPHORES) if mask >> i & 1)


def _parse_sem_list(text: str) -> int:
    mask = 0
    for item in filter(None, (t.strip() for t in text.split(","))):
        digits = item[1:]
        if not (item[:1] in "sS" and digits.isascii() and digits.isdigit()):
            raise IsaError(f"bad semaphore {quote(item)} (expected s0..s{NUM_SEMAPHORES - 1})")
        if len(digits) > 2 or int(digits) >= NUM_SEMAPHORES:
            name = f"s{int(digits)}" if len(digits) <= 2 else quote(item)
            raise IsaError(f"semaphore {name} does not exist (s0..s{NUM_SEMAPHORES - 1})")
        mask |= 1 << int(digits)
    return mask


def _field_enum(cls: InsnClass, fld: Field):
    if fld.enum is not None:
        return fld.enum
    if cls.mnemonic == "VECTOR" and fld.name in ("op", "sat"):
        from hwdef.params import SatMode, VecOp
        return VecOp if fld.name == "op" else SatMode
    if cls.mnemonic == "SYNC" and fld.name == "target_queue":
        return Queue
    return None


def format_insn(word: int) -> str:
    """Canonical text of one instruction: mnemonic, then every nonzero field as key=value."""
    mnemonic, fields = decode(word)
    cls = BY_MNEMONIC[mnemonic]
    parts = [mnemonic.lower()]
    for fld in HEADER[1:] + cls.fields:
        value = fields[fld.name]
        if value == 0:
            continue
        if fld.name in ("wait_mask", "signal_mask"):
            parts.append(f"{fld.name.split('_')[0]}={_sem_list(value)}")
            continue
        kind = _field_enum(cls, fld)
        if kind is not None and value in kind._value2member_map_:
            parts.append(f"{fld.name}={kind(value).name}")
        elif fld.name.endswith("addr") and not fld.signed:
            parts.append(f"{fld.name}=0x{value:x}")
        else:
            parts.append(f"{fld.name}={value}")
    return " ".join(parts)


def _check_characters(text: str) -> None:
    """Instruction text is printable ASCII (tabs allowed): a lookalike letter or digit would
    otherwise be case-folded or converted into a different instruction without a word."""
    for column, char in enumerate(text, start=1):
        if not (char == "\t" or " " <= char <= "~"):
            raise IsaError(f"character {quote(char)} (U+{ord(char):04X}) at column {column}: "
                           "instructions are ASCII only (comments may hold any text)")


# `.word <value>`: an instruction word given as a number, decodable or not (tests write illegal
# opcodes and reserved bits with it; `format_raw` prints one).
RAW_DIRECTIVE = ".word"


def format_raw(word: int) -> str:
    return f"{RAW_DIRECTIVE} 0x{word:0{INSN_BITS // 4}x}"


def _parse_raw(tokens: list[str]) -> int:
    if len(tokens) != 2:
        raise IsaError(f"{RAW_DIRECTIVE} takes one number, got {len(tokens) - 1}")
    value = parse_int(tokens[1])
    if value is None or not 0 <= value < 1 << INSN_BITS:
        raise IsaError(f"{RAW_DIRECTIVE}: {quote(tokens[1])} is not a number in "
                       f"[0, 2**{INSN_BITS})")
    return value


def parse_insn(text: str) -> int:
    """Inverse of `format_insn` (key order free, integers in any Python base, ASCII only)."""
    _check_characters(text)
    tokens = text.split()
    if not tokens:
        raise IsaError("empty instruction")
    mnemonic = tokens[0].upper()
    if mnemonic == RAW_DIRECTIVE.upper():
        return _parse_raw(tokens)
    if mnemonic not in BY_MNEMONIC:
        raise IsaError(f"unknown instruction {quote(tokens[0])}; known: "
                       f"{', '.join(m.lower() for m in BY_MNEMONIC)}")
    cls = BY_MNEMONIC[mnemonic]
    by_name = {f.name: f for f in cls.fields}
    values: dict[str, int] = {}
    for token in tokens[1:]:
        key, sep, raw = token.partition("=")
        if not sep or not raw:
            raise IsaError(f"expected key=value, got {quote(token)}")
        key = key.lower()
        if key in ("wait", "signal"):
            name, value = f"{key}_mask", _parse_sem_list(raw)
        elif key in by_name:
            name, kind = key, _field_enum(cls, by_name[key])
            if kind is not None and raw.upper() in kind.__members__:
                value = int(kind[raw.upper()])
            else:
                number = parse_int(raw)
                if number is None:
                    choices = f" (one of {', '.join(kind.__members__)})" if kind else ""
                    raise IsaError(f"{cls.mnemonic}.{key}: {quote(raw)} is not a number"
                                   f"{choices}")
                value = number
        else:
            raise IsaError(f"{cls.mnemonic} has no field {quote(key)}; fields: wait, signal, "
                           f"{', '.join(by_name)}")
        if name in values:
            raise IsaError(f"field {quote(key)} given twice")
        values[name] = value
    return encode(mnemonic, **values)
