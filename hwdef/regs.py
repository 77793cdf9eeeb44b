"""Control registers (AXI4-Lite) and error codes of the NPU top level, defined once.

`hwdef.gen_isa` writes them into rtl/pkg/npu_isa_pkg.sv and docs/isa.md; the host agent of the
test bench and firmware_gen read them from here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hwdef.isa import INSN_BYTES

REG_BYTES = 4


class ErrorCode(enum.IntEnum):
    """STATUS.error_code: why the NPU stopped. 0 means no error."""

    NONE = 0
    ILLEGAL_OPCODE = 1  # opcode not in the ISA, or nonzero reserved bits
    BAD_FIELD = 2  # a field value the unit cannot execute (zero rows, pad_rows < rows...)
    SPAD_RANGE = 3  # a scratchpad operand extends beyond the scratchpad
    ACC_RANGE = 4  # accumulator rows beyond the matrix unit's accumulators
    DRAM_RANGE = 5  # a DRAM access (program fetch or DMA) outside the configured window
    DEADLOCK = 6  # watchdog: queues wait and nothing progressed for WATCHDOG cycles
    OW_VIOLATION = 7  # strict mode: a write into a scratchpad region with pending reads
    SEM_OVERFLOW = 8  # a signal would overflow a semaphore
    AXI_ERROR = 9  # DRAM answered SLVERR / DECERR
    BAD_RELEASE = 10  # a last-use release of a region nobody locked (strict mode only)
    OPERAND_OVERLAP = 11  # the scratchpad lines an instruction writes overlap one it reads
    PROG_ALIGN = 12  # START with a PROG_BASE that is not a multiple of the instruction size


# What each error means and what ERROR_INFO then holds (docs/isa.md, error-code table).
ERROR_DOCS: dict[ErrorCode, str] = {
    ErrorCode.NONE: "no error",
    ErrorCode.ILLEGAL_OPCODE: "opcode not in the ISA, or nonzero reserved bits; info: the opcode",
    ErrorCode.BAD_FIELD: "a field value the unit cannot execute (zero rows, pad_rows < rows, "
                         "a reserved enumeration value...); info: that field's value",
    ErrorCode.SPAD_RANGE: "a scratchpad operand extends beyond the scratchpad; info: the "
                          "highest line it would touch",
    ErrorCode.ACC_RANGE: "MATMUL accumulator rows beyond the matrix unit's accumulators; info: "
                         "acc_addr + n_tiles*rows",
    ErrorCode.DRAM_RANGE: "a DRAM access outside the configured window; DMA: info the first "
                          "(below the window) or last (past it) byte address; program fetch: "
                          "the instruction's fetch burst (see PROG_BASE) leaves the window, "
                          "ERROR_PC and info the instruction's address",
    ErrorCode.DEADLOCK: "watchdog: queues wait and nothing progressed for WATCHDOG cycles; "
                        "info: see ERROR_INFO",
    ErrorCode.OW_VIOLATION: "strict mode: a write into a scratchpad region with pending reads; "
                            "info: the region",
    ErrorCode.SEM_OVERFLOW: "a signal would overflow a semaphore; info: the semaphore mask",
    ErrorCode.AXI_ERROR: "DRAM answered SLVERR / DECERR",
    ErrorCode.BAD_RELEASE: "a last-use release of a region nobody locked (strict mode only); "
                           "info: the region",
    ErrorCode.OPERAND_OVERLAP: "the scratchpad lines a MATMUL (with emit) or VECTOR writes "
                               "overlap the lines of one of its own read operands, other than "
                               "exact in-place element-wise VECTOR (see Operand aliasing); "
                               "checked after the range checks; info: dst_addr",
    ErrorCode.PROG_ALIGN: f"START with PROG_BASE not a multiple of the instruction size "
                          f"({INSN_BYTES} bytes): the NPU stops before fetching anything (queue 4 "
                          "dispatch/fetch, no instruction retired); ERROR_PC and info: "
                          "PROG_BASE",
}


@dataclass(frozen=True)
class Reg:
    name: str
    offset: int
    access: str  # "rw", "ro", "w1s" (write 1 to set / pulse)
    doc: str


_COUNTERS = [
    ("CYCLES", "cycles since START (stops when the NPU stops)"),
    ("INSN_RETIRED", "instructions completed (all classes, HALT included)"),
    ("DMA_IN_BUSY", "cycles the DMA-in unit executed an instruction"),
    ("DMA_OUT_BUSY", "cycles the DMA-out unit executed an instruction"),
    ("MATRIX_BUSY", "cycles the matrix unit executed an instruction"),
    ("VECTOR_BUSY", "cycles the vector unit executed an instruction"),
    ("DMA_IN_STALL", "busy cycles of DMA-in without progress (DRAM or scratchpad waits)"),
    ("DMA_OUT_STALL", "busy cycles of DMA-out without progress"),
    ("MATRIX_STALL", "busy cycles of the matrix unit without progress"),
    ("VECTOR_STALL", "busy cycles of the vector unit without progress"),
    ("DMA_IN_SEM_WAIT", "cycles the DMA-in queue head waited on semaphores"),
    ("DMA_OUT_SEM_WAIT", "cycles the DMA-out queue head waited on semaphores"),
    ("MATRIX_SEM_WAIT", "cycles the matrix queue head waited on semaphores"),
    ("VECTOR_SEM_WAIT", "cycles the vector queue head waited on semaphores"),
    ("MATRIX_VECTOR_OVERLAP", "cycles in which the matrix and vector units were both busy"),
    ("SPAD_READS", "scratchpad line reads"),
    ("SPAD_WRITES", "scratchpad line writes"),
    ("BANK_CONFLICTS", "scratchpad requests delayed by another port on the same bank"),
    ("OW_WAITS", "port-cycles a write waited for a region's pending reads (overwrite control)"),
    ("OW_VIOLATIONS", "strict-mode writes into regions with pending reads (dropped)"),
    ("DRAM_READ_BYTES", "bytes read from DRAM by DMA-in and fetch"),
    ("DRAM_WRITE_BYTES", "bytes written to DRAM by DMA-out"),
    ("VECTOR_FLAGS", "sticky OR of the vector unit's arithmetic flags (hwdef.params.VecFlag)"),
    ("QUEUE_FULL", "cycles the dispatcher held an instruction because its queue was full"),
]

REGISTERS: tuple[Reg, ...] = (
    Reg("CTRL", 0x00, "rw", "bit 0 START (write 1: start at PROG_BASE; reads 0), "
        "bit 1 STRICT (overwrite violations stop the NPU instead of waiting), "
        "bit 2 IRQ_EN (raise irq_o when done). Written while STATUS.BUSY, CTRL is ignored as "
        "a whole: START does not restart the program, STRICT and IRQ_EN keep the running "
        "program's values, DONE/ERROR and the interrupt are not cleared (after DONE or ERROR, "
        "wait for BUSY = 0 before the next START)"),
    Reg("STATUS", 0x04, "ro", "bit 0 BUSY, bit 1 DONE, bit 2 ERROR, bits 15:8 error code "
        "(ErrorCode), bits 18:16 queue of the error (0 DMA-in, 1 DMA-out, 2 matrix, 3 vector, "
        "4 dispatch/fetch). Reading does not clear; START clears DONE/ERROR and the counters"),
    Reg("PROG_BASE", 0x08, "rw", f"byte address of the first instruction: a multiple of "
        f"{INSN_BYTES} (any such address, DRAM line or fetch burst aligned or not); START with "
        "another value stops at once with PROG_ALIGN. Fetch reads whole bursts of "
        "fetch_burst_beats DRAM lines aligned to their size: an instruction whose burst is not "
        "entirely inside the DRAM window stops with DRAM_RANGE at its address"),
    Reg("DRAM_BASE", 0x0C, "rw", "first byte of the DRAM window the NPU may access"),
    Reg("DRAM_SIZE", 0x10, "rw", "size in bytes of the DRAM window (0: no access allowed)"),
    Reg("WATCHDOG", 0x14, "rw", "cycles without progress before a deadlock error (0: 65536)"),
    Reg("ERROR_PC", 0x18, "ro", "byte address of the instruction that caused the error"),
    Reg("ERROR_INFO", 0x1C, "ro", "deadlock: bits 15:0 the wait mask of the blocked queue "
        "head, bits 19:16 one-hot blocked queues (DMA-in, DMA-out, matrix, vector); "
        "other errors: the offending field value"),
    Reg("SEM_VALUES_LO", 0x20, "ro", "semaphores s0..s3, 8 bits each (debug)"),
    Reg("IRQ_STATUS", 0x24, "rw", "bit 0 DONE interrupt pending; write 1 to clear"),
) + tuple(Reg(name, 0x40 + REG_BYTES * index, "ro", doc)
          for index, (name, doc) in enumerate(_COUNTERS))

BY_NAME = {r.name: r for r in REGISTERS}
COUNTERS = tuple(name for name, _ in _COUNTERS)

CTRL_START = 1 << 0
CTRL_STRICT = 1 << 1
CTRL_IRQ_EN = 1 << 2
STATUS_BUSY = 1 << 0
STATUS_DONE = 1 << 1
STATUS_ERROR = 1 << 2


def status_fields(status: int) -> dict[str, int]:
    return {"busy": status & 1, "done": status >> 1 & 1, "error": status >> 2 & 1,
            "error_code": status >> 8 & 0xFF, "error_queue": status >> 16 & 0x7}
