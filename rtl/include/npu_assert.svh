// Assertion macros (lowRISC / OpenTitan prim_assert.sv style): one line per assertion, with a
// name and a message.
//
//   `NPU_ASSERT(Name_A, prop, "message")        concurrent, @(posedge clk_i),
//                                                disable iff (!rst_ni)
//   `NPU_ASSERT_CLK(Name_A, prop, "message", clk, rst_n)   the same on another clock / reset
//   `NPU_ASSERT_KNOWN(Name_A, sig, "message")   !$isunknown(sig) (4-state simulators; always
//                                                true in Verilator, which is 2-state)
//   `NPU_ASSERT_INIT(Name_A, expr, "message")   immediate, once at time 0 (parameter checks)
//
// Every failure prints "[NPU ASSERT] <name> (<message>)" through $error (Verilator adds the
// file, line and the instance path of the assertion);
// tb/harness/sim.py looks for "[NPU ASSERT]" in the simulation log and fails the test with that
// line. Verilator checks them with --assert (every simulation and lint build of the project).
//
// Use them in one `ifndef SYNTHESIS ... `endif block at the end of a module, which also holds
// the `include of this file and any assertion-only signals: Yosys' read_verilog defines
// SYNTHESIS, so synthesis never sees them, and every line before the block keeps its number
// (Yosys names cells after source lines, and its mapping result follows those names). Under
// SYNTHESIS the macros expand to nothing as a second guard.
`ifndef NPU_ASSERT_SVH
`define NPU_ASSERT_SVH

`ifndef SYNTHESIS

// Lint counts `disable iff (!rst_ni)` as a synchronous use of the asynchronous reset
// (SYNCASYNCNET on every rst_ni); an assertion only samples it, so the waiver sits here,
// around the assertion alone.
`define NPU_ASSERT_CLK(Name, Prop, Msg, Clk, RstN)                                    \
  /* verilator lint_off SYNCASYNCNET */                                               \
  Name: assert property (@(posedge Clk) disable iff (!(RstN)) (Prop))                 \
    else $error("[NPU ASSERT] %s (%s)", `"Name`", Msg);                               \
  /* verilator lint_on SYNCASYNCNET */

`define NPU_ASSERT(Name, Prop, Msg) `NPU_ASSERT_CLK(Name, Prop, Msg, clk_i, rst_ni)

`define NPU_ASSERT_KNOWN(Name, Sig, Msg) `NPU_ASSERT(Name, !$isunknown(Sig), Msg)

`define NPU_ASSERT_INIT(Name, Expr, Msg)                                              \
  initial begin : Name                                                                \
    assert (Expr) else $error("[NPU ASSERT] %s (%s)", `"Name`", Msg);                 \
  end

// The engine contract (docs/architecture.md "Engine contract", `NPU_ENGINE_PORTS), checked
// inside an engine on its own ports: an offered instruction is held unchanged until taken; at
// most Max instructions in flight (taken, not yet retired; Max = 1 for every engine but the
// matrix engine with hwdef matmul_inflight = 2); exactly one done_o or err_o (never both)
// retires the oldest; busy_o from the cycle after the first handshake until the last retiring
// pulse (which may fall in the first idle cycle); stall_o only while busy; err_o carries an
// error code.
`define NPU_ASSERT_ENGINE_CONTRACT_N(Max)                                              \
  logic [1:0] sva_insn_q;  /* accepted instructions not yet retired by done_o / err_o */ \
  always_ff @(posedge clk_i or negedge rst_ni) begin                                  \
    if (!rst_ni) begin                                                                \
      sva_insn_q <= '0;                                                               \
    end else begin                                                                    \
      sva_insn_q <= sva_insn_q + 2'(insn_valid_i && insn_ready_o) - 2'(done_o || err_o); \
    end                                                                               \
  end                                                                                 \
  `NPU_ASSERT(EngInsnHeld_A, insn_valid_i && !insn_ready_o |=> insn_valid_i,          \
              "instruction withdrawn before the engine took it")                     \
  `NPU_ASSERT(EngInsnStable_A, insn_valid_i && !insn_ready_o |=> $stable(insn_i),     \
              "instruction changed before the engine took it")                       \
  `NPU_ASSERT(EngDoneErrExcl_A, !(done_o && err_o), "done_o and err_o together")      \
  `NPU_ASSERT(EngRetireOnce_A, done_o || err_o |-> sva_insn_q != '0,                  \
              "done_o / err_o without an instruction to retire")                     \
  `NPU_ASSERT(EngAtMostMax_A, insn_valid_i && insn_ready_o |->                        \
              32'(sva_insn_q) < (Max) || done_o || err_o,                             \
              "an instruction taken beyond the engine's instructions in flight")     \
  `NPU_ASSERT(EngBusyWithInsn_A, busy_o |-> sva_insn_q != '0, "busy_o without an instruction") \
  `NPU_ASSERT(EngBusyUntilRetired_A, sva_insn_q != '0 && !busy_o |-> done_o || err_o, \
              "idle before the instruction retired")                                 \
  `NPU_ASSERT(EngStallBusy_A, stall_o |-> busy_o, "stall_o while not busy")            \
  `NPU_ASSERT(EngErrCode_A, err_o |-> err_code_o != 8'(npu_isa_pkg::ErrNone),         \
              "err_o with error code ErrNone")

`define NPU_ASSERT_ENGINE_CONTRACT `NPU_ASSERT_ENGINE_CONTRACT_N(1)

`else

`define NPU_ASSERT_ENGINE_CONTRACT
`define NPU_ASSERT_ENGINE_CONTRACT_N(Max)
`define NPU_ASSERT_CLK(Name, Prop, Msg, Clk, RstN)
`define NPU_ASSERT(Name, Prop, Msg)
`define NPU_ASSERT_KNOWN(Name, Sig, Msg)
`define NPU_ASSERT_INIT(Name, Expr, Msg)

`endif

`endif  // NPU_ASSERT_SVH
