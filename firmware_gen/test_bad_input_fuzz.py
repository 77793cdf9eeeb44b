"""Bad input never gives a traceback: a seeded fuzz of `python -m firmware_gen` asm, dis and
attention (docs/testplan.md, "Bad input").

Inputs that are bad by construction (Unicode or fullwidth digits, numbers of thousands of
digits, bytes that are not UTF-8, illegal opcodes, impossible shapes and scales, bad options,
empty or missing paths) must end with exit status != 0 and exactly one `error: ...` line on
stderr, and leave no output behind. Randomly mutated listings and images may happen to stay
valid: they must then round-trip exactly, or else fail the same way. Every call goes through
the command line's main() in this process (thousands of interpreter starts would take
minutes); a handful of real subprocess runs prove the exit status reaches the shell.
"""

from __future__ import annotations

import contextlib
import io
import random
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from firmware_gen import assemble, disassemble
from firmware_gen.__main__ import main
from hwdef import isa

SEED = 20240611
ASM_CASES, DIS_CASES, ATTENTION_CASES = 2400, 1200, 600
TIME_LIMIT_S = 45

# Digits int() and str.isdigit() take but the assembler must not: fullwidth, Arabic-Indic,
# Devanagari, mathematical bold, superscripts.
UNICODE_DIGITS = (
    [chr(0xFF10 + d) for d in range(10)] + [chr(0x0660 + d) for d in range(10)]
    + [chr(0x0966 + d) for d in range(10)] + [chr(0x1D7CE + d) for d in range(10)]
    + list("¹²³⁴⁵⁶⁷⁸⁹⁰①"))
CONTROL_CHARACTERS = ("\x00", "\x0b", "\x0c", "\x1c", "\x7f", "\u2028", "\x85")
HUGE_NUMBERS = ("9" * 5000, "-" + "7" * 4301, "0x" + "f" * 6000, "1" + "0" * 4400,
                "0b" + "1" * 300, "1" + "_0" * 4500)


@dataclass
class Tally:
    tried: int = 0
    accepted: int = 0
    tracebacks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def call(argv: list[str]) -> tuple[int, str, str, str | None]:
    """(exit status, stdout, stderr, traceback text if main() raised) of one CLI run."""
    out, err = io.StringIO(), io.StringIO()
    crash = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except BaseException:     # SystemExit included: main() must return, not exit
            code, crash = -1, traceback.format_exc()
    return code, out.getvalue(), err.getvalue(), crash


def one_line_error(code: int, out: str, err: str) -> str:
    """What is wrong with a failing run's output ('' when it is a proper one-line error)."""
    if code == 0:
        return "exit status 0"
    if "Traceback" in err or not err.startswith("error: ") or err.count("\n") != 1 \
            or not err.endswith("\n"):
        return f"not one `error:` line: {err[:300]!r}"
    if out:
        return f"stdout not empty: {out[:200]!r}"
    return ""


def check(tally: Tally, label: str, argv: list[str], must_fail: bool, accepted=None) -> None:
    """Run *argv*; a bad input (*must_fail*) must give a one-line error, a possibly-valid
    one may instead succeed, and then `accepted()` checks its output."""
    tally.tried += 1
    code, out, err, crash = call(argv)
    if crash is not None:
        tally.tracebacks.append(f"{label}: {argv!r:.300}\n{crash}")
        return
    if code == 0 and not must_fail:
        tally.accepted += 1
        problem = accepted() if accepted else ""
    else:
        problem = one_line_error(code, out, err)
    if problem:
        tally.failures.append(f"{label}: {argv!r:.300}: {problem}")


# ---- generators -------------------------------------------------------------------------------
def random_word(rng: random.Random) -> int:
    cls = rng.choice(isa.INSTRUCTIONS)
    values = {}
    for fld in isa.HEADER[1:] + cls.fields:
        if rng.random() < 0.6:
            values[fld.name] = rng.randint(fld.min, fld.max)
    return isa.encode(cls.mnemonic, **values)


