// Dispatcher: decodes instruction words in program order, routes them into the four execution
// queues (DMA-in, DMA-out, matrix, vector), runs the counting semaphores that order the queues,
// executes NOP / SYNC / HALT itself, and stops the NPU with an error code on bad input or when
// the watchdog sees no progress (deadlock).
//
// Semaphore rule (docs/isa.md): a queue head starts when every semaphore of its wait_mask is
// non-zero; all of them are decremented in that cycle. Signals are applied when the engine
// reports done (SYNC: when it leaves the queue; SYNC also waits until its engine is idle, so it
// orders after every earlier instruction of its queue, like Ascend's set_flag).
//
// Instructions in flight: an engine holds one instruction at a time, except the matrix engine,
// which takes up to MatmulInflight (hwdef matmul_inflight); their signal masks and PCs wait in
// program order (head: the oldest), and the engine retires them in that order.
module npu_dispatch #(
  parameter int unsigned QueueDepth = npu_pkg::QueueDepth,
  parameter int unsigned MatmulInflight = npu_pkg::MatmulInflight,
  localparam int unsigned NumQueues = 4,
  localparam int unsigned InsnBits = npu_isa_pkg::InsnBits,
  localparam int unsigned NumSemaphores = npu_isa_pkg::NumSemaphores,
  localparam int unsigned SemBits = npu_isa_pkg::SemaphoreBits
) (
  input  logic                          clk_i,
  input  logic                          rst_ni,

  input  logic                          start_i,        // pulse: a program starts
  output logic                          running_o,      // from start until done or error
  input  logic [31:0]                   watchdog_limit_i,

  // Instruction words from fetch, in program order.
  input  logic                          insn_valid_i,
  output logic                          insn_ready_o,
  input  logic [InsnBits-1:0]           insn_i,
  input  logic [31:0]                   insn_pc_i,
  output logic                          halt_seen_o,    // HALT dispatched: fetch may stop
  input  logic                          fetch_err_i,
  input  logic [7:0]                    fetch_err_code_i,
  input  logic [31:0]                   fetch_err_pc_i,
  input  logic                          fetch_progress_i,

  // Engines, queue q at [q]: 0 DMA-in, 1 DMA-out, 2 matrix, 3 vector.
  output logic [NumQueues-1:0]          eng_valid_o,
  input  logic [NumQueues-1:0]          eng_ready_i,
  output logic [NumQueues*InsnBits-1:0] eng_insn_o,
  input  logic [NumQueues-1:0]          eng_done_i,
  input  logic [NumQueues-1:0]          eng_err_i,
  input  logic [NumQueues*8-1:0]        eng_err_code_i,
  input  logic [NumQueues*32-1:0]       eng_err_info_i,
  input  logic [NumQueues-1:0]          eng_busy_i,
  input  logic [NumQueues-1:0]          eng_stall_i,
  input  logic                          spad_err_i,      // strict mode: overwrite violation
  input  logic [7:0]                    spad_err_code_i, //   or release of an unlocked region
  input  logic [NumQueues-1:0]          spad_err_queue_i,
  input  logic [31:0]                   spad_err_info_i, //   region (ERROR_INFO)

  // Completion and error reporting.
  output logic                          done_o,         // pulse: HALT completed
  output logic                          error_o,        // pulse: stopped on an error
  output logic [7:0]                    error_code_o,
  output logic [2:0]                    error_queue_o,
  output logic [31:0]                   error_pc_o,
  output logic [31:0]                   error_info_o,

  // Observability.
  output logic [NumSemaphores*SemBits-1:0] sem_values_o,
  output logic [NumQueues-1:0]          sem_wait_o,     // queue head blocked on semaphores
  output logic                          queue_full_o,   // an instruction waits for queue room
  output logic [3:0]                    retired_o       // instructions retired this cycle
);
  localparam int unsigned OpcodeBits = npu_isa_pkg::OpcodeBits;
  localparam int unsigned EntryBits = InsnBits + 32;
  localparam logic [SemBits-1:0] SemMax = '1;

  typedef enum logic [1:0] {
    StIdle,
    StRun,
    StDrain   // HALT seen: wait for every queue and engine to empty
  } state_e;

  state_e state_q, state_d;

  // ---------------------------------------------------------------------------------------
  // Decode of the incoming word
  // ---------------------------------------------------------------------------------------
  logic [OpcodeBits-1:0]     in_opcode;
  logic [NumSemaphores-1:0]  in_wait, in_signal;
  logic                      in_legal;
  logic [1:0]                in_queue;     // destination queue of a queued class
  logic                      in_is_queued, in_is_nop, in_is_halt;

  assign in_opcode = insn_i[OpcodeBits-1:0];
  assign in_wait   = insn_i[OpcodeBits +: NumSemaphores];
  assign in_signal = insn_i[OpcodeBits + NumSemaphores +: NumSemaphores];

  function automatic logic reserved_clear(input logic [InsnBits-1:0] word,
                                          input int unsigned used);
    logic [InsnBits-1:0] mask;
    mask = {InsnBits{1'b1}} << used;
    reserved_clear = ~|(word & mask);
  endfunction

  always_comb begin
    in_legal     = 1'b0;
    in_queue     = 2'd0;
    in_is_queued = 1'b0;
    in_is_nop    = 1'b0;
    in_is_halt   = 1'b0;
    unique case (in_opcode)
      npu_isa_pkg::OpNop:      begin in_legal = reserved_clear(insn_i, npu_isa_pkg::NopUsedBits);  in_is_nop = 1'b1; end
      npu_isa_pkg::OpHalt:     begin in_legal = reserved_clear(insn_i, npu_isa_pkg::HaltUsedBits); in_is_halt = 1'b1; end
      npu_isa_pkg::OpSync: begin
        in_legal = reserved_clear(insn_i, npu_isa_pkg::SyncUsedBits);
        in_is_queued = 1'b1;
        in_queue = insn_i[OpcodeBits + 2*NumSemaphores +: 2];
      end
      npu_isa_pkg::OpDmaLoad:  begin in_legal = reserved_clear(insn_i, npu_isa_pkg::DmaLoadUsedBits);  in_is_queued = 1'b1; in_queue = 2'd0; end
      npu_isa_pkg::OpDmaStore: begin in_legal = reserved_clear(insn_i, npu_isa_pkg::DmaStoreUsedBits); in_is_queued = 1'b1; in_queue = 2'd1; end
      npu_isa_pkg::OpMatmul:   begin in_legal = reserved_clear(insn_i, npu_isa_pkg::MatmulUsedBits);   in_is_queued = 1'b1; in_queue = 2'd2; end
      npu_isa_pkg::OpVector:   begin in_legal = reserved_clear(insn_i, npu_isa_pkg::VectorUsedBits);   in_is_queued = 1'b1; in_queue = 2'd3; end
      default:    in_legal = 1'b0;
    endcase
  end

  // ---------------------------------------------------------------------------------------
  // Queues
  // ---------------------------------------------------------------------------------------
  logic [NumQueues-1:0]           q_in_valid, q_in_ready, q_out_valid, q_out_ready;
  logic [NumQueues*EntryBits-1:0] q_out_data;
  logic                           flush;

  assign flush = start_i;

  for (genvar q = 0; q < NumQueues; q++) begin : g_queue
    logic [$clog2(QueueDepth):0] unused_count;
    npu_fifo #(.Width(EntryBits), .Depth(QueueDepth)) u_queue (
      .clk_i,
      .rst_ni,
      .clear_i     (flush),
      .in_valid_i  (q_in_valid[q]),
      .in_ready_o  (q_in_ready[q]),
      .in_data_i   ({insn_pc_i, insn_i}),
      .out_valid_o (q_out_valid[q]),
      .out_ready_i (q_out_ready[q]),
      .out_data_o  (q_out_data[q*EntryBits +: EntryBits]),
      .count_o     (unused_count)
    );
  end

  // ---------------------------------------------------------------------------------------
  // Semaphores: which heads may start this cycle (fixed priority DMA-in, DMA-out, matrix,
  // vector, then a NOP at dispatch), and the resulting decrements/increments.
  // ---------------------------------------------------------------------------------------
  logic [SemBits-1:0]         sem_q [NumSemaphores];
  localparam int unsigned MatrixQueue = 32'(npu_isa_pkg::QueueMatrix);
  logic [NumQueues-1:0]       inflight_q;                     // engine runs an instruction of q
  logic [NumQueues-1:0]       inflight_room;                  // ... and may take another one
  logic [1:0]                 inflight_cnt_q [NumQueues];
  // The oldest instruction in flight (head) and the one after it (matrix queue only).
  logic [NumSemaphores-1:0]   inflight_signal_q [NumQueues];
  logic [31:0]                inflight_pc_q [NumQueues];
  logic [NumSemaphores-1:0]   inflight_signal2_q [NumQueues];
  logic [31:0]                inflight_pc2_q [NumQueues];

  for (genvar q = 0; q < NumQueues; q++) begin : g_inflight
    localparam int unsigned MaxInflight = (q == MatrixQueue) ? MatmulInflight : 1;
    assign inflight_q[q]    = inflight_cnt_q[q] != '0;
    assign inflight_room[q] = 32'(inflight_cnt_q[q]) < MaxInflight;
  end

  logic [NumQueues-1:0]       head_is_sync, head_start, head_blocked;
  logic [NumSemaphores-1:0]   head_wait [NumQueues];
  logic [NumSemaphores-1:0]   head_signal [NumQueues];
  logic [31:0]                head_pc [NumQueues];
  logic                       nop_start, nop_blocked;
  logic                       error_now;
  logic [NumSemaphores-1:0]   dec_mask;

  always_comb begin
    logic [NumSemaphores-1:0] taken;
    logic                     ok;
    taken = '0;
    for (int q = 0; q < NumQueues; q++) begin
      head_pc[q]      = q_out_data[q*EntryBits + InsnBits +: 32];
      head_is_sync[q] = q_out_data[q*EntryBits +: OpcodeBits] == npu_isa_pkg::OpSync;
      head_wait[q]    = q_out_data[q*EntryBits + OpcodeBits +: NumSemaphores];
      head_signal[q]  = q_out_data[q*EntryBits + OpcodeBits + NumSemaphores +: NumSemaphores];
      ok = 1'b1;
      for (int s = 0; s < NumSemaphores; s++) begin
        if (head_wait[q][s] && (sem_q[s] == '0 || taken[s])) ok = 1'b0;
      end
      head_blocked[q] = state_q != StIdle && q_out_valid[q] && !ok;
      // SYNC orders after everything earlier in its queue: the engine must be idle. (No
      // error gating here: an error stops the hand-over below and freezes the semaphores.)
      head_start[q] = state_q != StIdle && q_out_valid[q] && ok &&
                      (head_is_sync[q] ? (!inflight_q[q] && !eng_busy_i[q])
                                       : (eng_ready_i[q] && inflight_room[q]));
      if (head_start[q]) taken = taken | head_wait[q];
    end
    ok = 1'b1;
    for (int s = 0; s < NumSemaphores; s++) begin
      if (in_wait[s] && (sem_q[s] == '0 || taken[s])) ok = 1'b0;
    end
    nop_blocked = state_q == StRun && insn_valid_i && in_legal && in_is_nop && !ok;
    nop_start   = state_q == StRun && insn_valid_i && in_legal && in_is_nop && ok;
    if (nop_start) taken = taken | in_wait;
    dec_mask = taken;
  end

  for (genvar q = 0; q < NumQueues; q++) begin : g_engine_port
    assign eng_valid_o[q] = head_start[q] && !head_is_sync[q] && !error_now;
    assign eng_insn_o[q*InsnBits +: InsnBits] = q_out_data[q*EntryBits +: InsnBits];
    assign q_out_ready[q] = head_start[q] && !error_now;
  end

  // Increments: engine completions, SYNCs leaving their queue, a NOP at dispatch.
  logic [3:0]         inc_count [NumSemaphores];
  logic               sem_overflow;
  logic [NumSemaphores-1:0] sem_overflow_mask;

  always_comb begin
    sem_overflow = 1'b0;
    sem_overflow_mask = '0;
    for (int s = 0; s < NumSemaphores; s++) begin
      inc_count[s] = '0;
      for (int q = 0; q < NumQueues; q++) begin
        if (eng_done_i[q] && inflight_q[q] && inflight_signal_q[q][s]) inc_count[s] += 4'd1;
        if (head_start[q] && head_is_sync[q] && head_signal[q][s])      inc_count[s] += 4'd1;
      end
      if (nop_start && in_signal[s]) inc_count[s] += 4'd1;
      if ({1'b0, sem_q[s]} + {{(SemBits-3){1'b0}}, inc_count[s]} >
          {1'b0, SemMax} + {{SemBits{1'b0}}, dec_mask[s]}) begin
        sem_overflow = 1'b1;
        sem_overflow_mask[s] = 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int s = 0; s < NumSemaphores; s++) sem_q[s] <= '0;
    end else if (start_i) begin
      for (int s = 0; s < NumSemaphores; s++) sem_q[s] <= '0;
    end else if (!error_now) begin
      for (int s = 0; s < NumSemaphores; s++) begin
        sem_q[s] <= sem_q[s] - SemBits'(dec_mask[s]) + SemBits'(inc_count[s]);
      end
    end
  end

  for (genvar s = 0; s < NumSemaphores; s++) begin : g_sem_out
    assign sem_values_o[s*SemBits +: SemBits] = sem_q[s];
  end

  // In-flight bookkeeping per engine: push on hand-over, pop the head on done / error.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int q = 0; q < NumQueues; q++) begin
        inflight_cnt_q[q]     <= '0;
        inflight_signal_q[q]  <= '0;
        inflight_pc_q[q]      <= '0;
        inflight_signal2_q[q] <= '0;
        inflight_pc2_q[q]     <= '0;
      end
    end else if (start_i) begin
      for (int q = 0; q < NumQueues; q++) inflight_cnt_q[q] <= '0;
    end else begin
      for (int q = 0; q < NumQueues; q++) begin
        logic push, pop;
        push = eng_valid_o[q];
        pop  = (eng_done_i[q] || eng_err_i[q]) && inflight_q[q];
        inflight_cnt_q[q] <= inflight_cnt_q[q] + 2'(push) - 2'(pop);
        if (pop) begin
          inflight_signal_q[q] <= inflight_signal2_q[q];
          inflight_pc_q[q]     <= inflight_pc2_q[q];
        end
        if (push) begin
          if (inflight_cnt_q[q] == 2'd0 || (pop && inflight_cnt_q[q] == 2'd1)) begin
            inflight_signal_q[q] <= head_signal[q];
            inflight_pc_q[q]     <= head_pc[q];
          end else begin
            inflight_signal2_q[q] <= head_signal[q];
            inflight_pc2_q[q]     <= head_pc[q];
          end
        end
      end
    end
  end

  // ---------------------------------------------------------------------------------------
  // Dispatch of the incoming word
  // ---------------------------------------------------------------------------------------
  logic all_idle;
  assign all_idle = !(|q_out_valid) && !(|inflight_q) && !(|eng_busy_i);

  always_comb begin
    q_in_valid = '0;
    insn_ready_o = 1'b0;
    if (state_q == StRun && !error_now && insn_valid_i && in_legal) begin
      if (in_is_queued) begin
        q_in_valid[in_queue] = 1'b1;
        insn_ready_o = q_in_ready[in_queue];
      end else if (in_is_nop) begin
        insn_ready_o = nop_start;
      end else begin
        insn_ready_o = 1'b1;   // HALT: accepted, then drain
      end
    end
  end

  assign halt_seen_o = state_q == StDrain;
  // Back-pressure from a full engine queue (the QUEUE_FULL counter).
  assign queue_full_o = |q_in_valid && !insn_ready_o;

  // ---------------------------------------------------------------------------------------
  // Errors (the first one wins) and the watchdog
  // ---------------------------------------------------------------------------------------
  logic [31:0] watchdog_q;
  logic        progress, deadlock;
  logic [7:0]  err_code;
  logic [2:0]  err_queue;
  logic [31:0] err_pc, err_info;

  assign progress = fetch_progress_i || (|(eng_busy_i & ~eng_stall_i)) || (|head_start) ||
                    nop_start || (|eng_done_i) || (insn_valid_i && insn_ready_o);
  assign deadlock = state_q != StIdle && watchdog_q >= watchdog_limit_i;

  always_comb begin
    error_now = 1'b0;
    err_code  = npu_isa_pkg::ErrNone;
    err_queue = 3'd4;
    err_pc    = '0;
    err_info  = '0;
    if (state_q != StIdle) begin
      if (fetch_err_i) begin
        error_now = 1'b1;
        err_code  = fetch_err_code_i;
        err_pc    = fetch_err_pc_i;
        err_info  = fetch_err_pc_i;
      end else if (state_q == StRun && insn_valid_i && !in_legal) begin
        error_now = 1'b1;
        err_code  = npu_isa_pkg::ErrIllegalOpcode;
        err_pc    = insn_pc_i;
        err_info  = 32'(in_opcode);
      end else if (|eng_err_i) begin
        error_now = 1'b1;
        for (int q = NumQueues - 1; q >= 0; q--) begin
          if (eng_err_i[q]) begin
            err_code  = eng_err_code_i[q*8 +: 8];
            err_queue = 3'(q);
            err_pc    = inflight_pc_q[q];
            err_info  = eng_err_info_i[q*32 +: 32];
          end
        end
      end else if (spad_err_i) begin
        error_now = 1'b1;
        err_code  = spad_err_code_i;
        err_info  = spad_err_info_i;
        for (int q = NumQueues - 1; q >= 0; q--) begin
          if (spad_err_queue_i[q]) begin
            err_queue = 3'(q);
            err_pc    = inflight_pc_q[q];
          end
        end
      end else if (sem_overflow) begin
        error_now = 1'b1;
        err_code  = npu_isa_pkg::ErrSemOverflow;
        err_info  = 32'(sem_overflow_mask);
      end else if (deadlock) begin
        error_now = 1'b1;
        err_code  = npu_isa_pkg::ErrDeadlock;
        err_info  = {12'd0, head_blocked, 16'd0};
        for (int q = NumQueues - 1; q >= 0; q--) begin
          if (head_blocked[q]) begin
            err_info[15:0] = head_wait[q];
            err_queue      = 3'(q);
            err_pc         = head_pc[q];
          end
        end
        if (head_blocked == '0 && nop_blocked) begin
          err_info[15:0] = in_wait;
          err_pc         = insn_pc_i;
        end
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      watchdog_q <= '0;
    end else if (start_i || progress || state_q == StIdle) begin
      watchdog_q <= '0;
    end else begin
      watchdog_q <= watchdog_q + 1'b1;
    end
  end

  // ---------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------
  always_comb begin
    state_d = state_q;
    unique case (state_q)
      StIdle:  if (start_i) state_d = StRun;
      StRun:   if (error_now) state_d = StIdle;
               else if (insn_valid_i && insn_ready_o && in_is_halt) state_d = StDrain;
      StDrain: if (error_now) state_d = StIdle;
               else if (all_idle) state_d = StIdle;
      default: state_d = StIdle;
    endcase
    if (start_i) state_d = StRun;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) state_q <= StIdle;
    else         state_q <= state_d;
  end

  assign running_o     = state_q != StIdle;
  assign done_o        = state_q == StDrain && !error_now && all_idle && !start_i;
  assign error_o       = error_now && !start_i;
  assign error_code_o  = err_code;
  assign error_queue_o = err_queue;
  assign error_pc_o    = err_pc;
  assign error_info_o  = err_info;
  assign sem_wait_o    = head_blocked;

  // Retired this cycle: engine completions, SYNCs, NOPs and the HALT.
  always_comb begin
    retired_o = '0;
    for (int q = 0; q < NumQueues; q++) begin
      if (eng_done_i[q] && inflight_q[q]) retired_o += 4'd1;
      if (head_start[q] && head_is_sync[q]) retired_o += 4'd1;
    end
    if (nop_start) retired_o += 4'd1;
    if (done_o) retired_o += 4'd1;
  end

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions -------------------------------------------------------------------------
  `NPU_ASSERT(DispStateValid_A, state_q inside {StIdle, StRun, StDrain}, "illegal FSM state")
  `NPU_ASSERT(DispDoneErrExcl_A, !(done_o && error_o), "done_o and error_o together")
  `NPU_ASSERT(DispOneQueue_A, $onehot0(q_in_valid), "an instruction offered to two queues")
  // Semaphores never wrap silently: an overflow stops the program (ErrSemOverflow, or an error
  // of higher priority in the same cycle, which freezes the semaphores too).
  `NPU_ASSERT(DispSemNoSilentOverflow_A, sem_overflow |-> error_now || start_i,
              "a semaphore overflowed without an error")
  `NPU_ASSERT(DispSemOverflowCode_A,
              error_o && error_code_o == 8'(npu_isa_pkg::ErrSemOverflow) |-> sem_overflow,
              "ErrSemOverflow reported without an overflow")
  `NPU_ASSERT_KNOWN(DispEngValidKnown_A, eng_valid_o, "engine valid unknown after reset")
  `NPU_ASSERT_KNOWN(DispDoneErrKnown_A, {done_o, error_o}, "done / error unknown after reset")
  for (genvar q = 0; q < NumQueues; q++) begin : g_queue_sva
    // An instruction is only offered to an engine that takes it, so it is never withdrawn or
    // changed, and never beyond the engine's instructions in flight.
    `NPU_ASSERT(DispEngOfferIdle_A, eng_valid_o[q] |-> eng_ready_i[q] && inflight_room[q],
                "instruction offered to an engine that cannot take it")
    `NPU_ASSERT(DispEngDoneErrExcl_A, !(eng_done_i[q] && eng_err_i[q]),
                "an engine reported done and error together")
  end
  // Two signal/PC entries per queue: at most two instructions in flight (hwdef checks it).
  `NPU_ASSERT_INIT(DispMatmulInflightLegal_A, MatmulInflight inside {1, 2},
                   "MatmulInflight must be 1 or 2")
`endif

endmodule
