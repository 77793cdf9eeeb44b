"""Assembler / disassembler: exact round trip and clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_gen import AsmError, Program, assemble, disassemble
from hwdef import isa


@st.composite
def instructions(draw):
    cls = draw(st.sampled_from(isa.INSTRUCTIONS))
    values = {}
    for fld in isa.HEADER[1:] + cls.fields:
        values[fld.name] = draw(st.integers(fld.min, fld.max))
    return isa.encode(cls.mnemonic, **values)


@settings(max_examples=600, deadline=None)
@given(st.lists(instructions(), min_size=1, max_size=8))
def test_text_and_binary_round_trip_exactly(words):
    text = disassemble(words)
    assert assemble(text) == words
    assert isa.from_bytes(isa.to_bytes(words)) == words


@settings(max_examples=300, deadline=None)
@given(instructions())
def test_decode_inverts_encode(word):
    mnemonic, fields = isa.decode(word)
    assert isa.encode(mnemonic, **fields) == word


def test_field_layouts_fit_and_do_not_overlap():
    for cls in isa.INSTRUCTIONS:
        covered = 0
        for fld, lsb in cls.layout():
            mask = ((1 << fld.bits) - 1) << lsb
            assert covered & mask == 0, f"{cls.mnemonic}.{fld.name} overlaps"
            covered |= mask
        assert covered.bit_length() <= isa.INSN_BITS


@pytest.mark.parametrize("text, message", [
    ("halt\nfrobnicate x=1\n", "prog.s:2: unknown instruction 'frobnicate'"),
    ("\n\nmatmul rows=8192\n", "prog.s:3: MATMUL.rows = 8192 is out of range [0, 8191]"),
    ("dma_load spad_addr\n", "prog.s:1: expected key=value, got 'spad_addr'"),
    ("vector op=EXP3\n", "prog.s:1: VECTOR.op: 'EXP3' is not a number (one of COPY"),
    ("sync wait=s16\n", "prog.s:1: semaphore s16 does not exist"),
    ("matmul rows=1 rows=2\n", "prog.s:1: field 'rows' given twice"),
    ("dma_store bogus=1\n", "prog.s:1: DMA_STORE has no field 'bogus'"),
    ("# only a comment\n", "prog.s:1: program has no instruction"),
])
def test_malformed_text_names_the_line(text, message):
    with pytest.raises(AsmError) as info:
        assemble(text, source="prog.s")
    assert message in str(info.value)


def test_decoder_rejects_illegal_opcode_and_reserved_bits():
    with pytest.raises(isa.IsaError, match="illegal opcode 15"):
        isa.decode(15)
    with pytest.raises(isa.IsaError, match="reserved bits"):
        isa.decode(isa.encode("HALT") | 1 << 200)


def test_program_builder_matches_assembler():
    prog = Program()
    prog.dma_load(dram_addr=0x100, dram_stride=64, rows=3, row_bytes=40, spad_addr=4,
                  spad_pitch=1, signal=[0])
    prog.matmul(wait=0, a_addr=4, a_pitch=1, rows=3, b_addr=8, b_pitch=1, k_tiles=1,
                n_tiles=1, a_signed=1, emit=1, dst_addr=12, dst_pitch=1, signal=[1, 2])
    prog.sync(isa.Queue.VECTOR, wait=[1])
    prog.halt()
    assert assemble(prog.listing()) == prog.words
    assert "pad_rows=3 pad_bytes=40" in prog.listing()


def test_command_line_round_trip(tmp_path):
    source = tmp_path / "prog.s"
    source.write_text("dma_load dram_addr=0x40 rows=2 row_bytes=16 pad_rows=2 pad_bytes=16 \\\n"
                      "         signal=s0  # continued line\n"
                      "sync target_queue=MATRIX wait=s0\nhalt\n")
    run = [sys.executable, "-m", "firmware_gen"]
    subprocess.run(run + ["asm", str(source), "-o", str(tmp_path / "p.bin")], check=True)
    out = subprocess.run(run + ["dis", str(tmp_path / "p.bin")], check=True,
                         capture_output=True, text=True).stdout
    assert out.splitlines()[1] == "sync wait=s0 target_queue=MATRIX"
    assert assemble(out) == assemble(source.read_text())
    bad = tmp_path / "bad.s"
    bad.write_text("halt\nnop wait=s99\n")
    result = subprocess.run(run + ["asm", str(bad)], capture_output=True, text=True)
    assert result.returncode == 1 and "bad.s:2: semaphore s99" in result.stderr


def test_word_directive_gives_any_instruction_word():
    """`.word` writes an undecodable word (an illegal opcode, reserved bits) that `dis`
    refuses and a raw listing prints back; a bad `.word` is one error line."""
    illegal = 0xF | 1 << 200
    words = assemble(f".word {illegal:#x}\nhalt\n")
    assert words == [illegal, isa.encode("HALT")]
    assert assemble(disassemble(words, raw=True)) == words
    with pytest.raises(isa.IsaError, match="illegal opcode"):
        disassemble(words)
    for bad in (".word", ".word 1 2", f".word {1 << 256}", ".word -1", ".word x"):
        with pytest.raises(AsmError):
            assemble(bad)
