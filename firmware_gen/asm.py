"""Assembler and disassembler for the NPU's instruction set (hwdef/isa.py).

Text format, one instruction per line:

    # comment (also ';')
    dma_load dram_addr=0x1000 dram_stride=64 rows=4 row_bytes=64 spad_addr=0 spad_pitch=1 \
             pad_rows=4 pad_bytes=64 signal=s0
    matmul wait=s0 a_addr=0 ... signal=s1
    halt

Fields left out are zero; `wait=`/`signal=` take semaphore lists (s0,s3). Enumerated fields take
names (op=EXP2, sat=UINT8, b_mode=ROW, a_type=INT8, target_queue=VECTOR) or numbers. A trailing
backslash continues a line.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hwdef import isa


class AsmError(ValueError):
    """A malformed program; the message starts with the source name and line number."""

    def __init__(self, source: str, line: int, message: str):
        super().__init__(f"{source}:{line}: {message}")
        self.source, self.line, self.detail = source, line, message


def _logical_lines(text: str):
    """Yield (first line number, text) with comments stripped and continuations joined."""
    pending, start = "", 0
    # Lines end at "\n" only (as editors count them): splitlines() would also break at form
    # feeds, separators and U+2028, and the line numbers in messages would not match.
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.removesuffix("\r")
        line = raw.split("#", 1)[0].split(";", 1)[0].rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            yield start, full
    if pending.strip():
        yield start, pending.strip()


def assemble(text: str, source: str = "<text>") -> list[int]:
    words = []
    for number, line in _logical_lines(text):
        try:
            words.append(isa.parse_insn(line))
        except isa.IsaError as exc:
            raise AsmError(source, number, str(exc)) from None
    if not words:
        raise AsmError(source, 1, "program has no instruction")
    return words


def disassemble(words: list[int], addresses: bool = False, base: int = 0,
                notes: list[str] | None = None, raw: bool = False) -> str:
    """One instruction per line, always assembler input: the address (`base` + byte offset,
    with *addresses*) and the instruction's note (*notes*) follow as a comment. A word that
    does not decode is an error, or with *raw* a `.word` line (deliberately illegal tests)."""
    lines = []
    for index, word in enumerate(words):
        try:
            text = isa.format_insn(word)
        except isa.IsaError as exc:
            if raw:
                text = isa.format_raw(word)
            else:
                raise isa.IsaError(f"instruction {index} (byte offset {index * isa.INSN_BYTES}): "
                                   f"{exc}") from None
        note = notes[index] if notes and index < len(notes) else ""
        if addresses:
            text = f"{text:<100} # {base + index * isa.INSN_BYTES:#06x}"
            text += f"  {note}" if note else ""
        elif note:
            text = f"{text}    # {note}"
        lines.append(text)
    return "\n".join(lines) + "\n"


def read_source(path: str | Path) -> str:
    """The text of an assembler source file (UTF-8, a byte-order mark allowed)."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise AsmError(str(path), line, f"column {column}: byte 0x{data[exc.start]:02x} is not "
                       "UTF-8 text (is this a binary image? `dis` reads those)") from None


def read_image(path: str | Path) -> list[int]:
    return isa.from_bytes(Path(path).read_bytes())


def write_image(words: list[int], path: str | Path) -> None:
    write_atomically(path, isa.to_bytes(words))


def write_atomically(path: str | Path, data: bytes | str) -> None:
    """Write *path* through a temporary file beside it, renamed into place: a failed or
    interrupted write leaves the old file (or none), never a truncated one."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(payload)
        # the temporary file is private (0600); the output gets the usual permissions
        os.chmod(handle.name, 0o666 & ~current_umask())
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
