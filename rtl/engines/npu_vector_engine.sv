// Vector engine: executes VECTOR instructions (docs/isa.md, docs/vector_engine.md) on the vector
// ALU array npu_vector_unit through three scratchpad ports: a_ (operand a reads), b_ (operand b
// reads) and d_ (result writes).
//
//   a stream -> line buffer -+
//                            +-> feeder -> npu_vector_unit -> write assembler -+-> write FIFO -+-> d_
//   b stream -> line buffer -+   (quarter select,              (8-bit packing)  +--------------+
//                                 mask, row_last)                                (FIFO empty)
//
// * The two read streams (npu_vector_rd_stream) run ahead of the feeder as far as their
//   two-line buffers allow, so reads, computation and writes overlap and a vector per cycle
//   flows when the ports grant.
// * 8-bit operands: one line holds four vectors (quarters); the feeder keeps the line at the
//   head of the buffer for its four vectors, so each line is read once. b in ROW mode keeps the
//   row's line for every vector of the row.
// * 8-bit results: the write assembler packs the low byte of each lane into the vector's quarter
//   and writes a line once its quarter 3 (or the row's last vector) is done, with strobes on the
//   quarters written only: one write per line instead of one per vector. Memory contents are
//   those of per-vector quarter writes.
// * Results leave the unit in order, so the writer walks the result positions with its own
//   counters (no tags needed). A completed line goes to the d_ port straight from the unit's
//   output register when the write FIFO is empty; the FIFO (2 entries) only holds lines whose
//   write was not granted at once, and back-pressures the unit through out_ready_i.
// * Overwrite control: each stream sends its last-use reads once its data reads are granted; the
//   writer sends the zero-strobe lock writes once every result write is granted. done_o pulses
//   the cycle after the last of all these grants.
//
// Checks, on the offered instruction in the cycle it is taken (so before any access): rows or
// row_len zero and reserved encodings give ErrBadField with the field value; an operand stream
// or the result that would reach past the scratchpad gives ErrSpadRange with the highest line
// it would touch (order: a, b, result); then a result whose line interval meets a's (or b's
// when b is read) gives ErrOperandOverlap with dst_addr, unless it is exactly in place on that
// operand (docs/isa.md "Operand aliasing"). err_o pulses the next cycle; a good instruction
// sends its first reads the next cycle.
//
// Latency: an instruction of N vectors whose accesses are all granted takes about N + 8 cycles
// from the handshake to done_o (reads 2, unit 3, write 1, done 1, plus the pipeline fill).
`include "npu_typedef.svh"
`include "npu_ports.svh"