def valid_listing(rng: random.Random) -> str:
    words = [random_word(rng) for _ in range(rng.randint(1, 6))]
    lines = disassemble(words).splitlines()
    if rng.random() < 0.2:      # a continuation line
        i = rng.randrange(len(lines))
        head, sep, tail = lines[i].partition(" ")
        if sep:
            lines[i] = f"{head} \\\n    {tail}"
    if rng.random() < 0.3:
        lines.insert(rng.randrange(len(lines) + 1), "# a comment: Q·Kᵀ, ５ — anything goes")
    return "\n".join(lines) + "\n"


def number_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every value after `=` that starts with a digit."""
    spans, i = [], 0
    while (i := text.find("=", i) + 1) > 0:
        end = i
        while end < len(text) and not text[end].isspace():
            end += 1
        if text[i:i + 1].isdigit():
            spans.append((i, end))
    return spans


def bad_listing(rng: random.Random) -> tuple[str, bytes]:
    """(kind, file bytes) of a listing that must not assemble."""
    text = valid_listing(rng)
    spans = number_spans(text)
    kind = rng.choice(["unicode-digit", "huge-number", "not-utf8", "bad-semaphore", "mnemonic",
                       "field", "twice", "empty", "control", "sem-unicode"])
    if kind == "unicode-digit" and spans:
        start, end = rng.choice(spans)
        pos = rng.randrange(start, end)
        digit = rng.choice(UNICODE_DIGITS)
        text = text[:pos] + digit + text[pos + 1:]
    elif kind == "huge-number" and spans:
        start, end = rng.choice(spans)
        text = text[:start] + rng.choice(HUGE_NUMBERS) + text[end:]
    elif kind == "not-utf8":
        data = bytearray(text.encode())
        data.insert(rng.randrange(len(data) + 1), rng.choice([0x80, 0xC3, 0xFF, 0xFE, 0xED]))
        if rng.random() < 0.5:
            data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        return kind, bytes(data)
    elif kind == "bad-semaphore":
        text += rng.choice(["nop wait=s16\n", "halt wait=s²\n", "sync signal=s0,x1\n",
                            "nop wait=s" + "9" * 5000 + "\n", "nop signal=s-1\n",
                            "nop wait=s１\n", "nop wait=\n"])
    elif kind == "sem-unicode":
        text += f"nop wait=s{rng.choice(UNICODE_DIGITS)}\n"
    elif kind == "mnemonic":
        text += rng.choice(["frobnicate\n", "ſync\n", "HALT\u200b\n", "mat mul\n", "=\n"])
    elif kind == "field":
        text += rng.choice(["matmul bogus=1\n", "vector op=EXP3\n", "dma_load spad_addr\n",
                            "matmul rows=8192\n", "vector scalar=-2147483649\n",
                            "matmul rows=1.5\n", "matmul rows=007\n", "matmul rows=0x\n"])
    elif kind == "twice":
        text += "matmul rows=1 rows=1\n"
    elif kind == "empty":
        text = rng.choice(["", "\n\n", "# only a comment\n", "   \\\n", "; nothing\n"])
    else:       # control characters inside an instruction
        text += "halt" + rng.choice(CONTROL_CHARACTERS) + "nop\n"
    if kind in ("unicode-digit", "huge-number") and not spans:
        text += "matmul rows=" + (rng.choice(UNICODE_DIGITS) if kind == "unicode-digit"
                                  else rng.choice(HUGE_NUMBERS)) + "\n"
    return kind, text.encode("utf-8")


def mutated(rng: random.Random, data: bytes) -> bytes:
    """A few random byte edits; the result may or may not still be valid."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        pos = rng.randrange(len(out) + 1)
        if op == 0:
            out.insert(pos, rng.randrange(256))
        elif op == 1 and out:
            del out[min(pos, len(out) - 1)]
        elif op == 2 and out:
            out[min(pos, len(out) - 1)] = rng.randrange(256)
        else:
            out[pos:pos] = out[pos:pos + rng.randint(1, 16)]
    return bytes(out)


