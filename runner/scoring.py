"""What a run's error is scored on against the model's, one rule for both RTL paths (the
cocotb scoreboard, tb/top/env.py, and the pure-Verilator backend, runner/verilator.py): the
same error code first, then the same ERROR_PC, then the same ERROR_INFO."""

from __future__ import annotations


def error_mismatch(want: str, want_pc: int, want_info: int, got: str | None, got_pc: int,
                   got_info: int) -> str | None:
    """The first difference of an RTL error (*got*: its code's name, None for none) from the
    model's *want*, in one line; None when code, pc and info all agree."""
    if got != want:
        return (f"expected {want} (pc 0x{want_pc:x}, info 0x{want_info:x}), got "
                f"{got or 'no error'}")
    if got_pc != want_pc:
        return f"expected error pc 0x{want_pc:x}, got 0x{got_pc:x}"
    if got_info != want_info:
        return f"expected error info 0x{want_info:x} ({want}), got 0x{got_info:x}"
    return None
