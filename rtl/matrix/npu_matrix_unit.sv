// Matrix unit: a double-buffered weight-stationary systolic array with an int32 accumulator
// memory. See docs/matrix_unit.md.
//
// Streams (valid/ready):
//   W: Dim rows make one weight tile. Row r becomes weight row r (W[r][j] = in[j], for A*B with
//      B row-major) or, with w_transpose_i, weight column r (W[k][r] = in[k], for A*K^T with K
//      row-major). A tile loads into the free buffer while the other one is in use.
//   A: one activation row per beat, int8 or uint8 (a_signed_i). It multiplies with the oldest
//      loaded tile; a_last_i retires that tile after this row. Per row:
//        result[j] = (a_acc_accumulate_i ? acc[addr][j] : 0) + sum_k a[k] * W[k][j]
//      in int32 two's complement (wraps modulo 2**32), written to acc[addr] if a_acc_write_i
//      and sent on the C stream if a_emit_i.
//   C: emitted result rows in A order, with the row's accumulator address and tag.
//
// Pipeline (one global enable, `advance`): a row accepted in cycle t is at stage s in cycle
// t + s. The array's output is valid at stage L = 2*Dim; the accumulator row is read at stage
// L-1 (synchronous read) so it arrives together with the array output; at stage L the sum is
// written back and captured in the C output register (c_valid_o in cycle t + L + 1). When the
// output register is full and not taken (c_valid_o && !c_ready_i) nothing moves: the array,
// the metadata pipe, the accumulator stage and A acceptance all hold. Weight loading continues
// during a stall; it only ever writes weights that no row in flight will read again.
//
// Weight buffers: tiles are loaded into buffers 0, 1, 0, ... (load_buf_q) and used in the same
// order (use_buf_q). full_q[b]: a complete tile is loaded in buffer b and not yet retired.
// After retirement the buffer is freed PE row by PE row behind the retiring row (the last row
// that uses it): weight row / column r may be overwritten once that row has passed PE row /
// column r, i.e. it is at stage > Dim + r (PE(r, Dim-1) and PE(Dim-1, r) are its last users
// there, at stage Dim + r). The check uses the row's current stage, so it stays safe while
// the array is stalled and loading goes on. A tile must be used by >= 2*Dim rows for the
// load of the tile after next to be hidden completely (docs/matrix_unit.md).
module npu_matrix_unit #(
  parameter int unsigned Dim      = npu_pkg::ArrayDim,
  parameter int unsigned AccLines = npu_pkg::AccLines,
  parameter int unsigned TagBits  = 16,
  localparam int unsigned AddrBits = (AccLines > 1) ? $clog2(AccLines) : 1,
  localparam int unsigned IdxBits  = (Dim > 1) ? $clog2(Dim) : 1
) (
  input  logic                clk_i,
  input  logic                rst_ni,

  // Weight (B) tile load stream.
  input  logic                w_valid_i,
  output logic                w_ready_o,
  input  logic [Dim*8-1:0]    w_data_i,        // element j in bits [8j +: 8], int8
  input  logic                w_transpose_i,   // keep constant within a tile

  // A row stream.
  input  logic                a_valid_i,
  output logic                a_ready_o,
  input  logic [Dim*8-1:0]    a_data_i,        // element k in bits [8k +: 8]
  input  logic                a_signed_i,      // 1: int8, 0: uint8
  input  logic                a_last_i,        // last row of the current weight tile
  input  logic [AddrBits-1:0] a_acc_addr_i,
  input  logic                a_acc_write_i,
  input  logic                a_acc_accumulate_i,
  input  logic                a_emit_i,
  input  logic [TagBits-1:0]  a_tag_i,

  // C result stream.
  output logic                c_valid_o,
  input  logic                c_ready_i,
  output logic [Dim*32-1:0]   c_data_o,        // element j in bits [32j +: 32], int32
  output logic [AddrBits-1:0] c_acc_addr_o,
  output logic [TagBits-1:0]  c_tag_o,

  // Status.
  output logic                busy_o,
  output logic                stall_o
);

  localparam int unsigned L = 2 * Dim;   // systolic array latency (stages)

  logic advance;      // the whole pipeline moves this cycle
  logic a_fire, w_fire;

  // ---------------------------------------------------------------------------------------
  // Weight buffer bookkeeping
  // ---------------------------------------------------------------------------------------
  logic               load_buf_q, use_buf_q;
  logic [1:0]         full_q;
  logic [IdxBits-1:0] w_cnt_q;
  logic               w_tile_done, wave_block;

  // Weight row w_cnt_q of the load buffer may be written once its tile is retired and the
  // retiring row is past PE row / column w_cnt_q (wave_block, computed below).
  assign w_ready_o   = !full_q[load_buf_q] && !wave_block;
  assign w_fire      = w_valid_i && w_ready_o;
  assign w_tile_done = w_fire && (w_cnt_q == IdxBits'(Dim - 1));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      load_buf_q <= 1'b0;
      use_buf_q  <= 1'b0;
      full_q     <= '0;
      w_cnt_q    <= '0;
    end else begin
      if (w_fire) begin
        w_cnt_q <= w_tile_done ? '0 : w_cnt_q + 1'b1;
      end
      if (w_tile_done) begin
        full_q[load_buf_q] <= 1'b1;
        load_buf_q         <= !load_buf_q;
      end
      // Retiring a tile (its last row accepted) and completing a load never hit the same
      // buffer in one cycle: a buffer being loaded is not full.
      if (a_fire && a_last_i) begin
        full_q[use_buf_q] <= 1'b0;
        use_buf_q         <= !use_buf_q;
      end
    end
  end

  // ---------------------------------------------------------------------------------------
  // Input acceptance
  // ---------------------------------------------------------------------------------------
  logic c_valid_q;

  assign advance   = !c_valid_q || c_ready_i;
  assign a_ready_o = advance && full_q[use_buf_q];
  assign a_fire    = a_valid_i && a_ready_o;

  // ---------------------------------------------------------------------------------------
  // Systolic array. Bubbles enter as zero activations (no toggling in the multipliers); the
  // gate uses the acceptance condition without c_ready_i, which only matters when advance is
  // high anyway.
  // ---------------------------------------------------------------------------------------
  logic [Dim*8-1:0]  arr_a;
  logic [Dim*32-1:0] arr_c;

  assign arr_a = (a_valid_i && full_q[use_buf_q]) ? a_data_i : '0;

  npu_systolic_array #(
    .Dim (Dim)
  ) u_array (
    .clk_i,
    .advance_i     (advance),
    .in_a_i        (arr_a),
    .in_signed_i   (a_signed_i),
    .in_sel_i      (use_buf_q),
    .w_we_i        (w_fire),
    .w_buf_i       (load_buf_q),
    .w_transpose_i (w_transpose_i),
    .w_idx_i       (w_cnt_q),
    .w_data_i      (w_data_i),
    .out_c_o       (arr_c)
  );

  // ---------------------------------------------------------------------------------------
  // Metadata pipe, aligned with the array: entry s (1..L) describes the row at stage s.
  // Packed vectors, field index s-1, because Yosys 0.23 does not take packed arrays.
  // The buffer select and retire flag are only needed until the row leaves the grid (L-1).
  // ---------------------------------------------------------------------------------------
  logic [L-1:0]            m_valid_q;
  logic [(L-1)-1:0]        m_sel_q, m_last_q;
  logic [L*AddrBits-1:0]   m_addr_q;
  logic [L-1:0]            m_write_q, m_accum_q, m_emit_q;
  logic [L*TagBits-1:0]    m_tag_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      m_valid_q <= '0;
    end else if (advance) begin
      m_valid_q <= {m_valid_q[L-2:0], a_fire};
    end
  end

  // Data fields: no reset, they are qualified by m_valid_q.
  always_ff @(posedge clk_i) begin
    if (advance) begin
      m_sel_q   <= {m_sel_q[L-3:0], use_buf_q};
      m_last_q  <= {m_last_q[L-3:0], a_last_i};
      m_addr_q  <= {m_addr_q[(L-1)*AddrBits-1:0], a_acc_addr_i};
      m_write_q <= {m_write_q[L-2:0], a_acc_write_i};
      m_accum_q <= {m_accum_q[L-2:0], a_acc_accumulate_i};
      m_emit_q  <= {m_emit_q[L-2:0], a_emit_i};
      m_tag_q   <= {m_tag_q[(L-1)*TagBits-1:0], a_tag_i};
    end
  end

  // The retiring row of the load buffer's previous tile, if it is still in the grid, sits at
  // one stage s (1..L-1): rows at stage s have passed every PE (k, j) with 1 + k + j < s.
  // Writing weight row / column w_cnt_q needs s > Dim + w_cnt_q. Earlier rows that used the
  // buffer are ahead of the retiring row, so checking it alone suffices.
  always_comb begin
    wave_block = 1'b0;
    for (int unsigned s = 1; s < L; s++) begin
      if (m_valid_q[s-1] && m_last_q[s-1] && (m_sel_q[s-1] == load_buf_q) &&
          (s <= Dim + 32'(w_cnt_q))) begin
        wave_block = 1'b1;
      end
    end
  end

  // Stage L-1 (index L-2) and stage L (index L-1) views.
  logic                pre_valid, pre_accum;
  logic [AddrBits-1:0] pre_addr;
  logic                out_valid, out_write, out_accum, out_emit;
  logic [AddrBits-1:0] out_addr;
  logic [TagBits-1:0]  out_tag;

  assign pre_valid = m_valid_q[L-2];
  assign pre_accum = m_accum_q[L-2];
  assign pre_addr  = m_addr_q[(L-2)*AddrBits +: AddrBits];
  assign out_valid = m_valid_q[L-1];
  assign out_write = m_write_q[L-1];
  assign out_accum = m_accum_q[L-1];
  assign out_emit  = m_emit_q[L-1];
  assign out_addr  = m_addr_q[(L-1)*AddrBits +: AddrBits];
  assign out_tag   = m_tag_q[(L-1)*TagBits +: TagBits];

  // ---------------------------------------------------------------------------------------
  // Accumulator memory: AccLines x (Dim x int32), one synchronous read port (stage L-1) and
  // one write port (stage L). A row at stage L-1 reading the address the row at stage L
  // writes in the same cycle would get the stale value from the memory, so that result is
  // forwarded instead (this is what makes consecutive accumulations into one row exact).
  // ---------------------------------------------------------------------------------------
  logic [Dim*32-1:0] acc_mem [AccLines];
  logic [Dim*32-1:0] acc_rdata_q, fwd_data_q, acc_old, result;
  logic              fwd_hit_q;
  logic              acc_re, acc_we;

  assign acc_re = advance && pre_valid && pre_accum;
  assign acc_we = advance && out_valid && out_write;

  for (genvar j = 0; j < Dim; j++) begin : g_sum
    // Modulo 2**32: int32 accumulators wrap, like the two's-complement adder they are.
    assign result[32*j +: 32] = (out_accum ? acc_old[32*j +: 32] : 32'd0) + arr_c[32*j +: 32];
  end
  assign acc_old = fwd_hit_q ? fwd_data_q : acc_rdata_q;

  // No reset: the storage must infer a memory; the read register belongs to it.
  always_ff @(posedge clk_i) begin
    if (acc_we) begin
      acc_mem[out_addr] <= result;
    end
    if (acc_re) begin
      acc_rdata_q <= acc_mem[pre_addr];
    end
  end

  always_ff @(posedge clk_i) begin
    if (acc_re) begin
      fwd_data_q <= result;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      fwd_hit_q <= 1'b0;
    end else if (acc_re) begin
      fwd_hit_q <= acc_we && (out_addr == pre_addr);
    end
  end

  // ---------------------------------------------------------------------------------------
  // C output register
  // ---------------------------------------------------------------------------------------
  logic [Dim*32-1:0]   c_data_q;
  logic [AddrBits-1:0] c_addr_q;
  logic [TagBits-1:0]  c_tag_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      c_valid_q <= 1'b0;
    end else if (advance) begin
      c_valid_q <= out_valid && out_emit;
    end
  end

  always_ff @(posedge clk_i) begin
    if (advance && out_valid && out_emit) begin
      c_data_q <= result;
      c_addr_q <= out_addr;
      c_tag_q  <= out_tag;
    end
  end

  assign c_valid_o    = c_valid_q;
  assign c_data_o     = c_data_q;
  assign c_acc_addr_o = c_addr_q;
  assign c_tag_o      = c_tag_q;

  // ---------------------------------------------------------------------------------------
  // Status
  // ---------------------------------------------------------------------------------------
  assign busy_o  = (|m_valid_q) || c_valid_q || (w_cnt_q != '0);
  assign stall_o = (a_valid_i && !a_ready_o) || (c_valid_q && !c_ready_i);

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions -------------------------------------------------------------------------
  // C stream: a result row is held, unchanged, until taken.
  `NPU_ASSERT(MuCHeld_A, c_valid_o && !c_ready_i |=> c_valid_o, "C row withdrawn before c_ready_i")
  `NPU_ASSERT(MuCStable_A,
              c_valid_o && !c_ready_i |=> $stable({c_data_o, c_acc_addr_o, c_tag_o}),
              "C row changed before c_ready_i")
  // Retiring a tile and completing a load never hit the same weight buffer in one cycle.
  `NPU_ASSERT(MuBufNoClash_A,
              !(w_tile_done && a_fire && a_last_i && load_buf_q == use_buf_q),
              "a weight tile completed into the buffer being retired")
  `NPU_ASSERT(MuAccAddrInRange_A, a_fire |-> 32'(a_acc_addr_i) < AccLines,
              "A row with an accumulator address beyond AccLines")
`endif

endmodule