def bad_image(rng: random.Random) -> tuple[str, bytes]:
    """(kind, image bytes) that must not disassemble."""
    words = [random_word(rng) for _ in range(rng.randint(1, 4))]
    image = bytearray(isa.to_bytes(words))
    kind = rng.choice(["length", "opcode", "reserved", "random-ragged"])
    i = rng.randrange(len(words))
    if kind == "length":
        image += bytes(rng.randint(1, isa.INSN_BYTES - 1))
    elif kind == "opcode":
        image[i * isa.INSN_BYTES] = (image[i * isa.INSN_BYTES] & 0xF0) | rng.randint(7, 15)
    elif kind == "reserved":
        cls = isa.BY_MNEMONIC[isa.decode(words[i])[0]]
        bit = rng.randrange(cls.used_bits, isa.INSN_BITS)
        image[i * isa.INSN_BYTES + bit // 8] |= 1 << bit % 8
    else:
        image = bytearray(rng.randbytes(rng.randrange(1, 200) * isa.INSN_BYTES
                                        + rng.randint(1, isa.INSN_BYTES - 1)))
    return kind, bytes(image)


BASE_ATTENTION = {"--seq-len": "8", "--head-dim": "16", "--strategy": "mas", "--config": "tiny"}
INT_OPTIONS = ("--seq-len", "--seq-len-kv", "--head-dim", "--heads", "--batch")
FLOAT_OPTIONS = ("--s-q", "--s-k", "--s-v", "--s-o")
BAD_INTS = ["", " ", "abc", "1.5", "1e3", "0", "-3", "9" * 5000, "99999999999999999999",
            "0x", "--", "1_", "+"] + [d + d for d in UNICODE_DIGITS[:12]]
FINITE_EXTREMES = ["1e300", "1e-300", "1e-320"]    # positive, finite, unrepresentable
BAD_FLOATS = ["nan", "inf", "-inf", "-1", "0", "", "abc", "1e999", "１", "٣", "0x10",
              "--", *FINITE_EXTREMES]


def bad_attention(rng: random.Random, out_dir: Path, existing_file: Path) -> tuple[str, list]:
    """(kind, argv) of an attention command line that must fail before any long build."""
    opts = dict(BASE_ATTENTION)
    extra: list[str] = []
    kind = rng.choice(["int", "float", "strategy", "config", "out", "unknown", "missing",
                       "tiling", "range", "dram"])
    if kind == "int":
        opts[rng.choice(INT_OPTIONS)] = rng.choice(BAD_INTS)
    elif kind == "float":
        flag, value = rng.choice(FLOAT_OPTIONS), rng.choice(BAD_FLOATS)
        if flag == "--s-v" and value in FINITE_EXTREMES:
            flag = "--s-k"      # alone, s_v only sets s_v / s_o (= 1): any positive value works
        opts[flag] = value
    elif kind == "strategy":
        opts["--strategy"] = rng.choice(["", "bogus", "MAS", "ｍａｓ", "mas\n", "flat,mas"])
    elif kind == "config":
        opts["--config"] = rng.choice(["", "bogus", "TINY", "tiny ", "ｔｉｎｙ", "../tiny"])
    elif kind == "out":
        opts["--out"] = rng.choice(["", " ", str(existing_file),
                                    str(existing_file / "under-a-file")])
    elif kind == "unknown":
        extra = rng.choice([["--bogus"], ["stray"], ["--heads"], ["--causal=1"], ["-x", "1"]])
    elif kind == "missing":
        del opts[rng.choice(list(BASE_ATTENTION))]
    elif kind == "tiling":
        extra = rng.choice([["--block-rows", "4"], ["--chunk-keys", "4"], ["--in-place"],
                            ["--block-rows", "0", "--chunk-keys", "4"],
                            ["--block-rows", "4", "--chunk-keys", "6"],
                            ["--block-rows", "4", "--chunk-keys", "-4"],
                            ["--block-rows", "100000", "--chunk-keys", "4"]])
    elif kind == "range":
        opts.update(rng.choice([{"--seq-len": "4097"}, {"--seq-len-kv": "5000"},
                                {"--head-dim": "8"}, {"--head-dim": "129"},
                                {"--heads": "0"}, {"--batch": "-1"}]))
    else:       # the tensors alone overflow the 16 MiB DRAM: refused before any search
        opts.update(rng.choice([{"--heads": str(10 ** rng.randint(6, 18))},
                                {"--seq-len": "4096", "--head-dim": "128", "--heads": "16",
                                 "--config": "default"},
                                {"--seq-len": "4096", "--strategy": "layerwise",
                                 "--head-dim": "64", "--config": "default"}]))
    opts.setdefault("--out", str(out_dir))
    argv = ["attention"]
    for flag, value in opts.items():
        argv += [flag, value]
    return kind, argv + extra


# ---- the test ---------------------------------------------------------------------------------
def test_bad_input_never_gives_a_traceback(tmp_path):
    rng = random.Random(SEED)
    start = time.perf_counter()
    tallies = {"asm": Tally(), "dis": Tally(), "attention": Tally()}
    src, dst, img = tmp_path / "in.s", tmp_path / "out.bin", tmp_path / "in.bin"
    listing_out = tmp_path / "out.s"

    def reassembles(words: list[int]):
        """After a mutated listing assembled: its image disassembles and reassembles."""
        def accepted() -> str:
            got = isa.from_bytes(dst.read_bytes())
            return "" if assemble(disassemble(got)) == got else "no exact round trip"
        return accepted

    def redisassembles():
        def accepted() -> str:
            words = isa.from_bytes(img.read_bytes())
            again = assemble(listing_out.read_text())
            return "" if again == words else "disassembly does not assemble back"
        return accepted

    asm = tallies["asm"]
    for n in range(ASM_CASES):
        dst.unlink(missing_ok=True)
        if n % 3 == 0:
            kind, data = "mutated", mutated(rng, valid_listing(rng).encode())
            must_fail = False
        elif n % 3 == 1:
            kind, data = bad_listing(rng)
            must_fail = True
        else:
            kind, data = "random-bytes", rng.randbytes(rng.randint(0, 300))
            must_fail = not data.strip() or b"\xff" in data
        src.write_bytes(data)
        check(asm, f"asm {kind}", ["asm", str(src), "-o", str(dst)], must_fail,
              reassembles([]))
        if must_fail and dst.exists():
            asm.failures.append(f"asm {kind}: output written for a bad input")
    for argv in (["asm", ""], ["asm", str(tmp_path / "missing.s")], ["asm", str(tmp_path)],
                 ["asm", str(src), "-o", ""], ["asm", str(tmp_path / "new\nline.s")],
                 ["asm", str(img)], ["asm"], ["asm", str(src), "-o", str(tmp_path)]):
        src.write_text("halt\n")
        img.write_bytes(isa.to_bytes([isa.encode("HALT")]))
        check(asm, "asm path", argv, must_fail=True)

    dis = tallies["dis"]
    for n in range(DIS_CASES):
        if n % 2:
            kind, data = bad_image(rng)
            must_fail = True
        else:
            kind = "mutated"
            data = mutated(rng, isa.to_bytes([random_word(rng) for _ in range(3)]))
            must_fail = len(data) % isa.INSN_BYTES != 0
        img.write_bytes(data)
        check(dis, f"dis {kind}", ["dis", str(img), "-o", str(listing_out)], must_fail,
              redisassembles())
    for argv in (["dis", ""], ["dis", str(tmp_path / "missing.bin")], ["dis", str(tmp_path)],
                 ["dis", str(img), "-o", ""], ["dis", str(img), "-o", str(tmp_path)],
                 ["dis", str(img), "--bogus"]):
        img.write_bytes(isa.to_bytes([isa.encode("HALT")]))
        check(dis, "dis path", argv, must_fail=True)

    att = tallies["attention"]
    existing = tmp_path / "a-file"
    existing.write_text("not a directory\n")
    for n in range(ATTENTION_CASES):
        out_dir = tmp_path / f"att{n}"
        kind, argv = bad_attention(rng, out_dir, existing)
        check(att, f"attention {kind}", argv, must_fail=True)
        if out_dir.exists():
            att.failures.append(f"attention {kind}: {argv!r:.200}: left {out_dir}")
    assert existing.read_text() == "not a directory\n"

    elapsed = time.perf_counter() - start
    tried = sum(t.tried for t in tallies.values())
    tracebacks = [tb for t in tallies.values() for tb in t.tracebacks]
    failures = [f for t in tallies.values() for f in t.failures]
    print(f"\nbad-input fuzz (seed {SEED}): {tried} inputs ("
          + ", ".join(f"{name} {t.tried}, {t.accepted} of them valid"
                      for name, t in tallies.items())
          + f") in {elapsed:.1f} s: {len(tracebacks)} tracebacks, {len(failures)} other "
          "failures")
    assert not tracebacks, f"{len(tracebacks)} tracebacks, the first:\n{tracebacks[0]}"
    assert not failures, f"{len(failures)} bad outcomes:\n" + "\n".join(failures[:20])
    # the fuzz must have exercised the bad path, and mutations must sometimes stay valid
    assert asm.tried - asm.accepted >= ASM_CASES // 2 and asm.accepted > 0
    assert dis.tried - dis.accepted >= DIS_CASES // 2 and dis.accepted > 0
    assert elapsed < TIME_LIMIT_S


def test_valid_programs_round_trip_through_the_command_line(tmp_path):
    rng = random.Random(SEED + 1)
    src, image, listing = tmp_path / "p.s", tmp_path / "p.bin", tmp_path / "back.s"
    for _ in range(200):
        text = valid_listing(rng)
        src.write_text(text)
        assert call(["asm", str(src), "-o", str(image)])[0] == 0
        assert call(["dis", str(image), "-o", str(listing)])[0] == 0
        assert isa.from_bytes(image.read_bytes()) == assemble(text)
        assert assemble(listing.read_text()) == assemble(text)
    # without -o, the image lands beside the source with the .bin suffix
    src.write_text("nop wait=s3 # ５ in a comment is fine\nhalt\n")
    assert call(["asm", str(src)])[0] == 0
    assert isa.from_bytes(image.read_bytes()) == assemble(src.read_text())


@pytest.mark.parametrize("args, data, message", [
    (["asm", "{f}"], "matmul rows=１２\nhalt\n".encode(), "U+FF11"),
    (["asm", "{f}"], b"halt\n\xff\xfe\n", "{f}:2: column 1: byte 0xff is not UTF-8"),
    (["asm", "{f}"], ("matmul rows=" + "9" * 5000 + "\n").encode(), "<a 16607-bit number>"),
    (["dis", "{f}"], bytes(33), "not a multiple of 32"),
    (["attention", "--seq-len", "8", "--head-dim", "16", "--strategy", "mas", "--config",
      "tiny", "--s-k", "1e300", "--out", "{d}"], None, "too large"),
    (["attention", "--seq-len", "8", "--head-dim", "16", "--strategy", "mas", "--config",
      "tiny", "--out", ""], None, "--out '': empty path"),
], ids=["fullwidth", "not-utf8", "huge", "ragged-image", "scale", "empty-out"])
def test_the_shell_sees_a_nonzero_exit_and_one_line(tmp_path, args, data, message):
    """The real entry point (`python -m firmware_gen`), as a user runs it."""
    path = tmp_path / "input"
    if data is not None:
        path.write_bytes(data)
    argv = [a.format(f=path, d=tmp_path / "out") for a in args]
    result = subprocess.run([sys.executable, "-m", "firmware_gen", *argv],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message.format(f=path) in result.stderr
    assert not (tmp_path / "out").exists()
