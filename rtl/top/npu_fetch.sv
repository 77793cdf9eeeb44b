// Instruction fetch: reads 256-bit instruction words from DRAM, starting at PROG_BASE, in
// bursts on its own AXI read client (AR/R), with up to MaxBursts bursts in flight, into a small
// buffer the dispatcher drains in program order.
//
// Fetch is speculative: it runs ahead of the dispatcher and never faults on a read it issues.
// Bursts stay inside the DRAM window; only when the dispatcher needs a word that lies outside the
// window (DRAM_RANGE) or whose read DRAM answered with an error (AXI_ERROR) does fetch report an
// error, for that word's address.
// After HALT (stop_i) it issues nothing more and drains the bursts still in flight.
// A PROG_BASE that is not a multiple of the instruction size reports PROG_ALIGN (ERROR_PC =
// PROG_BASE) in the first cycle after START, before any read (docs/isa.md). Any multiple of the
// instruction size works: bursts start at PROG_BASE rounded down to the burst size and the
// words before PROG_BASE are skipped.
`include "npu_typedef.svh"

module npu_fetch #(
  parameter int unsigned LineBits = npu_pkg::LineBits,   // AXI data width
  parameter int unsigned BurstBeats = npu_pkg::FetchBurstBeats,
  parameter int unsigned MaxBursts = npu_pkg::FetchMaxBursts,
  parameter int unsigned IdBits = npu_pkg::AxiIdBits,
  localparam int unsigned InsnBits = npu_isa_pkg::InsnBits,
  localparam int unsigned AxiReqBits = `NPU_AXI_REQ_BITS(IdBits, LineBits),
  localparam int unsigned AxiRspBits = `NPU_AXI_RSP_BITS(IdBits, LineBits)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 start_i,
  input  logic [31:0]          prog_base_i,
  input  logic [31:0]          dram_base_i,
  input  logic [31:0]          dram_size_i,
  input  logic                 stop_i,

  // AXI read client (axi_req_t / axi_rsp_t; npu_axi_master adds ID, size, burst).
  output logic [AxiReqBits-1:0] axi_req_o,
  input  logic [AxiRspBits-1:0] axi_rsp_i,

  // Instruction words to the dispatcher.
  output logic                 insn_valid_o,
  input  logic                 insn_ready_i,
  output logic [InsnBits-1:0]  insn_o,
  output logic [31:0]          insn_pc_o,

  output logic                 err_o,          // pulse
  output logic [7:0]           err_code_o,
  output logic [31:0]          err_pc_o,
  output logic                 busy_o,         // bursts in flight
  output logic                 beat_o          // a beat arrived this cycle (progress, byte count)
);
  `NPU_AXI_TYPEDEF_ALL(IdBits, LineBits)

  // Struct views of the bundle ports: the same wires as the ports, kept out of toggle coverage.
  // A read client ignores the write channels of the response.
  /* verilator coverage_off */
  axi_req_t axi_req;
  /* verilator lint_off UNUSEDSIGNAL */
  axi_rsp_t axi_rsp;
  /* verilator lint_on UNUSEDSIGNAL */
  /* verilator coverage_on */

  assign axi_req_o = axi_req;
  assign axi_rsp   = axi_rsp_i;
  `NPU_AXI_READ_CLIENT_TIEOFF(axi_req)

  localparam int unsigned LineBytes  = LineBits / 8;
  localparam int unsigned ChunkBits  = LineBits > InsnBits ? LineBits : InsnBits;
  localparam int unsigned ChunkBytes = ChunkBits / 8;
  localparam int unsigned BeatsPerChunk = ChunkBits / LineBits;
  localparam int unsigned WordsPerChunk = ChunkBits / InsnBits;
  localparam int unsigned BurstBytes = BurstBeats * LineBytes;
  localparam int unsigned ChunksPerBurst = BurstBeats / BeatsPerChunk;
  localparam int unsigned BufferChunks = ChunksPerBurst * MaxBursts;
  localparam int unsigned ChunkIdxBits = BeatsPerChunk > 1 ? $clog2(BeatsPerChunk) : 1;
  localparam int unsigned WordIdxBits = WordsPerChunk > 1 ? $clog2(WordsPerChunk) : 1;
  localparam int unsigned CreditBits = $clog2(BufferChunks + 1) + 1;

  // The burst size must divide 4 KiB so bursts never cross a 4 KiB boundary.
  if (BurstBytes > 4096 || (4096 % BurstBytes) != 0) begin : g_bad_burst
    $error("npu_fetch: BurstBeats * LineBytes must divide 4096");
  end
  if (BurstBeats % BeatsPerChunk != 0) begin : g_bad_chunk
    $error("npu_fetch: a burst must hold whole instruction words");
  end

  typedef enum logic [1:0] { StIdle, StRun, StStop } state_e;
  state_e state_q;

  logic [31:0] next_burst_q;      // address of the next burst to request
  logic [31:0] prog_base_q;
  logic        window_end_q;      // no further burst fits in the window
  logic [CreditBits-1:0] inflight_chunks_q;   // chunks requested, not yet in the buffer
  localparam int unsigned BurstCntBits = $clog2(MaxBursts + 1) + 1;
  logic [BurstCntBits-1:0] bursts_q;     // bursts in flight
  logic [31:0] window_last;       // last byte address of the window (inclusive)

  assign window_last = dram_base_i + dram_size_i - 32'd1;

  // ---- address channel ------------------------------------------------------------------
  localparam int unsigned BufDepth = BufferChunks < 2 ? 2 : BufferChunks;
  logic [$clog2(BufDepth):0] buf_count;
  logic [31:0] burst_end_addr;    // last byte of the next full burst
  logic        burst_fits;
  logic [CreditBits-1:0] free_chunks;

  assign burst_end_addr = next_burst_q + 32'(BurstBytes) - 32'd1;
  assign burst_fits = dram_size_i != '0 && next_burst_q >= dram_base_i &&
                      burst_end_addr <= window_last && burst_end_addr >= next_burst_q;
  assign free_chunks = CreditBits'(BufferChunks) - CreditBits'(buf_count) - inflight_chunks_q;

  assign axi_req.ar_valid = state_q == StRun && !stop_i && !align_err_q && burst_fits &&
                      free_chunks >= CreditBits'(ChunksPerBurst) &&
                      bursts_q < BurstCntBits'(MaxBursts);
  assign axi_req.ar.addr  = next_burst_q;
  assign axi_req.ar.len   = 8'(BurstBeats - 1);

  // ---- data channel: assemble beats into chunks -------------------------------------------
  logic [ChunkBits-1:0]    chunk_q;
  logic [ChunkIdxBits-1:0] beat_idx_q;
  logic [31:0]             chunk_addr_q;     // address of the chunk being assembled / next
  logic                    chunk_push;
  logic                    chunk_arrived;    // a chunk's last beat, kept or dropped (credits)
  logic [ChunkBits-1:0]    chunk_data;
  logic                    chunk_err;        // a beat of the arriving chunk had an error response
  logic                    align_err_q;      // PROG_BASE not instruction aligned: no read at all

  assign axi_req.r_ready = 1'b1;   // credits guarantee buffer space; in StStop beats are dropped
  assign beat_o    = axi_rsp.r_valid;

  if (BeatsPerChunk == 1) begin : g_wide_beats
    assign chunk_data = axi_rsp.r.data;
    assign chunk_arrived = axi_rsp.r_valid;
    assign chunk_push = chunk_arrived && state_q == StRun;
    assign chunk_err  = axi_rsp.r.resp != 2'b00;
    always_ff @(posedge clk_i) chunk_q <= '0;
    assign beat_idx_q = '0;   // a beat is a whole chunk: no assembly
  end else begin : g_narrow_beats
    logic chunk_err_q;   // an earlier beat of the chunk being assembled had an error
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        beat_idx_q  <= '0;
        chunk_err_q <= 1'b0;
      end else if (start_i) begin
        beat_idx_q  <= '0;
        chunk_err_q <= 1'b0;
      end else if (axi_rsp.r_valid) begin
        beat_idx_q <= (beat_idx_q == ChunkIdxBits'(BeatsPerChunk - 1)) ? '0 : beat_idx_q + 1'b1;
        chunk_err_q <= !chunk_arrived && chunk_err;
      end
    end
    assign chunk_err = chunk_err_q || axi_rsp.r.resp != 2'b00;
    always_ff @(posedge clk_i) begin
      if (axi_rsp.r_valid) chunk_q[beat_idx_q * LineBits +: LineBits] <= axi_rsp.r.data;
    end
    always_comb begin
      chunk_data = chunk_q;
      chunk_data[(BeatsPerChunk-1) * LineBits +: LineBits] = axi_rsp.r.data;
    end
    assign chunk_arrived = axi_rsp.r_valid && beat_idx_q == ChunkIdxBits'(BeatsPerChunk - 1);
    assign chunk_push = chunk_arrived && state_q == StRun;
  end

  // Chunk buffer: data, its DRAM address and whether DRAM answered it with an error. The error
  // travels with the chunk: fetch reads ahead, and only a word the dispatcher needs is a fault
  // (an error raised on arrival stopped programs whose HALT came before the failed chunk).
  logic              buf_valid, buf_pop;
  logic [ChunkBits+32:0] buf_out;
  logic              buf_in_ready;

  npu_fifo #(.Width(ChunkBits + 33), .Depth(BufDepth)) u_buffer (
    .clk_i,
    .rst_ni,
    .clear_i     (start_i),
    .in_valid_i  (chunk_push),
    .in_ready_o  (buf_in_ready),
    .in_data_i   ({chunk_err, chunk_addr_q, chunk_data}),
    .out_valid_o (buf_valid),
    .out_ready_i (buf_pop),
    .out_data_o  (buf_out),
    .count_o     (buf_count)
  );

  // ---- output: words of the head chunk, skipping those before PROG_BASE ---------------------
  logic [WordIdxBits-1:0] word_idx_q;
  logic [31:0]            word_pc;
  logic                   word_before_base, last_word, head_err, word_err;

  assign word_pc = buf_out[ChunkBits +: 32] + 32'(word_idx_q) * 32'(InsnBits / 8);
  assign word_before_base = word_pc < prog_base_q;
  assign last_word = word_idx_q == WordIdxBits'(WordsPerChunk - 1);
  assign head_err     = buf_out[ChunkBits + 32];
  assign word_err     = buf_valid && !word_before_base && head_err;   // needed, DRAM refused it
  assign insn_valid_o = buf_valid && !word_before_base && state_q == StRun && !head_err &&
                        !align_err_q;
  assign insn_o       = buf_out[word_idx_q * InsnBits +: InsnBits];
  assign insn_pc_o    = word_pc;
  assign buf_pop      = buf_valid && last_word &&
                        (word_before_base || (insn_ready_i && !head_err));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      word_idx_q <= '0;
    end else if (start_i) begin
      word_idx_q <= '0;
    end else if (buf_valid && (word_before_base || (insn_ready_i && !head_err))) begin
      word_idx_q <= last_word ? '0 : word_idx_q + 1'b1;
    end
  end

  // ---- control ------------------------------------------------------------------------------
  logic ar_fire, r_done_burst;
  assign ar_fire      = axi_req.ar_valid && axi_rsp.ar_ready;
  assign r_done_burst = axi_rsp.r_valid && axi_rsp.r.last;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q           <= StIdle;
      next_burst_q      <= '0;
      prog_base_q       <= '0;
      window_end_q      <= 1'b0;
      inflight_chunks_q <= '0;
      bursts_q          <= '0;
      chunk_addr_q      <= '0;
      align_err_q       <= 1'b0;
    end else if (start_i) begin
      state_q           <= StRun;
      next_burst_q      <= prog_base_i & ~32'(BurstBytes - 1);
      chunk_addr_q      <= prog_base_i & ~32'(BurstBytes - 1);
      prog_base_q       <= prog_base_i;
      window_end_q      <= 1'b0;
      align_err_q       <= |prog_base_i[$clog2(InsnBits / 8)-1:0];
      // bursts still in flight from an aborted program drain in StRun too: keep counting them
    end else begin
      if (ar_fire) begin
        next_burst_q <= next_burst_q + 32'(BurstBytes);
      end
      // Every chunk that arrives returns its credit, also one dropped after HALT or an error
      // (StStop): counting only the pushed ones left credits behind, so a later run fetched
      // with fewer bursts in flight and never saw itself starved at the window end (it hung
      // until the watchdog reported DEADLOCK instead of DRAM_RANGE).
      inflight_chunks_q <= inflight_chunks_q + (ar_fire ? CreditBits'(ChunksPerBurst) : '0)
                                             - (chunk_arrived ? CreditBits'(1) : '0);
      bursts_q <= bursts_q + BurstCntBits'(ar_fire) - BurstCntBits'(r_done_burst);
      if (chunk_push) chunk_addr_q <= chunk_addr_q + 32'(ChunkBytes);
      if (state_q == StRun && !burst_fits && !ar_fire) window_end_q <= 1'b1;
      if (stop_i && state_q == StRun) state_q <= StStop;
      if (state_q == StStop && bursts_q == '0) state_q <= StIdle;
    end
  end

  // A needed word is unavailable: the buffer is empty, nothing is in flight and no burst fits.
  logic starved;
  assign starved = state_q == StRun && !stop_i && !buf_valid && bursts_q == '0 &&
                   inflight_chunks_q == '0 && !burst_fits;
  assign err_o      = (starved || word_err || align_err_q) && state_q == StRun && !stop_i;
  assign err_code_o = align_err_q ? npu_isa_pkg::ErrProgAlign :
                      word_err    ? npu_isa_pkg::ErrAxiError  : npu_isa_pkg::ErrDramRange;
  assign err_pc_o   = align_err_q ? prog_base_q :
                      word_err    ? word_pc
                                  : (next_burst_q < prog_base_q ? prog_base_q : next_burst_q);
  assign busy_o     = bursts_q != '0;

  logic unused;
  assign unused = buf_in_ready ^ window_end_q ^ (|chunk_q) ^ (|beat_idx_q);

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions -------------------------------------------------------------------------
  `NPU_ASSERT(FetchStateValid_A, state_q inside {StIdle, StRun, StStop}, "illegal FSM state")
  // The chunk buffer is filled on credits (r_ready is always 1): a push always finds room.
  `NPU_ASSERT(FetchBufNoOverflow_A, chunk_push |-> buf_in_ready,
              "a chunk arrived with the buffer full (credit error)")
  `NPU_ASSERT(FetchCreditsInRange_A,
              32'(buf_count) + 32'(inflight_chunks_q) <= BufferChunks,
              "buffered plus requested chunks exceed the buffer")
  `NPU_ASSERT(FetchBurstsInRange_A, bursts_q <= BurstCntBits'(MaxBursts),
              "more bursts in flight than MaxBursts")
  // Credits are only held for chunks of bursts still in flight.
  `NPU_ASSERT(FetchCreditsReturned_A, bursts_q == '0 |-> inflight_chunks_q == '0,
              "chunk credits held with no burst in flight")
  // npu_top only starts a program while fetch is idle (no beats of an old program in flight).
  `NPU_ASSERT(FetchStartIdle_A, start_i |-> bursts_q == '0, "start with bursts in flight")
  // Instruction stream to the dispatcher: held and unchanged until taken, unless the program
  // stops (start, stop). A DRAM error travels with its chunk, so a word offered is never
  // withdrawn for one.
  `NPU_ASSERT(FetchInsnHeld_A,
              insn_valid_o && !insn_ready_i && !start_i && !stop_i |=> insn_valid_o,
              "instruction withdrawn before the dispatcher took it")
  `NPU_ASSERT(FetchInsnStable_A,
              insn_valid_o && !insn_ready_i |=> !insn_valid_o || $stable({insn_o, insn_pc_o}),
              "instruction changed before the dispatcher took it")
`endif

endmodule
