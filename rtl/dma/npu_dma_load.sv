// DMA-in engine: executes DMA_LOAD (docs/isa.md, docs/dma.md).
//
// Row r < rows reads row_bytes bytes at dram_addr + r*dram_stride (any byte alignment) and
// writes them from byte 0 of scratchpad line spad_addr + r*spad_pitch onward; bytes
// row_bytes..pad_bytes-1 of every row and all pad_bytes of rows rows..pad_rows-1 are written as
// zeros; bytes of a row's last line beyond pad_bytes keep their value (strobe 0).
//
// Three parts run concurrently once the operands are checked:
//
// * AR generator: walks the rows and issues bursts of whole bus beats (the AXI data width is
//   the line width), split at 4 KiB boundaries and at 256 beats, with at most MaxBursts bursts
//   in flight. The AR request sits in a register, so it stays stable until accepted.
// * Write side: walks the same rows again as a sequence of events, each consuming at most one
//   R beat and producing at most one scratchpad line. A row whose DRAM address has byte offset
//   o in its first beat needs two consecutive beats per line: line j = bytes o.. of
//   {beat j+1, beat j}. With o != 0 the row's first beat produces no line (it is kept in
//   prev_q), every further beat produces the line before it, and if the row's tail fits in the
//   last beat a "flush" event produces the last data line from prev_q alone. Padding lines
//   follow without consuming beats. R beats of one AXI ID arrive in order, so the write side
//   needs no per-burst bookkeeping: it knows how many beats each row has.
// * Output register: the scratchpad request (held stable until granted). An R beat is taken
//   only when its line can enter the register, so scratchpad stalls back-pressure R.
//
// Overwrite control: with lock_readers = n != 0, after every data write has been granted, one
// zero-strobe write with readers = n goes to each region the written lines touched (a bitmap
// of regions, npu_region_tracker, collects them).
//
// Errors (checked in StCheck before any access; err_o instead of done_o, nothing accessed):
// rows == 0, row_bytes == 0 (info 0), pad_rows < rows (info pad_rows), pad_bytes < row_bytes
// (info pad_bytes) -> ErrBadField; a line beyond the scratchpad -> ErrSpadRange (info: the last
// line the instruction would touch); a DRAM byte outside [dram_base_i, dram_base_i +
// dram_size_i) or above 4 GiB -> ErrDramRange (info: dram_addr if below the window, else the
// last byte address). An R beat with RRESP != OKAY -> ErrAxiError (info: the beat's address):
// the engine writes nothing more, issues no further AR, drains the bursts in flight and then
// reports.
`include "npu_typedef.svh"
`include "npu_ports.svh"

