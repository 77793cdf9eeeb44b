// One operand read stream of the vector engine (docs/vector_engine.md).
//
// Reads Rows x Lines scratchpad lines, row r at lines base + r*pitch .. + Lines-1, in order,
// into a small line buffer that the engine's feeder pops. Then, with release_i, sends one
// last-use read to every overwrite-control region the data reads touched (a bitmap of regions
// collected at each grant), lowest region first.
//
// Flow control: read data returns exactly one cycle after the grant with no back-pressure, so a
// read may only be requested while the buffer can still take its data: entries plus reads in
// flight (at most one) must stay within Depth. The pop of this cycle frees an entry at once,
// which lets a Depth-2 buffer sustain one line per cycle (grant t, data t+1, pop t+2). The
// request condition only grows while a request waits (entries + in-flight only drop until the
// next grant), so a presented request stays valid and unchanged until it is granted, as the
// scratchpad's protocol requires.
//
// Addresses are computed modulo 2^AddrBits: the engine has checked that every line of the
// stream lies in the scratchpad before start_i, so every address used is exact.
`include "npu_typedef.svh"

module npu_vector_rd_stream #(
  parameter int unsigned AddrBits    = 10,
  parameter int unsigned LineBits    = 512,
  parameter int unsigned RegionLines = 32,
  parameter int unsigned Regions     = 32,
  parameter int unsigned Depth       = 2,  // line buffer entries, a power of two >= 2
  parameter int unsigned ReaderBits  = npu_pkg::SpadReaderBits,
  localparam int unsigned PtrBits    = $clog2(Depth),
  localparam int unsigned SpadReqBits = `NPU_SPAD_REQ_BITS(AddrBits, LineBits, ReaderBits),
  localparam int unsigned SpadRspBits = `NPU_SPAD_RSP_BITS(LineBits)
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  // Geometry, sampled at start_i. en_i = 0: the stream is empty (done at once).
  input  logic                start_i,
  input  logic                en_i,
  input  logic                release_i,
  input  logic [AddrBits-1:0] base_i,
  // Bits of the pitch above AddrBits do not change an address modulo 2^AddrBits.
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [11:0]         pitch_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  logic [12:0]         rows_i,    // >= 1
  input  logic [12:0]         lines_i,   // lines per row, >= 1
  output logic                done_o,    // every data and release read granted (idle)
  output logic                busy_o,    // a read was granted or data arrived this cycle
  // scratchpad read port
  output logic [SpadReqBits-1:0] req_o,   // spad_req_t
  input  logic [SpadRspBits-1:0] rsp_i,   // spad_rsp_t
  // line buffer towards the feeder
  output logic                line_valid_o,
  output logic [LineBits-1:0] line_o,
  input  logic                line_pop_i
);

  localparam int unsigned RegionShift = $clog2(RegionLines);

  `NPU_SPAD_TYPEDEF_ALL(AddrBits, LineBits, ReaderBits)

  // Struct views of the port: the same wires, kept out of toggle coverage.
  /* verilator coverage_off */
  spad_req_t req;
  spad_rsp_t rsp;
  /* verilator coverage_on */

  assign req_o = req;
  assign rsp   = rsp_i;
  localparam int unsigned RegionBits  = (Regions > 1) ? $clog2(Regions) : 1;

  typedef enum logic [1:0] {
    StIdle,
    StData,
    StRelease
  } state_e;

  state_e              state_q, state_d;
  logic [12:0]         rows_last_q, lines_last_q, row_q, k_q;
  logic [AddrBits-1:0] row_base_q, pitch_q;
  logic                release_q;
  logic [Regions-1:0]  touched_q, touched_d;
  logic                inflight_q;

  // ---- line buffer with one-cycle-ahead reservation ------------------------------------------
  logic [PtrBits:0] count;
  logic             space, push, data_req, data_gnt, buf_ready;

  assign push  = rsp.rvalid && inflight_q;
  // entries + in flight - pop < Depth, written without a subtraction
  assign space = ({1'b0, count} + (PtrBits + 1)'(inflight_q)) <
                 ((PtrBits + 1)'(Depth) + (PtrBits + 1)'(line_pop_i && line_valid_o));

  npu_fifo #(
    .Width(LineBits),
    .Depth(Depth)
  ) u_buf (
    .clk_i,
    .rst_ni,
    .clear_i    (1'b0),
    .in_valid_i (push),
    .in_ready_o (buf_ready),  // never full at a push: guaranteed by the reservation above
    .in_data_i  (rsp.rdata),
    .out_valid_o(line_valid_o),
    .out_ready_i(line_pop_i),
    .out_data_o (line_o),
    .count_o    (count)
  );

  // ---- request generation ----------------------------------------------------------------------
  logic [RegionBits-1:0] rel_region, data_region;
  logic                  rel_any;

  // Lowest touched region first.
  always_comb begin
    rel_region = '0;
    for (int i = Regions - 1; i >= 0; i--) begin
      if (touched_q[i]) begin
        rel_region = RegionBits'(i);
      end
    end
  end
  assign rel_any = touched_q != '0;

  logic [AddrBits-1:0] data_addr;
  assign data_addr   = row_base_q + AddrBits'(k_q);
  assign data_region = RegionBits'(data_addr >> RegionShift);
  assign data_req    = (state_q == StData) && space;
  assign data_gnt    = data_req && rsp.ready;

  // A read port: no write data.
  assign req.valid    = data_req || ((state_q == StRelease) && rel_any);
  assign req.write    = 1'b0;
  assign req.addr     = (state_q == StRelease) ? AddrBits'({rel_region, {RegionShift{1'b0}}})
                                               : data_addr;
  assign req.wdata    = '0;
  assign req.wstrb    = '0;
  assign req.readers  = '0;
  assign req.last_use = (state_q == StRelease);

  always_comb begin
    state_d   = state_q;
    touched_d = touched_q;
    if (start_i) begin
      state_d   = en_i ? StData : StIdle;
      touched_d = '0;
    end else if (data_gnt) begin
      touched_d[data_region] = 1'b1;
      if (k_q == lines_last_q && row_q == rows_last_q) begin
        state_d = release_q ? StRelease : StIdle;
      end
    end else if (state_q == StRelease) begin
      if (rsp.ready) begin
        touched_d[rel_region] = 1'b0;
      end
      // Idle (done) right after the last release is granted.
      if (touched_d == '0) begin
        state_d = StIdle;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q      <= StIdle;
      touched_q    <= '0;
      inflight_q   <= 1'b0;
      rows_last_q  <= '0;
      lines_last_q <= '0;
      row_q        <= '0;
      k_q          <= '0;
      row_base_q   <= '0;
      pitch_q      <= '0;
      release_q    <= 1'b0;
    end else begin
      state_q    <= state_d;
      touched_q  <= touched_d;
      inflight_q <= data_gnt;
      if (start_i) begin
        rows_last_q  <= rows_i - 13'd1;
        lines_last_q <= lines_i - 13'd1;
        row_q        <= '0;
        k_q          <= '0;
        row_base_q   <= base_i;
        // Truncating the pitch is exact modulo 2^AddrBits (see the header).
        pitch_q      <= AddrBits'(pitch_i);
        release_q    <= release_i;
      end else if (data_gnt) begin
        if (k_q == lines_last_q) begin
          k_q        <= '0;
          row_q      <= row_q + 13'd1;
          row_base_q <= row_base_q + pitch_q;
        end else begin
          k_q <= k_q + 13'd1;
        end
      end
    end
  end

  assign done_o = (state_q == StIdle);

  logic unused;
  assign unused = buf_ready;
  assign busy_o = (req.valid && rsp.ready) || push;

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions -------------------------------------------------------------------------
  `NPU_ASSERT(RdStateValid_A, state_q inside {StIdle, StData, StRelease}, "illegal FSM state")
  `NPU_ASSERT(RdBufNoOverflow_A, push |-> buf_ready,
              "read data arrived with the line buffer full (reservation error)")
`endif

endmodule
