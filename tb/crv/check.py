"""Scoring a random program's RTL outcome against the instruction-level model.

A program that finishes cleanly on the model must finish cleanly on the RTL with the same
retired-instruction count, DRAM write bytes and vector flags, and every byte of its DRAM data
area and of the area its epilogue stored the scratchpad into must be equal. A program that
stops with an error must stop with the same code, ERROR_PC and ERROR_INFO; its memory and
retired count are not compared (the queues that were not stopped may have run on). Where the
model cannot know the verdict (a deadlock, a semaphore overflow) the generator's prediction
replaces it; a semaphore overflow has no ERROR_PC (the dispatcher reports none: the signal that
overflows comes from a completing instruction, not the one at the head), so only its code and
ERROR_INFO (the semaphore mask) are compared. A program the generator calls legal that the
model stops is a failure too (the generator broke its own rules).
"""

from __future__ import annotations

import numpy as np

from runner.job import HANG, SIM_FAILED, Outcome
from tb.crv.generator import RandomProgram

_COUNTERS = ("INSN_RETIRED", "DRAM_WRITE_BYTES", "VECTOR_FLAGS")


def mismatches(prog: RandomProgram, rtl: Outcome, model: Outcome) -> list[str]:
    """Every way the RTL's outcome differs from the expected one (empty: it passed)."""
    if rtl.error == HANG:
        return [f"hang: no interrupt within {prog.job().timeout_cycles} cycles"]
    if rtl.error == SIM_FAILED:
        return [f"simulation failed: {rtl.message}"]
    if prog.kind == "none" and model.error is not None:    # the generator broke its own rules
        return [f"generator: a legal program ends with {model.error} at 0x{model.error_pc:x} "
                "on the model"]
    exp = prog.expected
    if exp is not None:
        want = (exp.code.name, exp.error_pc, exp.info)
    elif model.error is not None:
        want = (model.error, model.error_pc, model.error_info)
    else:
        want = None
    if want is not None:
        code, pc, info = want
        if rtl.error != code:
            return [f"error: RTL {rtl.error or 'none'} (pc 0x{rtl.error_pc:x}, info "
                    f"0x{rtl.error_info:x}), expected {code}"]
        problems = []
        if pc is not None and rtl.error_pc != pc:
            problems.append(f"{code}: ERROR_PC 0x{rtl.error_pc:x}, expected 0x{pc:x}")
        if rtl.error_info != info:
            problems.append(f"{code}: ERROR_INFO 0x{rtl.error_info:x}, expected 0x{info:x}")
        return problems
    if rtl.error is not None or not rtl.done:
        return [f"error: RTL {rtl.error or 'not done'} at pc 0x{rtl.error_pc:x} (info "
                f"0x{rtl.error_info:x}), expected a clean finish"]
    problems = [f"{name}: RTL {rtl.counters.get(name)}, model {model.counters[name]}"
                for name in _COUNTERS if rtl.counters.get(name) != model.counters[name]]
    for name, want_bytes in model.outputs.items():
        got = rtl.outputs.get(name)
        if got is None or got.shape != want_bytes.shape:
            problems.append(f"output {name}: not read back")
            continue
        bad = np.flatnonzero(got != want_bytes)
        if bad.size:
            base = prog.outputs[name][0]
            problems.append(f"output {name}: {bad.size} bytes differ, first at 0x{base + bad[0]:x} "
                            f"(RTL {got[bad[0]]}, model {want_bytes[bad[0]]})")
    return problems


def signature(problems: list[str]) -> str:
    """What kind of failure this is (a minimized program must fail the same way)."""
    if not problems:
        return ""
    first = problems[0]
    return first.split(":", 1)[0] + (":" + first.split()[2] if first.startswith("error") else "")
