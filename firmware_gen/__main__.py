"""Command line of firmware_gen.

    python -m firmware_gen asm prog.s -o prog.bin     # assemble
    python -m firmware_gen dis prog.bin               # disassemble to stdout (or -o file)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from firmware_gen.asm import AsmError, assemble, disassemble, read_image, write_image
from hwdef import isa


def _cmd_asm(args) -> int:
    words = assemble(Path(args.source).read_text(), source=args.source)
    out = Path(args.output or Path(args.source).with_suffix(".bin"))
    write_image(words, out)
    print(f"{args.source}: {len(words)} instructions, {len(words) * isa.INSN_BYTES} bytes "
          f"-> {out}")
    return 0


def _cmd_dis(args) -> int:
    text = disassemble(read_image(args.image), addresses=args.addresses)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m firmware_gen",
                                     description="Build, assemble and disassemble NPU programs")
    sub = parser.add_subparsers(dest="command", required=True)
    p_asm = sub.add_parser("asm", help="assemble a text program into a binary image")
    p_asm.add_argument("source")
    p_asm.add_argument("-o", "--output")
    p_asm.set_defaults(func=_cmd_asm)
    p_dis = sub.add_parser("dis", help="disassemble a binary image")
    p_dis.add_argument("image")
    p_dis.add_argument("-o", "--output")
    p_dis.add_argument("--addresses", action="store_true", help="annotate byte offsets")
    p_dis.set_defaults(func=_cmd_dis)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (AsmError, isa.IsaError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
