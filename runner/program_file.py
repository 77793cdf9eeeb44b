"""A program file as `make sim PROGRAM=...` runs it (tb/top/test_program.py): the program at
DRAM 0, seeded random bytes in the data area, the output area compared with the model.
runner/check_sim_args.py reads the file with the same functions before anything is built."""

from __future__ import annotations

from firmware_gen import assemble, read_image
from firmware_gen.asm import read_source
from hwdef import isa

DATA, DATA_BYTES = 0x10000, 0x10000
OUT, OUT_BYTES = 0x20000, 0x10000


def load_words(path: str) -> list[int]:
    """A program file as `firmware_gen asm` (text) or `dis` (.bin) reads it."""
    if path.endswith(".bin"):
        return read_image(path)
    return assemble(read_source(path), source=path)


def program_words(path: str) -> list[int]:
    """The program of a file, checked to fit below the data area."""
    words = load_words(path)
    code_bytes = len(words) * isa.INSN_BYTES
    if code_bytes > DATA:
        raise ValueError(
            f"{path}: {len(words)} instructions ({code_bytes} bytes) do not fit below the data "
            f"area at 0x{DATA:x}, where this runner places programs (at most "
            f"{DATA // isa.INSN_BYTES} instructions); an attention program from "
            f"`firmware_gen attention` needs its own memory map: run it with `make sim SEQ=...`")
    return words