module npu_vector_engine #(
  parameter int unsigned Lanes             = npu_pkg::VectorLanes,
  parameter int unsigned SpadLines         = npu_pkg::SpadBanks * npu_pkg::SpadBankLines,
  parameter int unsigned LineBits          = npu_pkg::LineBits,  // = Lanes * 32
  parameter int unsigned RegionLines       = npu_pkg::SpadRegionLines,
  parameter int unsigned RecipBitsPerStage = 4,
  parameter int unsigned ReaderBits        = npu_pkg::SpadReaderBits,
  localparam int unsigned AddrBits         = $clog2(SpadLines),
  localparam int unsigned StrbBits         = LineBits / 8,
  localparam int unsigned SpadReqBits      = `NPU_SPAD_REQ_BITS(AddrBits, LineBits, ReaderBits),
  localparam int unsigned SpadRspBits      = `NPU_SPAD_RSP_BITS(LineBits)
) (
  input  logic                              clk_i,
  input  logic                              rst_ni,
  // instruction
  `NPU_ENGINE_PORTS(, npu_isa_pkg::vector_insn_t),
  // sticky OR of the unit's result flags since the last clear (VECTOR_FLAGS)
  output logic [npu_pkg::VecFlagBits-1:0]   flags_o,
  input  logic                              flags_clear_i,
  // Scratchpad port a: operand a reads.
  output logic [SpadReqBits-1:0]            a_req_o,   // spad_req_t
  input  logic [SpadRspBits-1:0]            a_rsp_i,   // spad_rsp_t
  // Scratchpad port b: operand b reads.
  output logic [SpadReqBits-1:0]            b_req_o,   // spad_req_t
  input  logic [SpadRspBits-1:0]            b_rsp_i,   // spad_rsp_t
  // Scratchpad port d: result writes.
  output logic [SpadReqBits-1:0]            d_req_o,   // spad_req_t
  input  logic [SpadRspBits-1:0]            d_rsp_i    // spad_rsp_t
);

  `NPU_SPAD_TYPEDEF_ALL(AddrBits, LineBits, ReaderBits)

  // Struct views of the result port (a and b belong to the read streams): the same wires as
  // the port, kept out of toggle coverage.
  /* verilator coverage_off */
  spad_req_t d_req;
  spad_rsp_t d_rsp;
  /* verilator coverage_on */

  assign d_req_o = d_req;
  assign d_rsp   = d_rsp_i;

  localparam int unsigned LaneShift   = $clog2(Lanes);
  localparam int unsigned QBits       = Lanes * 8;   // one quarter line: Lanes bytes
  localparam int unsigned Regions     = SpadLines / RegionLines;
  localparam int unsigned RegionShift = $clog2(RegionLines);
  localparam int unsigned RegionBits  = (Regions > 1) ? $clog2(Regions) : 1;
  localparam int unsigned FlagBits    = npu_pkg::VecFlagBits;
  localparam int unsigned WEntryBits  = AddrBits + LineBits + StrbBits;
  localparam logic [31:0] SpadLinesW  = 32'(SpadLines);

  localparam logic [1:0] TypeInt32 = npu_isa_pkg::ElemInt32;
  localparam logic [1:0] TypeInt8  = npu_isa_pkg::ElemInt8;
  localparam logic [1:0] BRow      = npu_isa_pkg::BModeRow;
  localparam logic [1:0] BScalar   = npu_isa_pkg::BModeScalar;

  typedef enum logic [1:0] {
    StIdle,
    StRun,
    StErr
  } state_e;

  state_e state_q, state_d;

  // The fields the run needs after the instruction was taken.
  logic [3:0]          op_q;
  logic [1:0]          sat_q, b_mode_q, a_type_q, dst_type_q, lock_q;
  logic [5:0]          shift_q;
  logic [31:0]         scalar_q;
  logic [AddrBits-1:0] dst_pitch_q;  // modulo 2^AddrBits: exact for every address used
  logic [12:0]         row_len_q;
  logic                causal_q;

  // ---- instruction checks, on the offered instruction -------------------------------------------
  // Done in the cycle the instruction is taken, so a good one starts reading in the next cycle
  // and a bad one reports in the next cycle without any access.
  npu_isa_pkg::vector_insn_t ci;
  assign ci = insn_i;

  // Vectors per row, lines per row of an 8-bit stream, and the highest line of each stream.
  logic [13:0] vecs;
  logic [12:0] lines8;
  logic [12:0] a_lines, b_lines, d_lines;
  logic        is_red, ci_b_used;
  logic [31:0] a_last, b_last, d_last;
  logic        bad;
  logic [7:0]  bad_code;
  logic [31:0] bad_info;
  logic        a_alias, b_alias;

  assign vecs      = (14'(ci.row_len) + 14'(Lanes - 1)) >> LaneShift;
  assign lines8    = 13'((vecs + 14'd3) >> 2);
  assign is_red    = (ci.op == npu_pkg::VecOpRmax) || (ci.op == npu_pkg::VecOpRsum);
  assign ci_b_used = (ci.b_mode != BScalar);
  assign a_lines   = (ci.a_type == TypeInt32) ? vecs[12:0] : lines8;
  assign b_lines   = (ci.b_mode == BRow) ? 13'd1 : a_lines;
  assign d_lines   = is_red ? 13'd1 : (ci.dst_type == TypeInt32) ? vecs[12:0] : lines8;

  // line + (rows - 1) * pitch + lines - 1: below 2^26 for any field values.
  function automatic logic [31:0] last_line(input logic [15:0] addr, input logic [11:0] pitch,
                                            input logic [12:0] rows, input logic [12:0] lines);
    last_line = 32'(addr) + 32'(rows - 13'd1) * 32'(pitch) + 32'(lines) - 32'd1;
  endfunction

  assign a_last = last_line(ci.a_addr, ci.a_pitch, ci.rows, a_lines);
  assign b_last = last_line(ci.b_addr, ci.b_pitch, ci.rows, b_lines);
  assign d_last = last_line(ci.dst_addr, ci.dst_pitch, ci.rows, d_lines);

  // Operand aliasing, used once every stream is in range (so the low bits are exact): the
  // result's interval [dst_addr, d_last] meets the operand's, and the result is not exactly in
  // place on it (same address, pitch and type, element-wise op, rows sharing no line).
  logic in_place_ok, a_meets, b_meets, a_in_place, b_in_place;
  assign in_place_ok = !is_red && ci.dst_type == ci.a_type;
  assign a_meets    = AddrBits'(ci.dst_addr) <= AddrBits'(a_last) &&
                      AddrBits'(ci.a_addr) <= AddrBits'(d_last);
  assign b_meets    = AddrBits'(ci.dst_addr) <= AddrBits'(b_last) &&
                      AddrBits'(ci.b_addr) <= AddrBits'(d_last);
  assign a_in_place = in_place_ok && ci.dst_addr == ci.a_addr && ci.dst_pitch == ci.a_pitch &&
                      (ci.rows == 13'd1 || 13'(ci.a_pitch) >= a_lines);
  assign b_in_place = in_place_ok && ci.b_mode != BRow && ci.dst_addr == ci.b_addr &&
                      ci.dst_pitch == ci.b_pitch &&
                      (ci.rows == 13'd1 || 13'(ci.b_pitch) >= b_lines);
  assign a_alias    = a_meets && !a_in_place;
  assign b_alias    = ci_b_used && b_meets && !b_in_place;

  always_comb begin
    bad      = 1'b1;
    bad_code = npu_isa_pkg::ErrBadField;
    bad_info = '0;
    if (ci.rows == '0) begin
      bad_info = 32'(ci.rows);
    end else if (ci.row_len == '0) begin
      bad_info = 32'(ci.row_len);
    end else if (ci.op > npu_pkg::VecOpRsum) begin
      bad_info = 32'(ci.op);
    end else if (ci.sat == 2'd3) begin
      bad_info = 32'(ci.sat);
    end else if (ci.b_mode == 2'd3) begin
      bad_info = 32'(ci.b_mode);
    end else if (ci.a_type == 2'd3) begin
      bad_info = 32'(ci.a_type);
    end else if (ci.dst_type == 2'd3) begin
      bad_info = 32'(ci.dst_type);
    end else begin
      bad_code = npu_isa_pkg::ErrSpadRange;
      if (a_last >= SpadLinesW) begin
        bad_info = a_last;
      end else if (ci_b_used && b_last >= SpadLinesW) begin
        bad_info = b_last;
      end else if (d_last >= SpadLinesW) begin
        bad_info = d_last;
      end else if (a_alias || b_alias) begin
        bad_code = npu_isa_pkg::ErrOperandOverlap;
        bad_info = 32'(ci.dst_addr);
      end else begin
        bad      = 1'b0;
        bad_code = npu_isa_pkg::ErrNone;
      end
    end
  end

  // ---- control --------------------------------------------------------------------------------
  logic        start;
  logic        run_done;
  logic [7:0]  err_code_q;
  logic [31:0] err_info_q;

  assign start = (state_q == StIdle) && insn_valid_i && !bad;

  always_comb begin
    state_d = state_q;
    unique case (state_q)
      StIdle:  if (insn_valid_i) state_d = bad ? StErr : StRun;
      StRun:   if (run_done) state_d = StIdle;
      StErr:   state_d = StIdle;
      default: state_d = StIdle;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q     <= StIdle;
      op_q        <= '0;
      sat_q       <= '0;
      b_mode_q    <= '0;
      a_type_q    <= '0;
      dst_type_q  <= '0;
      lock_q      <= '0;
      shift_q     <= '0;
      scalar_q    <= '0;
      dst_pitch_q <= '0;
      row_len_q   <= '0;
      causal_q    <= 1'b0;
      err_code_q  <= '0;
      err_info_q  <= '0;
    end else begin
      state_q <= state_d;
      if (state_q == StIdle && insn_valid_i) begin
        op_q        <= ci.op;
        sat_q       <= ci.sat;
        b_mode_q    <= ci.b_mode;
        a_type_q    <= ci.a_type;
        dst_type_q  <= ci.dst_type;
        lock_q      <= ci.lock_readers;
        shift_q     <= ci.shift;
        scalar_q    <= ci.scalar;
        dst_pitch_q <= AddrBits'(ci.dst_pitch);
        row_len_q   <= ci.row_len;
        causal_q    <= ci.causal;
        err_code_q  <= bad_code;
        err_info_q  <= bad_info;
      end
    end
  end

  assign insn_ready_o = (state_q == StIdle);
  assign busy_o       = (state_q != StIdle);
  assign done_o       = (state_q == StRun) && run_done;
  assign err_o        = (state_q == StErr);
  assign err_code_o   = err_o ? err_code_q : 8'(npu_isa_pkg::ErrNone);
  assign err_info_o   = err_o ? err_info_q : '0;

  // Per-instruction constants, registered at start for the run.
  logic [12:0] v_last_q, rows_last_q;
  logic        is_red_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v_last_q    <= '0;
      rows_last_q <= '0;
      is_red_q    <= 1'b0;
    end else if (start) begin
      v_last_q    <= vecs[12:0] - 13'd1;
      rows_last_q <= ci.rows - 13'd1;
      is_red_q    <= is_red;
    end
  end

  // ---- operand streams --------------------------------------------------------------------------
  logic                a_done, b_done, a_moved, b_moved;
  logic                a_line_valid, b_line_valid, a_pop, b_pop;
  logic [LineBits-1:0] a_line, b_line;

  npu_vector_rd_stream #(
    .AddrBits   (AddrBits),
    .LineBits   (LineBits),
    .RegionLines(RegionLines),
    .Regions    (Regions),
    .Depth      (2),
    .ReaderBits (ReaderBits)
  ) u_a_stream (
    .clk_i,
    .rst_ni,
    .start_i       (start),
    .en_i          (1'b1),
    .release_i     (ci.release_a),
    .base_i        (AddrBits'(ci.a_addr)),
    .pitch_i       (ci.a_pitch),
    .rows_i        (ci.rows),
    .lines_i       (a_lines),
    .done_o        (a_done),
    .busy_o        (a_moved),
    .req_o         (a_req_o),
    .rsp_i         (a_rsp_i),
    .line_valid_o  (a_line_valid),
    .line_o        (a_line),
    .line_pop_i    (a_pop)
  );

  npu_vector_rd_stream #(
    .AddrBits   (AddrBits),
    .LineBits   (LineBits),
    .RegionLines(RegionLines),
    .Regions    (Regions),
    .Depth      (2),
    .ReaderBits (ReaderBits)
  ) u_b_stream (
    .clk_i,
    .rst_ni,
    .start_i       (start),
    .en_i          (ci_b_used),
    .release_i     (ci.release_b),
    .base_i        (AddrBits'(ci.b_addr)),
    .pitch_i       (ci.b_pitch),
    .rows_i        (ci.rows),
    .lines_i       (b_lines),
    .done_o        (b_done),
    .busy_o        (b_moved),
    .req_o         (b_req_o),
    .rsp_i         (b_rsp_i),
    .line_valid_o  (b_line_valid),
    .line_o        (b_line),
    .line_pop_i    (b_pop)
  );

  // ---- feeder: one vector per cycle into the unit -----------------------------------------------
  // Row i's valid length: row_len, or with causal min(row_len, max(0, diag + i)).
  logic [12:0]        f_row_q, f_v_q, f_rem_q;
  logic signed [15:0] f_lim_q;
  logic               f_done_q;

  function automatic logic [12:0] row_valid_len(input logic causal, input logic [15:0] lim,
                                                input logic [12:0] row_len);
    row_valid_len = row_len;
    if (causal) begin
      if ($signed(lim) <= 16'sd0) begin
        row_valid_len = '0;
      end else if (lim < 16'(row_len)) begin
        row_valid_len = lim[12:0];
      end
    end
  endfunction

  logic                f_valid, f_fire, f_row_end, f_line_end, in_ready;
  logic [LineBits-1:0] op_a, op_b;
  logic [Lanes-1:0]    f_mask;

  logic                b_used;

  assign b_used     = (b_mode_q != BScalar);
  assign f_valid    = (state_q == StRun) && !f_done_q && a_line_valid &&
                      (!b_used || b_line_valid);
  assign f_fire     = f_valid && in_ready;
  assign f_row_end  = (f_v_q == v_last_q);
  // An 8-bit line is done after its fourth quarter or at the end of the row.
  assign f_line_end = (a_type_q == TypeInt32) || (f_v_q[1:0] == 2'd3) || f_row_end;
  assign a_pop      = f_fire && f_line_end;
  assign b_pop      = f_fire && b_used && ((b_mode_q == BRow) ? f_row_end : f_line_end);

  // Operands: int32 lines as they are; 8-bit: the vector's quarter, sign or zero extended.
  function automatic logic [LineBits-1:0] widen(input logic [LineBits-1:0] line,
                                                input logic [1:0] quarter,
                                                input logic [1:0] etype);
    logic [QBits-1:0]    q;
    logic [LineBits-1:0] ext;
    unique case (quarter)
      2'd0:    q = line[0*QBits +: QBits];
      2'd1:    q = line[1*QBits +: QBits];
      2'd2:    q = line[2*QBits +: QBits];
      default: q = line[3*QBits +: QBits];
    endcase
    // The loop is unconditional: Yosys 0.23 infers a latch for a loop variable under an if.
    for (int unsigned l = 0; l < Lanes; l++) begin
      ext[32*l +: 32] = {{24{(etype == TypeInt8) && q[8*l+7]}}, q[8*l +: 8]};
    end
    widen = (etype == TypeInt32) ? line : ext;
  endfunction

  assign op_a = widen(a_line, f_v_q[1:0], a_type_q);
  assign op_b = (b_mode_q == BRow) ? b_line : widen(b_line, f_v_q[1:0], a_type_q);

  always_comb begin
    for (int unsigned l = 0; l < Lanes; l++) begin
      f_mask[l] = f_rem_q > 13'(l);
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      f_row_q  <= '0;
      f_v_q    <= '0;
      f_rem_q  <= '0;
      f_lim_q  <= '0;
      f_done_q <= 1'b1;
    end else if (start) begin
      f_row_q  <= '0;
      f_v_q    <= '0;
      f_lim_q  <= 16'($signed(ci.diag));
      f_rem_q  <= row_valid_len(ci.causal, 16'($signed(ci.diag)), ci.row_len);
      f_done_q <= 1'b0;
    end else if (f_fire) begin
      if (f_row_end) begin
        f_v_q   <= '0;
        f_row_q <= f_row_q + 13'd1;
        f_lim_q <= f_lim_q + 16'sd1;
        f_rem_q <= row_valid_len(causal_q, f_lim_q + 16'sd1, row_len_q);
        if (f_row_q == rows_last_q) begin
          f_done_q <= 1'b1;
        end
      end else begin
        f_v_q   <= f_v_q + 13'd1;
        f_rem_q <= (f_rem_q > 13'(Lanes)) ? f_rem_q - 13'(Lanes) : '0;
      end
    end
  end

  // ---- vector ALU array -------------------------------------------------------------------------
  logic                u_out_valid, u_out_ready, u_busy;
  logic [LineBits-1:0] u_out_data;
  logic [FlagBits-1:0] u_out_flags;
  logic                u_out_tag;

  npu_vector_unit #(
    .Lanes            (Lanes),
    .TagBits          (1),
    .RecipBitsPerStage(RecipBitsPerStage)
  ) u_unit (
    .clk_i,
    .rst_ni,
    .in_valid_i   (f_valid),
    .in_ready_o   (in_ready),
    .in_op_i      (op_q),      // checked to be a defined VecOp before the run
    .in_sat_i     (sat_q),     // checked to be a defined SatMode
    .in_b_scalar_i(b_mode_q == BScalar),
    .in_scalar_i  (scalar_q),
    .in_shift_i   (shift_q),
    .in_a_i       (op_a),
    .in_b_i       (op_b),
    .in_mask_i    (f_mask),
    .in_row_last_i(f_row_end),
    .in_tag_i     (1'b0),
    .out_valid_o  (u_out_valid),
    .out_ready_i  (u_out_ready),
    .out_data_o   (u_out_data),
    .out_flags_o  (u_out_flags),
    .out_tag_o    (u_out_tag),
    .busy_o       (u_busy)
  );

  logic u_out_fire;
  assign u_out_fire = u_out_valid && u_out_ready;

  // Sticky flags; an event in the cycle of a clear is kept (not lost to the clear).
  logic [FlagBits-1:0] flags_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      flags_q <= '0;
    end else begin
      flags_q <= (flags_clear_i ? '0 : flags_q) | (u_out_fire ? u_out_flags : '0);
    end
  end
  assign flags_o = flags_q;

  // ---- write assembler: result positions, 8-bit packing ------------------------------------------
  // Quarters 0..2 of an 8-bit line wait in stage_q until the line is complete; quarter 3 (or
  // the row's last vector) completes it. Reductions write one vector per row at position 0.
  logic [12:0]         w_v_q;
  logic [AddrBits-1:0] w_base_q;
  logic [3*QBits-1:0]  stage_q;
  logic [2:0]          stage_qv_q;
  logic                w_all_q;    // every result has been accepted

  logic                w_int32, w_flush, w_last;
  logic [1:0]          w_quarter;
  logic [AddrBits-1:0] w_addr;
  logic [QBits-1:0]    packed_bytes;
  logic [LineBits-1:0] w_data;
  logic [StrbBits-1:0] w_strb;
  logic [3:0]          w_qsel;
  logic                wf_in_ready, wf_out_valid, wf_pop;
  logic [WEntryBits-1:0] wf_out;
  logic [1:0]          wf_count;
  logic                w_direct;   // a completed line presented straight from the unit

  assign w_int32   = (dst_type_q == TypeInt32);
  assign w_quarter = is_red_q ? 2'd0 : w_v_q[1:0];
  assign w_addr    = w_base_q + (is_red_q ? '0
                                          : AddrBits'(w_int32 ? w_v_q : (w_v_q >> 2)));
  assign w_flush   = w_int32 || is_red_q || (w_v_q[1:0] == 2'd3) || (w_v_q == v_last_q);
  assign w_last    = is_red_q || (w_v_q == v_last_q);   // the result closes its row

  always_comb begin
    for (int unsigned l = 0; l < Lanes; l++) begin
      packed_bytes[8*l +: 8] = u_out_data[32*l +: 8];
    end
    for (int unsigned j = 0; j < 4; j++) begin
      w_qsel[j] = (w_quarter == 2'(j)) || ((j < 3) && stage_qv_q[j % 3]);
    end
    if (w_int32) begin
      w_data = u_out_data;
      w_strb = '1;
    end else begin
      for (int unsigned j = 0; j < 4; j++) begin
        w_data[j*QBits +: QBits] = (j == 3 || w_quarter == 2'(j)) ? packed_bytes
                                                                  : stage_q[(j % 3)*QBits +: QBits];
        w_strb[j*Lanes +: Lanes] = {Lanes{w_qsel[j]}};
      end
    end
  end

  // The unit's result is taken when it needs no FIFO entry or the FIFO has room.
  assign u_out_ready = (state_q == StRun) && !w_all_q && (!w_flush || wf_in_ready);

  npu_fifo #(
    .Width(WEntryBits),
    .Depth(2)
  ) u_wfifo (
    .clk_i,
    .rst_ni,
    .clear_i    (1'b0),
    .in_valid_i (u_out_fire && w_flush && !(w_direct && d_rsp.ready)),
    .in_ready_o (wf_in_ready),
    .in_data_i  ({w_addr, w_data, w_strb}),
    .out_valid_o(wf_out_valid),
    .out_ready_i(wf_pop),
    .out_data_o (wf_out),
    .count_o    (wf_count)
  );

  logic [12:0] w_row_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      w_v_q      <= '0;
      w_row_q    <= '0;
      w_base_q   <= '0;
      stage_qv_q <= '0;
      w_all_q    <= 1'b1;
    end else if (start) begin
      w_v_q      <= '0;
      w_row_q    <= '0;
      w_base_q   <= AddrBits'(ci.dst_addr);
      stage_qv_q <= '0;
      w_all_q    <= 1'b0;
    end else if (u_out_fire) begin
      if (w_flush) begin
        stage_qv_q <= '0;
      end else begin
        // Not flushed: the quarter is 0, 1 or 2.
        stage_qv_q <= stage_qv_q | w_qsel[2:0];
      end
      if (w_last) begin
        w_v_q    <= '0;
        w_row_q  <= w_row_q + 13'd1;
        // Modulo 2^AddrBits, exact for every address used (the range check passed).
        w_base_q <= w_base_q + dst_pitch_q;
        if (w_row_q == rows_last_q) begin
          w_all_q <= 1'b1;
        end
      end else begin
        w_v_q <= w_v_q + 13'd1;
      end
    end
  end

  // Packing storage: no reset needed (only read under stage_qv_q).
  always_ff @(posedge clk_i) begin
    if (u_out_fire && !w_flush) begin
      for (int unsigned j = 0; j < 3; j++) begin
        if (w_quarter == 2'(j)) begin
          stage_q[j*QBits +: QBits] <= packed_bytes;
        end
      end
    end
  end

  // ---- result port: data writes, then the lock writes -------------------------------------------
  // With the FIFO empty, a completed line goes straight from the unit's output to the port; if
  // it is not granted at once it enters the FIFO and is presented again, unchanged, from there.
  logic [AddrBits-1:0]   lock_addr;
  logic                  lock_any, lock_phase, d_gnt;
  logic                  data_valid, data_gnt;
  logic [AddrBits-1:0]   data_addr;
  logic [LineBits-1:0]   data_wdata;
  logic [StrbBits-1:0]   data_wstrb;

  assign w_direct    = !wf_out_valid && u_out_valid && w_flush && (state_q == StRun) && !w_all_q;
  assign data_valid  = wf_out_valid || w_direct;
  assign data_addr   = wf_out_valid ? wf_out[WEntryBits-1 -: AddrBits] : w_addr;
  assign data_wdata  = wf_out_valid ? wf_out[StrbBits +: LineBits] : w_data;
  assign data_wstrb  = wf_out_valid ? wf_out[0 +: StrbBits] : w_strb;
  assign d_gnt       = d_req.valid && d_rsp.ready;
  assign data_gnt    = data_valid && d_rsp.ready;
  assign wf_pop      = wf_out_valid && d_rsp.ready;

  assign lock_phase = (state_q == StRun) && w_all_q && !wf_out_valid &&
                      (lock_q != '0);

  // Regions the result writes touched: each gets one lock write after the last data write.
  npu_region_tracker #(
    .SpadLines   (SpadLines),
    .RegionLines (RegionLines)
  ) u_d_lock (
    .clk_i,
    .rst_ni,
    .clear_i       (start),
    .mark_i        (data_gnt),
    .mark_region_i (RegionBits'(data_addr >> RegionShift)),
    .pop_i         (lock_phase && lock_any && d_rsp.ready),
    .pending_o     (lock_any),
    .addr_o        (lock_addr)
  );

  assign d_req.valid    = data_valid || (lock_phase && lock_any);
  assign d_req.write    = 1'b1;
  assign d_req.addr     = data_valid ? data_addr : lock_addr;
  assign d_req.wdata    = data_valid ? data_wdata : '0;
  assign d_req.wstrb    = data_valid ? data_wstrb : '0;
  assign d_req.readers  = data_valid ? '0 : ReaderBits'(lock_q);
  assign d_req.last_use = 1'b0;

  // Every result written, every lock write granted, every read (and release) granted.
  assign run_done = w_all_q && !wf_out_valid &&
                    ((lock_q == '0) || !lock_any) && a_done && b_done;

  // ---- stall: busy without any movement this cycle -------------------------------------------
  logic progress;
  assign progress = (state_q != StRun) || a_moved || b_moved || d_gnt || f_fire || u_out_fire ||
                    (u_busy && !(u_out_valid && !u_out_ready)) || run_done;
  assign stall_o  = busy_o && !progress;

  // The write port has no read data; the tag is not needed (results leave the unit in order);
  // the header and reserved bits are the dispatcher's; the FIFO's fill level is not needed.
  logic unused;
  assign unused = ^{d_rsp.rvalid, d_rsp.rdata, u_out_tag, ci.opcode, ci.wait_mask,
                    ci.signal_mask, ci.reserved, wf_count};

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions -------------------------------------------------------------------------
  `NPU_ASSERT_ENGINE_CONTRACT
  `NPU_ASSERT(VeStateValid_A, state_q inside {StIdle, StRun, StErr}, "illegal FSM state")
  // Feeder -> vector unit stream: a vector is held, unchanged, until the unit takes it.
  `NPU_ASSERT(VeFeedHeld_A, f_valid && !in_ready |=> f_valid, "vector withdrawn before in_ready")
  `NPU_ASSERT(VeFeedStable_A,
              f_valid && !in_ready |=> $stable({op_q, sat_q, b_mode_q, scalar_q, shift_q, op_a,
                                                op_b, f_mask, f_row_end}),
              "vector changed before in_ready")
  `NPU_ASSERT(VeWFifoNoOverflow_A, u_out_fire && w_flush && !(w_direct && d_rsp.ready) |->
              wf_in_ready, "result line pushed into a full write FIFO")
`endif

endmodule
