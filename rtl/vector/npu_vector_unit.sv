// Vector ALU array: Lanes int32 lanes for softmax and requantization (docs/vector_unit.md).
//
// One vector per cycle for every op, results in order. Two paths meet at the output stage C:
//   short path  (all ops but RECIP): lane stage A -> lane stage B (+ reduction trees) -> C
//   RECIP path : RecipStages divider stages                                           -> C
// Latencies (input handshake cycle to output valid cycle, no stall): ShortLatency = 3,
// RecipLatency = RecipStages + 1. Stage C applies the lane mask, the reductions' running
// accumulators, the narrowing (SatMode) and the flags, into the output register.
//
// Ordering: a short op issued less than RecipLatency - ShortLatency cycles after a RECIP would
// reach C before (or together with) it. hold_q counts those cycles down after every RECIP and
// in_ready_o is low for short ops while it is non-zero; RECIPs themselves are never held by it.
//
// Stall: the whole pipeline moves only when the output register is free or being read
// (adv = !out_valid_o || out_ready_i); hold_q counts advances, not cycles, so the ordering
// argument holds under back-pressure. in_ready_o therefore depends combinationally on
// out_ready_i and in_op_i (never on in_valid_i).
//
// Reserved op codes (9..15) take the short path and behave as COPY; reserved SatMode 3 as NONE.
// Lanes must be a power of two (hwdef checks it) for the reduction trees.
module npu_vector_unit #(
  parameter int unsigned Lanes   = npu_pkg::VectorLanes,
  parameter int unsigned TagBits = 16,
  // Quotient bits the reciprocal divider resolves per pipeline stage (area vs latency).
  parameter int unsigned RecipBitsPerStage = 4
) (
  input  logic                            clk_i,
  input  logic                            rst_ni,
  // input vector
  input  logic                            in_valid_i,
  output logic                            in_ready_o,
  input  npu_pkg::vec_op_e                in_op_i,
  input  npu_pkg::sat_mode_e              in_sat_i,
  input  logic                            in_b_scalar_i,  // b = in_scalar_i in every lane
  input  logic [31:0]                     in_scalar_i,
  input  logic [npu_pkg::ShiftBits-1:0]   in_shift_i,
  input  logic [Lanes*32-1:0]             in_a_i,         // lane i at [32i +: 32]
  input  logic [Lanes*32-1:0]             in_b_i,
  input  logic [Lanes-1:0]                in_mask_i,      // enabled lanes
  input  logic                            in_row_last_i,  // RMAX/RSUM: closes the row
  input  logic [TagBits-1:0]              in_tag_i,
  // result vector
  output logic                            out_valid_o,
  input  logic                            out_ready_i,
  output logic [Lanes*32-1:0]             out_data_o,
  output logic [npu_pkg::VecFlagBits-1:0] out_flags_o,
  output logic [TagBits-1:0]              out_tag_o,
  output logic                            busy_o          // a vector is in flight or waiting
);

  localparam int unsigned ShortLatency = 3;
  localparam int unsigned SatBits      = npu_pkg::SatModeBits;
  localparam int unsigned FlagBits     = npu_pkg::VecFlagBits;
  localparam int unsigned QuotBits     = npu_pkg::RecipFracBits + 2;
  localparam int unsigned DivStages    = (QuotBits + RecipBitsPerStage - 1) / RecipBitsPerStage;
  // The RECIP path must not be shorter than the short path (it would overtake it).
  localparam int unsigned RecipStages  = (DivStages < ShortLatency - 1) ? ShortLatency - 1
                                                                        : DivStages;
  localparam int unsigned RecipLatency = RecipStages + 1;
  localparam int unsigned HoldCycles   = RecipLatency - ShortLatency;
  localparam int unsigned HoldBits     = $clog2(HoldCycles + 1) > 0 ? $clog2(HoldCycles + 1) : 1;
  // Exact per-vector lane sum, and that plus the int32 running total.
  localparam int unsigned TreeBits     = 32 + $clog2(Lanes);
  localparam int unsigned TotalBits    = TreeBits + 1;
  localparam logic [31:0] Int32Min     = 32'h8000_0000;
  localparam logic [31:0] Int32Max     = 32'h7fff_ffff;

  // Narrowing: {clamped, value}. Reserved mode 3 behaves as SatNone.
  function automatic logic [32:0] narrow(input logic [31:0] value,
                                         input logic [SatBits-1:0] mode);
    logic signed [31:0] v;
    v = $signed(value);
    narrow = {1'b0, value};
    unique case (mode)
      npu_pkg::SatInt8: begin
        if (v > 32'sd127) begin
          narrow = {1'b1, 32'd127};
        end else if (v < -32'sd128) begin
          narrow = {1'b1, 32'hffff_ff80};
        end
      end
      npu_pkg::SatUint8: begin
        if (v > 32'sd255) begin
          narrow = {1'b1, 32'd255};
        end else if (v < 32'sd0) begin
          narrow = {1'b1, 32'd0};
        end
      end
      default: ;
    endcase
  endfunction

  // ---- handshake, stall and RECIP ordering ---------------------------------------------------
  logic                adv;
  logic                is_recip, fire, short_fire, recip_fire;
  logic [HoldBits-1:0] hold_q, hold_d;
  logic                out_valid_q;

  assign adv        = !out_valid_q || out_ready_i;
  assign is_recip   = (in_op_i == npu_pkg::VecOpRecip);
  assign in_ready_o = adv && (is_recip || hold_q == '0);
  assign fire       = in_valid_i && in_ready_o;
  assign short_fire = fire && !is_recip;
  assign recip_fire = fire && is_recip;

  always_comb begin
    hold_d = hold_q;
    if (adv) begin
      if (recip_fire) begin
        hold_d = HoldBits'(HoldCycles);
      end else if (hold_q != '0) begin
        hold_d = hold_q - 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      hold_q <= '0;
    end else begin
      hold_q <= hold_d;
    end
  end

  // Operand b per lane.
  logic [Lanes*32-1:0] b_vec;
  always_comb begin
    for (int unsigned i = 0; i < Lanes; i++) begin
      b_vec[32*i +: 32] = in_b_scalar_i ? in_scalar_i : in_b_i[32*i +: 32];
    end
  end

  // ---- short path: control of stages A and B -------------------------------------------------
  logic               a_valid_q, b_valid_q;
  npu_pkg::vec_op_e   a_op_q, b_op_q;
  npu_pkg::sat_mode_e a_sat_q, b_sat_q;
  logic [Lanes-1:0]   a_mask_q, b_mask_q;
  logic               a_last_q, b_last_q;
  logic [TagBits-1:0] a_tag_q, b_tag_q;
  logic               a_en, b_en;

  assign a_en = adv && short_fire;
  assign b_en = adv && a_valid_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      a_valid_q <= 1'b0;
      b_valid_q <= 1'b0;
      a_op_q    <= npu_pkg::VecOpCopy;
      b_op_q    <= npu_pkg::VecOpCopy;
      a_sat_q   <= npu_pkg::SatNone;
      b_sat_q   <= npu_pkg::SatNone;
      a_mask_q  <= '0;
      b_mask_q  <= '0;
      a_last_q  <= 1'b0;
      b_last_q  <= 1'b0;
      a_tag_q   <= '0;
      b_tag_q   <= '0;
    end else begin
      if (adv) begin
        a_valid_q <= short_fire;
        b_valid_q <= a_valid_q;
      end
      if (a_en) begin
        a_op_q   <= in_op_i;
        a_sat_q  <= in_sat_i;
        a_mask_q <= in_mask_i;
        a_last_q <= in_row_last_i;
        a_tag_q  <= in_tag_i;
      end
      if (b_en) begin
        b_op_q   <= a_op_q;
        b_sat_q  <= a_sat_q;
        b_mask_q <= a_mask_q;
        b_last_q <= a_last_q;
        b_tag_q  <= a_tag_q;
      end
    end
  end

  // ---- lanes and reciprocal pipes --------------------------------------------------------------
  logic [Lanes*32-1:0]    red, lane_res, recip_res;
  logic [Lanes-1:0]       lane_ovf, lane_exp2_dom, recip_dom;
  logic [RecipStages-1:0] r_valid_q, r_valid_in, r_en;

  for (genvar i = 0; i < Lanes; i++) begin : g_lane
    npu_vector_lane u_lane (
      .clk_i,
      .rst_ni,
      .a_en_i    (a_en),
      .b_en_i    (b_en),
      .op_i      (in_op_i),
      .a_i       (in_a_i[32*i +: 32]),
      .b_i       (b_vec[32*i +: 32]),
      .shift_i   (in_shift_i),
      .red_o     (red[32*i +: 32]),
      .res_o     (lane_res[32*i +: 32]),
      .ovf_o     (lane_ovf[i]),
      .exp2_dom_o(lane_exp2_dom[i])
    );

    npu_recip_pipe #(
      .BitsPerStage(RecipBitsPerStage),
      .Stages      (RecipStages)
    ) u_recip (
      .clk_i,
      .rst_ni,
      .en_i (r_en),
      .a_i  (in_a_i[32*i +: 32]),
      .res_o(recip_res[32*i +: 32]),
      .dom_o(recip_dom[i])
    );
  end

  // ---- RECIP path control: a shift register beside the divider stages ------------------------
  logic [RecipStages*SatBits-1:0] r_sat_q;
  logic [RecipStages*Lanes-1:0]   r_mask_q;
  logic [RecipStages*TagBits-1:0] r_tag_q;

  assign r_valid_in = {r_valid_q[RecipStages-2:0], recip_fire};
  assign r_en       = adv ? r_valid_in : '0;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      r_valid_q <= '0;
      r_sat_q   <= '0;
      r_mask_q  <= '0;
      r_tag_q   <= '0;
    end else begin
      if (adv) begin
        r_valid_q <= r_valid_in;
      end
      for (int unsigned k = 0; k < RecipStages; k++) begin
        if (r_en[k]) begin
          if (k == 0) begin
            r_sat_q[0 +: SatBits]  <= in_sat_i;
            r_mask_q[0 +: Lanes]   <= in_mask_i;
            r_tag_q[0 +: TagBits]  <= in_tag_i;
          end else begin
            r_sat_q[k*SatBits +: SatBits] <= r_sat_q[(k-1)*SatBits +: SatBits];
            r_mask_q[k*Lanes +: Lanes]    <= r_mask_q[(k-1)*Lanes +: Lanes];
            r_tag_q[k*TagBits +: TagBits] <= r_tag_q[(k-1)*TagBits +: TagBits];
          end
        end
      end
    end
  end

  // ---- reduction trees (stage B), fed by lane stage A ------------------------------------------
  // Balanced trees over the enabled lanes; disabled lanes contribute the identity.
  logic [Lanes*TreeBits-1:0] sum_node;
  logic [Lanes*32-1:0]       max_node;
  logic [TreeBits-1:0]       vec_sum_d, vec_sum_q;
  logic [31:0]               vec_max_d, vec_max_q;

  always_comb begin
    for (int unsigned i = 0; i < Lanes; i++) begin
      sum_node[i*TreeBits +: TreeBits] = a_mask_q[i] ? TreeBits'($signed(red[32*i +: 32])) : '0;
      max_node[32*i +: 32]             = a_mask_q[i] ? red[32*i +: 32] : Int32Min;
    end
    // Level l adds node pairs 2^l apart, in place; Lanes is a power of two.
    for (int unsigned l = 0; (1 << l) < Lanes; l++) begin
      for (int unsigned i = 0; i < (Lanes >> (l + 1)); i++) begin
        sum_node[(i << (l + 1))*TreeBits +: TreeBits] =
            sum_node[(i << (l + 1))*TreeBits +: TreeBits] +
            sum_node[((i << (l + 1)) + (1 << l))*TreeBits +: TreeBits];
        if ($signed(max_node[((i << (l + 1)) + (1 << l))*32 +: 32]) >
            $signed(max_node[(i << (l + 1))*32 +: 32])) begin
          max_node[(i << (l + 1))*32 +: 32] = max_node[((i << (l + 1)) + (1 << l))*32 +: 32];
        end
      end
    end
    vec_sum_d = sum_node[0 +: TreeBits];
    vec_max_d = max_node[0 +: 32];
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      vec_sum_q <= '0;
      vec_max_q <= Int32Min;
    end else if (b_en) begin
      vec_sum_q <= vec_sum_d;
      vec_max_q <= vec_max_d;
    end
  end

  // ---- stage C: merge, reductions, mask, narrowing, flags --------------------------------------
  // The hold counter guarantees the two paths never present a vector to C in the same advance.
  logic               c_valid, c_recip, c_rmax, c_rsum, c_emit;
  logic [SatBits-1:0] c_sat;
  logic [Lanes-1:0]   c_mask;
  logic [TagBits-1:0] c_tag;

  assign c_recip = r_valid_q[RecipStages-1];
  assign c_valid = b_valid_q || c_recip;
  assign c_sat   = c_recip ? r_sat_q[(RecipStages-1)*SatBits +: SatBits] : b_sat_q;
  assign c_mask  = c_recip ? r_mask_q[(RecipStages-1)*Lanes +: Lanes] : b_mask_q;
  assign c_tag   = c_recip ? r_tag_q[(RecipStages-1)*TagBits +: TagBits] : b_tag_q;
  assign c_rmax  = b_valid_q && (b_op_q == npu_pkg::VecOpRmax);
  assign c_rsum  = b_valid_q && (b_op_q == npu_pkg::VecOpRsum);
  // A reduction vector only produces output when it closes its row.
  assign c_emit  = c_valid && (!(c_rmax || c_rsum) || b_last_q);

  // Running row state, one set per reduction op so RMAX and RSUM rows may interleave.
  logic [31:0]          rmax_acc_q, rsum_acc_q;
  logic                 rsum_ovf_q;
  logic [TotalBits-1:0] rsum_total;
  logic                 rsum_sat_hi, rsum_sat_lo;
  logic [31:0]          rsum_new, rmax_new;

  assign rsum_total  = TotalBits'($signed(rsum_acc_q)) + TotalBits'($signed(vec_sum_q));
  assign rsum_sat_hi = !rsum_total[TotalBits-1] && (rsum_total[TotalBits-2:31] != '0);
  assign rsum_sat_lo = rsum_total[TotalBits-1] && (rsum_total[TotalBits-2:31] != '1);
  assign rsum_new    = rsum_sat_hi ? Int32Max : rsum_sat_lo ? Int32Min : rsum_total[31:0];
  assign rmax_new    = ($signed(vec_max_q) > $signed(rmax_acc_q)) ? vec_max_q : rmax_acc_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rmax_acc_q <= Int32Min;
      rsum_acc_q <= '0;
      rsum_ovf_q <= 1'b0;
    end else if (adv) begin
      if (c_rmax) begin
        rmax_acc_q <= b_last_q ? Int32Min : rmax_new;
      end
      if (c_rsum) begin
        rsum_acc_q <= b_last_q ? '0 : rsum_new;
        rsum_ovf_q <= b_last_q ? 1'b0 : (rsum_ovf_q || rsum_sat_hi || rsum_sat_lo);
      end
    end
  end

  logic [Lanes*32-1:0] c_data;
  logic [FlagBits-1:0] c_flags;
  logic [32:0]         red_narrow, lane_narrow;
  logic [31:0]         lane_pre;
  logic                f_ovf, f_exp2, f_recip, f_narrow;

  always_comb begin
    c_data      = '0;
    f_ovf       = 1'b0;
    f_exp2      = 1'b0;
    f_recip     = 1'b0;
    f_narrow    = 1'b0;
    red_narrow  = narrow(c_rsum ? rsum_new : rmax_new, c_sat);
    lane_pre    = '0;
    lane_narrow = '0;
    if (c_rmax || c_rsum) begin
      // Broadcast to every lane, whatever the closing vector's mask.
      for (int unsigned i = 0; i < Lanes; i++) begin
        c_data[32*i +: 32] = red_narrow[31:0];
      end
      f_ovf    = c_rsum && (rsum_ovf_q || rsum_sat_hi || rsum_sat_lo);
      f_narrow = red_narrow[32];
    end else begin
      for (int unsigned i = 0; i < Lanes; i++) begin
        lane_pre    = c_recip ? recip_res[32*i +: 32] : lane_res[32*i +: 32];
        lane_narrow = narrow(lane_pre, c_sat);
        // A disabled lane outputs 0 and raises no flag.
        if (c_mask[i]) begin
          c_data[32*i +: 32] = lane_narrow[31:0];
          f_ovf    = f_ovf || (!c_recip && lane_ovf[i]);
          f_exp2   = f_exp2 || (!c_recip && lane_exp2_dom[i]);
          f_recip  = f_recip || (c_recip && recip_dom[i]);
          f_narrow = f_narrow || lane_narrow[32];
        end
      end
    end
    c_flags                              = '0;
    c_flags[npu_pkg::VecFlagOverflow]    = f_ovf;
    c_flags[npu_pkg::VecFlagExp2Domain]  = f_exp2;
    c_flags[npu_pkg::VecFlagRecipDomain] = f_recip;
    c_flags[npu_pkg::VecFlagNarrowed]    = f_narrow;
  end

  // ---- output register -------------------------------------------------------------------------
  logic [Lanes*32-1:0] out_data_q;
  logic [FlagBits-1:0] out_flags_q;
  logic [TagBits-1:0]  out_tag_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_valid_q <= 1'b0;
      out_data_q  <= '0;
      out_flags_q <= '0;
      out_tag_q   <= '0;
    end else if (adv) begin
      out_valid_q <= c_emit;
      if (c_emit) begin
        out_data_q  <= c_data;
        out_flags_q <= c_flags;
        out_tag_q   <= c_tag;
      end
    end
  end

  assign out_valid_o = out_valid_q;
  assign out_data_o  = out_data_q;
  assign out_flags_o = out_flags_q;
  assign out_tag_o   = out_tag_q;
  assign busy_o      = a_valid_q || b_valid_q || (r_valid_q != '0) || out_valid_q;

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions -------------------------------------------------------------------------
  // Output stream: a result is held, unchanged, until taken.
  `NPU_ASSERT(VuOutHeld_A, out_valid_o && !out_ready_i |=> out_valid_o,
              "result withdrawn before out_ready_i")
  `NPU_ASSERT(VuOutStable_A,
              out_valid_o && !out_ready_i |=> $stable({out_data_o, out_flags_o, out_tag_o}),
              "result changed before out_ready_i")
  // RECIP ordering (hold_q): the short path and the RECIP path never reach stage C together.
  `NPU_ASSERT(VuPathNoCollision_A, !(b_valid_q && c_recip),
              "short-path and RECIP results reached stage C in the same cycle")
`endif

endmodule