module npu_dma_load #(
  `NPU_SPAD_PARAMS,
  parameter int unsigned MaxBursts   = npu_pkg::DmaMaxBursts,
  localparam int unsigned SpadLines  = Banks * BankLines,
  parameter int unsigned IdBits      = npu_pkg::AxiIdBits,
  localparam int unsigned SpadReqBits = `NPU_SPAD_REQ_BITS(AddrBits, LineBits, ReaderBits),
  localparam int unsigned SpadRspBits = `NPU_SPAD_RSP_BITS(LineBits),
  localparam int unsigned AxiReqBits  = `NPU_AXI_REQ_BITS(IdBits, LineBits),
  localparam int unsigned AxiRspBits  = `NPU_AXI_RSP_BITS(IdBits, LineBits)
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,

  // Engine contract (docs/architecture.md).
  `NPU_ENGINE_PORTS(, npu_isa_pkg::dma_load_insn_t),

  // DRAM window the NPU may access.
  input  logic [31:0]           dram_base_i,
  input  logic [31:0]           dram_size_i,

  // AXI read client (axi_req_t / axi_rsp_t; npu_axi_master adds ID, size, burst).
  output logic [AxiReqBits-1:0]  axi_req_o,
  input  logic [AxiRspBits-1:0]  axi_rsp_i,

  // Scratchpad port (writes only; spad_req_t / spad_rsp_t).
  output logic [SpadReqBits-1:0] spad_req_o,
  input  logic [SpadRspBits-1:0] spad_rsp_i
);

  `NPU_SPAD_TYPEDEF_ALL(AddrBits, LineBits, ReaderBits)
  `NPU_AXI_TYPEDEF_ALL(IdBits, LineBits)

  // Struct views of the bundle ports: the same wires as the ports, kept out of toggle coverage.
  // A write-only client ignores part of the scratchpad response and a read client the
  // write channels of the AXI response.
  /* verilator coverage_off */
  spad_req_t spad_req;
  axi_req_t  axi_req;
  /* verilator lint_off UNUSEDSIGNAL */
  spad_rsp_t spad_rsp;
  axi_rsp_t  axi_rsp;
  /* verilator lint_on UNUSEDSIGNAL */
  /* verilator coverage_on */

  assign spad_req_o = spad_req;
  assign spad_rsp   = spad_rsp_i;
  assign axi_req_o  = axi_req;
  assign axi_rsp    = axi_rsp_i;
  `NPU_AXI_READ_CLIENT_TIEOFF(axi_req)

  localparam int unsigned LineBytes   = StrbBits;
  localparam int unsigned OffBits     = $clog2(LineBytes);
  localparam int unsigned Regions     = SpadLines / RegionLines;
  localparam int unsigned RegionBits  = (Regions > 1) ? $clog2(Regions) : 1;
  localparam int unsigned RegionShift = $clog2(RegionLines);
  localparam int unsigned CntBits     = 18;   // beats / lines of one row (row_bytes < 2**16)
  localparam int unsigned OutBits     = $clog2(MaxBursts + 1);
  // A burst never crosses a 4 KiB page and has at most 256 beats.
  localparam int unsigned PageBeats   = 4096 / LineBytes;
  localparam int unsigned MaxLen      = (PageBeats < 256 ? PageBeats : 256) - 1;

  if (LineBytes < 2 || (1 << OffBits) != LineBytes || LineBytes > 4096) begin : g_bad_line
    $error("npu_dma_load: LineBits/8 must be a power of two between 2 and 4096");
  end
  if (RegionLines > SpadLines || (1 << RegionShift) != RegionLines) begin : g_bad_region
    $error("npu_dma_load: RegionLines must be a power of two <= Banks*BankLines");
  end


  typedef enum logic [2:0] { StIdle, StCheck, StRun, StLock, StFinish } state_e;
  state_e state_q;

  // ---------------------------------------------------------------------------------------
  // Instruction fields (captured when accepted)
  // ---------------------------------------------------------------------------------------
  logic [31:0]           dram_addr_q;
  logic [23:0]           stride_q;
  logic [12:0]           rows_q, pad_rows_q;
  logic [15:0]           row_bytes_q, pad_bytes_q;
  logic [15:0]           spad_addr_q;
  logic [11:0]           pitch_q;
  logic [ReaderBits-1:0] lock_q;

  // Lines written per row (pad_bytes >= 1 once the checks pass).
  logic [CntBits-1:0] nlines;
  assign nlines = (CntBits'(pad_bytes_q) + CntBits'(LineBytes - 1)) >> OffBits;

  // ---------------------------------------------------------------------------------------
  // Operand checks (StCheck, from the registered fields)
  // ---------------------------------------------------------------------------------------
  logic [12:0] rows_m1, pad_rows_m1;
  logic [31:0] spad_last;      // last scratchpad line touched
  logic [39:0] dram_end;       // one past the last DRAM byte read
  logic [39:0] window_end;
  logic        chk_err;
  logic [7:0]  chk_code;
  logic [31:0] chk_info;

  assign rows_m1     = rows_q - 13'd1;
  assign pad_rows_m1 = pad_rows_q - 13'd1;
  assign spad_last   = 32'(spad_addr_q) + 32'(pad_rows_m1) * 32'(pitch_q) + 32'(nlines) - 32'd1;
  assign dram_end    = 40'(dram_addr_q) + 40'(rows_m1) * 40'(stride_q) + 40'(row_bytes_q);
  assign window_end  = 40'(dram_base_i) + 40'(dram_size_i);

  always_comb begin
    chk_err  = 1'b1;
    chk_code = npu_isa_pkg::ErrBadField;
    chk_info = '0;
    if (rows_q == '0 || row_bytes_q == '0) begin
      chk_info = '0;
    end else if (pad_rows_q < rows_q) begin
      chk_info = 32'(pad_rows_q);
    end else if (pad_bytes_q < row_bytes_q) begin
      chk_info = 32'(pad_bytes_q);
    end else if (spad_last >= 32'(SpadLines)) begin
      chk_code = npu_isa_pkg::ErrSpadRange;
      chk_info = spad_last;
    end else if (dram_addr_q < dram_base_i) begin
      chk_code = npu_isa_pkg::ErrDramRange;
      chk_info = dram_addr_q;
    end else if (dram_end > window_end || dram_end > 40'h1_0000_0000) begin
      chk_code = npu_isa_pkg::ErrDramRange;
      chk_info = 32'(dram_end - 40'd1);
    end else begin
      chk_err = 1'b0;
    end
  end

  // ---------------------------------------------------------------------------------------
  // AR generator
  // ---------------------------------------------------------------------------------------
  logic [12:0]        ar_row_q;
  logic [31:0]        ar_row_addr_q;   // DRAM address of the row being issued
  logic [31:0]        ar_cur_q;        // beat-aligned address of its next burst
  logic [31:0]        ar_end_q;        // beat-aligned address of its last beat
  logic               ar_done_q;       // every burst issued
  logic               arv_q;
  logic [31:0]        ara_q;
  logic [7:0]         arl_q;
  logic [OutBits-1:0] ar_out_q;        // bursts issued (incl. the AR register) not yet drained
  logic               abort_q;         // an R beat had an error response

  logic [31:0] row_left, page_left;    // beats after ar_cur_q in the row / in the 4 KiB page
  logic [7:0]  burst_len;
  logic        burst_ends_row;
  logic        ar_load;
  logic [31:0] next_row_addr, next_row_last;

  assign row_left  = (ar_end_q - ar_cur_q) >> OffBits;
  assign page_left = 32'(PageBeats - 1) - 32'(ar_cur_q[11:0] >> OffBits);

  always_comb begin
    logic [31:0] lim;
    lim = (page_left < 32'(MaxLen)) ? page_left : 32'(MaxLen);
    burst_ends_row = row_left <= lim;
    burst_len      = burst_ends_row ? 8'(row_left) : 8'(lim);
  end

  assign next_row_addr = ar_row_addr_q + 32'(stride_q);
  assign next_row_last = next_row_addr + 32'(row_bytes_q) - 32'd1;

  assign ar_load = state_q == StRun && !abort_q && !ar_done_q && (!arv_q || axi_rsp.ar_ready) &&
                   ar_out_q < OutBits'(MaxBursts);

  assign axi_req.ar_valid = arv_q;
  assign axi_req.ar.addr  = ara_q;
  assign axi_req.ar.len   = arl_q;

  // ---------------------------------------------------------------------------------------
  // Write side: one event per cycle at most
  // ---------------------------------------------------------------------------------------
  logic [12:0]          w_row_q;         // row being written (< pad_rows)
  logic [31:0]          w_row_dram_q;    // its DRAM address (data rows)
  logic [AddrBits-1:0]  w_row_spad_q;    // its first scratchpad line
  logic [CntBits-1:0]   w_beat_q;        // beats of the row consumed
  logic [CntBits-1:0]   w_line_q;        // lines of the row produced
  logic [16:0]          rem_data_q;      // data bytes of the row from line w_line_q on
  logic [16:0]          rem_pad_q;       // written bytes of the row from line w_line_q on
  logic                 w_done_q;        // every line produced
  logic [LineBits-1:0]  prev_q;          // previous beat of the row

  logic [OffBits-1:0]   row_off;
  logic [CntBits-1:0]   row_beats;
  logic                 data_row, ev_beat, ev_line, last_line;
  logic                 out_valid_q, out_free;
  logic                 w_fire, r_fire, r_err, wr_load, lock_load;

  assign row_off   = w_row_dram_q[OffBits-1:0];
  assign row_beats = (CntBits'(row_off) + CntBits'(row_bytes_q) + CntBits'(LineBytes - 1))
                     >> OffBits;
  assign data_row  = w_row_q < rows_q;
  assign ev_beat   = data_row && (w_beat_q < row_beats);
  // A beat produces a line except the first beat of a row with an offset (it only fills prev_q).
  assign ev_line   = !ev_beat || !(row_off != '0 && w_beat_q == '0);
  assign last_line = w_line_q == nlines - CntBits'(1);

  assign out_free  = !out_valid_q || spad_rsp.ready;
  assign w_fire    = state_q == StRun && !abort_q && !w_done_q && (!ev_beat || axi_rsp.r_valid) &&
                     (!ev_line || out_free);
  // While aborting, every beat of the bursts in flight is taken and dropped.
  assign axi_req.r_ready = state_q == StRun &&
                     (abort_q || (!w_done_q && ev_beat && (!ev_line || out_free)));
  assign r_fire    = axi_rsp.r_valid && axi_req.r_ready;
  assign r_err     = w_fire && ev_beat && axi_rsp.r.resp != 2'b00;
  assign wr_load   = w_fire && ev_line && !r_err;

  // Line data: bytes o.. of {beat, prev}, masked to the row's data bytes.
  logic [2*LineBits-1:0] window;
  logic [LineBits-1:0]   shifted, line_data;
  logic [StrbBits-1:0]   data_mask, pad_mask;

  assign window  = {axi_rsp.r.data, prev_q};
  assign shifted = (row_off == '0) ? axi_rsp.r.data : LineBits'(window >> {row_off, 3'b000});

  always_comb begin
    for (int unsigned k = 0; k < StrbBits; k++) begin
      data_mask[k] = 17'(k) < rem_data_q;
      pad_mask[k]  = 17'(k) < rem_pad_q;
      line_data[8*k +: 8] = data_mask[k] ? shifted[8*k +: 8] : 8'h00;
    end
  end

  // ---------------------------------------------------------------------------------------
  // Output register (scratchpad request) and the touched-region bitmap
  // ---------------------------------------------------------------------------------------
  logic [AddrBits-1:0]   out_addr_q;
  logic [LineBits-1:0]   out_data_q;
  logic [StrbBits-1:0]   out_strb_q;
  logic [ReaderBits-1:0] out_readers_q;
  logic [AddrBits-1:0]   line_addr;
  logic [AddrBits-1:0]   lock_addr;
  // Tracker control wire, not counted by toggle coverage (new with the shared tracker).
  /* verilator coverage_off */
  logic                  lock_pending;
  /* verilator coverage_on */

  assign line_addr = w_row_spad_q + AddrBits'(w_line_q);

  npu_region_tracker #(
    .SpadLines   (SpadLines),
    .RegionLines (RegionLines)
  ) u_touched (
    .clk_i,
    .rst_ni,
    .clear_i       (state_q == StCheck && !chk_err),
    .mark_i        (wr_load),
    .mark_region_i (RegionBits'(line_addr >> RegionShift)),
    .pop_i         (lock_load),
    .pending_o     (lock_pending),
    .addr_o        (lock_addr)
  );

  assign lock_load = state_q == StLock && lock_pending && out_free;

  assign spad_req.valid    = out_valid_q;
  assign spad_req.write    = 1'b1;
  assign spad_req.addr     = out_addr_q;
  assign spad_req.wdata    = out_data_q;
  assign spad_req.wstrb    = out_strb_q;
  assign spad_req.readers  = out_readers_q;
  assign spad_req.last_use = 1'b0;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_valid_q   <= 1'b0;
      out_addr_q    <= '0;
      out_strb_q    <= '0;
      out_readers_q <= '0;
    end else if (wr_load) begin
      out_valid_q   <= 1'b1;
      out_addr_q    <= line_addr;
      out_strb_q    <= pad_mask;
      out_readers_q <= '0;
    end else if (lock_load) begin
      out_valid_q   <= 1'b1;
      out_addr_q    <= lock_addr;
      out_strb_q    <= '0;
      out_readers_q <= lock_q;
    end else if (spad_rsp.ready) begin
      out_valid_q   <= 1'b0;
    end
  end

  // Wide data registers without reset: they are only read under the valid flags.
  always_ff @(posedge clk_i) begin
    if (wr_load) begin
      out_data_q <= line_data;
    end else if (lock_load) begin
      out_data_q <= '0;
    end
    if (w_fire && ev_beat) begin
      prev_q <= axi_rsp.r.data;
    end
  end

  // ---------------------------------------------------------------------------------------
  // Control
  // ---------------------------------------------------------------------------------------
  logic        err_q;
  logic [7:0]  err_code_q;
  logic [31:0] err_info_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q       <= StIdle;
      dram_addr_q   <= '0;
      stride_q      <= '0;
      rows_q        <= '0;
      pad_rows_q    <= '0;
      row_bytes_q   <= '0;
      pad_bytes_q   <= '0;
      spad_addr_q   <= '0;
      pitch_q       <= '0;
      lock_q        <= '0;
      ar_row_q      <= '0;
      ar_row_addr_q <= '0;
      ar_cur_q      <= '0;
      ar_end_q      <= '0;
      ar_done_q     <= 1'b0;
      arv_q         <= 1'b0;
      ara_q         <= '0;
      arl_q         <= '0;
      ar_out_q      <= '0;
      abort_q       <= 1'b0;
      w_row_q       <= '0;
      w_row_dram_q  <= '0;
      w_row_spad_q  <= '0;
      w_beat_q      <= '0;
      w_line_q      <= '0;
      rem_data_q    <= '0;
      rem_pad_q     <= '0;
      w_done_q      <= 1'b0;
      err_q         <= 1'b0;
      err_code_q    <= '0;
      err_info_q    <= '0;
    end else begin
      // Bursts in flight: counted when the AR register is loaded, retired by their last beat.
      ar_out_q <= ar_out_q + OutBits'(ar_load) - OutBits'(r_fire && axi_rsp.r.last);
      if (ar_load) begin
        arv_q <= 1'b1;
        ara_q <= ar_cur_q;
        arl_q <= burst_len;
      end else if (axi_rsp.ar_ready) begin
        arv_q <= 1'b0;
      end

      unique case (state_q)
        StIdle: begin
          if (insn_valid_i) begin
            state_q     <= StCheck;
            dram_addr_q <= insn_i.dram_addr;
            stride_q    <= insn_i.dram_stride;
            rows_q      <= insn_i.rows;
            pad_rows_q  <= insn_i.pad_rows;
            row_bytes_q <= insn_i.row_bytes;
            pad_bytes_q <= insn_i.pad_bytes;
            spad_addr_q <= insn_i.spad_addr;
            pitch_q     <= insn_i.spad_pitch;
            lock_q      <= ReaderBits'(insn_i.lock_readers);
            err_q       <= 1'b0;
          end
        end

        StCheck: begin
          if (chk_err) begin
            state_q    <= StFinish;
            err_q      <= 1'b1;
            err_code_q <= chk_code;
            err_info_q <= chk_info;
          end else begin
            state_q       <= StRun;
            ar_row_q      <= '0;
            ar_row_addr_q <= dram_addr_q;
            ar_cur_q      <= dram_addr_q & ~32'(LineBytes - 1);
            ar_end_q      <= (dram_addr_q + 32'(row_bytes_q) - 32'd1) & ~32'(LineBytes - 1);
            ar_done_q     <= 1'b0;
            abort_q       <= 1'b0;
            w_row_q       <= '0;
            w_row_dram_q  <= dram_addr_q;
            w_row_spad_q  <= AddrBits'(spad_addr_q);
            w_beat_q      <= '0;
            w_line_q      <= '0;
            rem_data_q    <= 17'(row_bytes_q);
            rem_pad_q     <= 17'(pad_bytes_q);
            w_done_q      <= 1'b0;
          end
        end

        StRun: begin
          // AR generator.
          if (ar_load) begin
            if (burst_ends_row) begin
              ar_row_q      <= ar_row_q + 13'd1;
              ar_row_addr_q <= next_row_addr;
              ar_cur_q      <= next_row_addr & ~32'(LineBytes - 1);
              ar_end_q      <= next_row_last & ~32'(LineBytes - 1);
              ar_done_q     <= ar_row_q + 13'd1 == rows_q;
            end else begin
              ar_cur_q <= ar_cur_q + ((32'(burst_len) + 32'd1) << OffBits);
            end
          end

          // Write side.
          if (w_fire) begin
            if (ev_beat) begin
              w_beat_q <= w_beat_q + CntBits'(1);
            end
            if (r_err) begin
              abort_q    <= 1'b1;
              err_q      <= 1'b1;
              err_code_q <= npu_isa_pkg::ErrAxiError;
              err_info_q <= (w_row_dram_q & ~32'(LineBytes - 1)) + (32'(w_beat_q) << OffBits);
            end
            if (ev_line) begin
              if (last_line) begin
                w_row_q      <= w_row_q + 13'd1;
                w_row_dram_q <= w_row_dram_q + 32'(stride_q);
                w_row_spad_q <= w_row_spad_q + AddrBits'(pitch_q);
                w_beat_q     <= '0;
                w_line_q     <= '0;
                rem_data_q   <= (w_row_q + 13'd1 < rows_q) ? 17'(row_bytes_q) : '0;
                rem_pad_q    <= 17'(pad_bytes_q);
                w_done_q     <= w_row_q + 13'd1 == pad_rows_q;
              end else begin
                w_line_q   <= w_line_q + CntBits'(1);
                rem_data_q <= (rem_data_q > 17'(LineBytes)) ? rem_data_q - 17'(LineBytes) : '0;
                rem_pad_q  <= (rem_pad_q > 17'(LineBytes)) ? rem_pad_q - 17'(LineBytes) : '0;
              end
            end
          end

          if (abort_q) begin
            // Every issued burst drained and the last write granted: report.
            if (ar_out_q == '0 && !out_valid_q) begin
              state_q <= StFinish;
            end
          end else if (w_done_q && !out_valid_q) begin
            state_q <= (lock_q != '0) ? StLock : StFinish;
          end
        end

        StLock: begin
          if (!lock_load && !lock_pending && !out_valid_q) begin
            state_q <= StFinish;
          end
        end

        StFinish: begin
          state_q <= StIdle;
        end

        default: state_q <= StIdle;
      endcase
    end
  end

  assign insn_ready_o = state_q == StIdle;
  assign busy_o       = state_q != StIdle;
  assign done_o       = state_q == StFinish && !err_q;
  assign err_o        = state_q == StFinish && err_q;
  assign err_code_o   = err_q ? err_code_q : 8'(npu_isa_pkg::ErrNone);
  assign err_info_o   = err_q ? err_info_q : '0;

  // Progress: any handshake or internal step. Busy cycles without one are stalls (waiting for
  // DRAM data, a scratchpad grant or overwrite control).
  assign stall_o = (state_q == StRun && !(w_fire || r_fire || (arv_q && axi_rsp.ar_ready) ||
                                          (out_valid_q && spad_rsp.ready))) ||
                   (state_q == StLock && !(out_valid_q && spad_rsp.ready));

  // Header and reserved bits are the dispatcher's business.
  logic unused_insn;
  assign unused_insn = ^{insn_i.reserved, insn_i.opcode, insn_i.wait_mask, insn_i.signal_mask};

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions -------------------------------------------------------------------------
  `NPU_ASSERT_ENGINE_CONTRACT
  `NPU_ASSERT(DmaLdStateValid_A, state_q inside {StIdle, StCheck, StRun, StLock, StFinish},
              "illegal FSM state")
  `NPU_ASSERT(DmaLdArHeld_A, arv_q && !axi_rsp.ar_ready |=> arv_q && $stable({ara_q, arl_q}),
              "AR request withdrawn or changed before ARREADY")
  `NPU_ASSERT(DmaLdBurstsInRange_A, ar_out_q <= OutBits'(MaxBursts),
              "more bursts in flight than MaxBursts")
  `NPU_ASSERT(DmaLdBeatExpected_A, axi_rsp.r_valid |-> ar_out_q != '0,
              "an R beat with no burst in flight")
`endif

endmodule
