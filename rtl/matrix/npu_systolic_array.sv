// Weight-stationary Dim x Dim int8 systolic array: PE grid, input skew and output de-skew.
//
// PE(k, j) (row k, column j) holds two int8 weights W[0][k][j], W[1][k][j] (double buffering).
// Activations flow right along a PE row, partial sums flow down a PE column:
//   psum(k, j) = psum(k-1, j) + a[k] * W[sel][k][j],   psum(-1, j) = 0
// so the bottom of column j produces C[j] = sum_k a[k] * W[sel][k][j] for one input row a.
//
// Every activation element travels with the 1-bit buffer select of its row, so a row uses the
// weights it was issued with even while the other buffer is being written: the owner (the
// matrix unit) only overwrites weights that no row in the grid will read again.
//
// Timing (in `advance_i` cycles, everything moves only when advance_i is high; weight writes
// do not depend on it): a row captured at the input is stage 1. Element k of the row reaches
// PE(k, j) at stage 1 + k + j (skew: element k waits k cycles before entering PE row k),
// PE(k, j)'s partial sum register holds its result at stage 2 + k + j, and column j is delayed
// by Dim - 1 - j cycles (de-skew) so the whole output row C is valid at stage Latency = 2*Dim.
// The weights of a row are last read by PE(Dim-1, Dim-1) while the row is at stage 2*Dim - 1.
//
// Arithmetic: a is 9-bit signed (int8 sign-extended or uint8 zero-extended at the input),
// w is int8, |a * w| <= 255 * 128 = 32640 < 2**15, so a column sum of Dim products fits in
// PsumBits = 16 + log2(Dim) signed bits and never overflows. The output is sign-extended to
// int32. The array has no control state, hence no reset: the owner tracks which stages hold
// valid rows.
module npu_systolic_array #(
  parameter int unsigned Dim = npu_pkg::ArrayDim,
  localparam int unsigned IdxBits = (Dim > 1) ? $clog2(Dim) : 1
) (
  input  logic                 clk_i,
  // Global pipeline enable (the matrix unit's backpressure stall).
  input  logic                 advance_i,

  // Input row: element k in bits [8k +: 8]; in_signed_i selects int8 (1) or uint8 (0).
  input  logic [Dim*8-1:0]     in_a_i,
  input  logic                 in_signed_i,
  input  logic                 in_sel_i,       // weight buffer this row multiplies with

  // Weight write port: one input row per cycle into buffer w_buf_i. Without transpose, input
  // element j goes to W[w_idx_i][j] (a PE row); with transpose, element k goes to
  // W[k][w_idx_i] (a PE column).
  input  logic                 w_we_i,
  input  logic                 w_buf_i,
  input  logic                 w_transpose_i,
  input  logic [IdxBits-1:0]   w_idx_i,
  input  logic [Dim*8-1:0]     w_data_i,

  // Output row C (stage 2*Dim): element j in bits [32j +: 32], int32.
  output logic [Dim*32-1:0]    out_c_o
);

  localparam int unsigned ABits = 9;                      // int8 / uint8 as 9-bit signed
  localparam int unsigned SBits = ABits + 1;              // activation + buffer select
  localparam int unsigned PsumBits = 16 + $clog2(Dim);    // see the bound above

  // Packed multi-dimensional arrays are avoided (Yosys 0.23 does not parse them): per-PE
  // registers live in their generate scope and are exported on flat buses, element (k, j) at
  // index k*Dim + j.

  // ---------------------------------------------------------------------------------------
  // Input extension and skew: skew_out element k is the input element k delayed k cycles.
  // ---------------------------------------------------------------------------------------
  logic [Dim*SBits-1:0] skew_out;

  for (genvar k = 0; k < Dim; k++) begin : g_skew
    logic [SBits-1:0] in_ext;
    assign in_ext = {in_sel_i, in_signed_i & in_a_i[8*k+7], in_a_i[8*k +: 8]};

    if (k == 0) begin : g_direct
      assign skew_out[0 +: SBits] = in_ext;
    end else begin : g_delay
      // dly_q holds the last k inputs, the newest in the low bits.
      logic [k*SBits-1:0] dly_q;
      always_ff @(posedge clk_i) begin
        if (advance_i) begin
          dly_q[0 +: SBits] <= in_ext;
          for (int unsigned s = 1; s < k; s++) begin
            dly_q[s*SBits +: SBits] <= dly_q[(s-1)*SBits +: SBits];
          end
        end
      end
      assign skew_out[k*SBits +: SBits] = dly_q[(k-1)*SBits +: SBits];
    end
  end

  // ---------------------------------------------------------------------------------------
  // PE grid. pe_a / pe_sel: the activation register at PE(k, j)'s input (it feeds the PE's
  // multiplier and PE(k, j+1)); pe_psum: PE(k, j)'s partial sum register.
  // ---------------------------------------------------------------------------------------
  // pe_a / pe_sel only exist for columns 0..Dim-2 (index k*(Dim-1) + j): the last column's
  // activation goes no further right.
  logic [Dim*(Dim-1)*ABits-1:0] pe_a;
  logic [Dim*(Dim-1)-1:0]       pe_sel;
  logic [Dim*Dim*PsumBits-1:0] pe_psum;

  for (genvar k = 0; k < Dim; k++) begin : g_row
    for (genvar j = 0; j < Dim; j++) begin : g_col
      localparam int unsigned Idx  = k * Dim + j;
      localparam int unsigned AIdx = k * (Dim - 1) + j;

      logic [ABits-1:0]    a_in, a_q;
      logic                sel_in, sel_q;
      logic [PsumBits-1:0] psum_in, psum_q;
      logic [7:0]          w0_q, w1_q, w_cur;
      logic [16:0]         prod;
      logic                w_hit;
      logic [7:0]          w_wdata;

      if (j == 0) begin : g_a_skew
        assign a_in   = skew_out[k*SBits +: ABits];
        assign sel_in = skew_out[k*SBits + ABits];
      end else begin : g_a_left
        assign a_in   = pe_a[(AIdx-1)*ABits +: ABits];
        assign sel_in = pe_sel[AIdx-1];
      end

      if (k == 0) begin : g_psum_top
        assign psum_in = '0;
      end else begin : g_psum_above
        assign psum_in = pe_psum[(Idx-Dim)*PsumBits +: PsumBits];
      end

      // 9-bit signed x 8-bit signed -> 17-bit signed product.
      assign w_cur = sel_q ? w1_q : w0_q;
      assign prod  = $signed({{8{a_q[ABits-1]}}, a_q}) * $signed({{9{w_cur[7]}}, w_cur});

      always_ff @(posedge clk_i) begin
        if (advance_i) begin
          a_q    <= a_in;
          sel_q  <= sel_in;
          psum_q <= psum_in + {{(PsumBits-16){prod[16]}}, prod[15:0]};
        end
      end

      // Weight write: a PE row (normal) or a PE column (transposed) of buffer w_buf_i.
      // Independent of advance_i: the owner only writes a buffer no row in flight uses.
      assign w_hit   = w_we_i && (w_transpose_i ? (w_idx_i == IdxBits'(j))
                                                : (w_idx_i == IdxBits'(k)));
      assign w_wdata = w_transpose_i ? w_data_i[8*k +: 8] : w_data_i[8*j +: 8];

      always_ff @(posedge clk_i) begin
        if (w_hit && !w_buf_i) w0_q <= w_wdata;
        if (w_hit &&  w_buf_i) w1_q <= w_wdata;
      end

      if (j < Dim - 1) begin : g_a_export
        assign pe_a[AIdx*ABits +: ABits] = a_q;
        assign pe_sel[AIdx]              = sel_q;
      end
      assign pe_psum[Idx*PsumBits +: PsumBits] = psum_q;
    end
  end

  // ---------------------------------------------------------------------------------------
  // De-skew: column j leaves the bottom PE at stage Dim + 1 + j; delay it Dim - 1 - j cycles
  // so that the whole row is valid at stage 2*Dim.
  // ---------------------------------------------------------------------------------------
  for (genvar j = 0; j < Dim; j++) begin : g_deskew
    logic [PsumBits-1:0] bottom, col;
    assign bottom = pe_psum[((Dim-1)*Dim + j)*PsumBits +: PsumBits];

    if (j == Dim - 1) begin : g_direct
      assign col = bottom;
    end else begin : g_delay
      localparam int unsigned Depth = Dim - 1 - j;
      logic [Depth*PsumBits-1:0] dly_q;
      always_ff @(posedge clk_i) begin
        if (advance_i) begin
          dly_q[0 +: PsumBits] <= bottom;
          for (int unsigned s = 1; s < Depth; s++) begin
            dly_q[s*PsumBits +: PsumBits] <= dly_q[(s-1)*PsumBits +: PsumBits];
          end
        end
      end
      assign col = dly_q[(Depth-1)*PsumBits +: PsumBits];
    end
    assign out_c_o[32*j +: 32] = {{(32-PsumBits){col[PsumBits-1]}}, col};
  end

endmodule
