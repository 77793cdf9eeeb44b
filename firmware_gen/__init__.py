"""firmware_gen: builds NPU programs (microcode) and converts them between text and binary.

* `Program`: a Python API to build a program instruction by instruction.
* `assemble` / `disassemble`: text <-> list of 256-bit words, exact round trip.
* `python -m firmware_gen`: the command line (asm, dis, ...).

The instruction set itself is defined in hwdef/isa.py.
"""

from firmware_gen.asm import AsmError, assemble, disassemble, read_image, write_image
from firmware_gen.program import Program

__all__ = ["AsmError", "Program", "assemble", "disassemble", "read_image", "write_image"]
