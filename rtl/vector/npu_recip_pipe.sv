// Pipelined reciprocal of one lane: res_o = round_half_up(2^30 / a) for a > 0, computed exactly
// as (floor(2^31 / a) + 1) >> 1 with a restoring divider of constant dividend 2^31.
//
// The QuotBits = RecipFracBits + 2 = 32 quotient bits (a = 1 gives 2^31) are produced
// BitsPerStage per stage, MSB first; stage k holds the partial remainder, the quotient bits so
// far and the divisor of the vector that entered k + 1 cycles (advances) ago, so a new vector
// may enter every cycle. A non-positive a (RECIP_DOMAIN) divides by 1 and is replaced by
// INT32_MAX at the output. The rounding increment is combinational after the last stage.
module npu_recip_pipe #(
  parameter int unsigned BitsPerStage = 4,
  // At least 2. Up to BitsPerStage quotient bits per stage; the unit may ask for more stages
  // than needed (the extra ones only carry their inputs) so the pipe is never shorter than its
  // short-op path.
  parameter int unsigned Stages = (npu_pkg::RecipFracBits + 2 + BitsPerStage - 1) / BitsPerStage
) (
  input  logic              clk_i,
  input  logic              rst_ni,
  input  logic [Stages-1:0] en_i,    // load enable of each stage (advance and valid)
  input  logic [31:0]       a_i,     // divisor, enters stage 0
  output logic [31:0]       res_o,   // from the last stage
  output logic              dom_o    // a <= 0
);

  localparam int unsigned QuotBits = npu_pkg::RecipFracBits + 2;
  localparam int unsigned DivBits  = 31;  // a positive int32 divisor and any remainder fit

  // Stage registers, flattened (stage k at [k*W +: W]). The last stage keeps only the quotient
  // and the domain bit: its remainder and divisor have no further use.
  localparam int unsigned Mid = Stages - 1;
  logic [Mid*DivBits-1:0]     rem_q, div_q;
  logic [Stages*DivBits-1:0]  rem_in, div_in, rem_d;
  logic [Stages*QuotBits-1:0] quo_q, quo_in, quo_d;
  logic [Stages-1:0]          dom_q, dom_in;
  logic                       dom_first;
  logic [DivBits-1:0]         div_first;

  assign dom_first = a_i[31] || (a_i == '0);
  assign div_first = dom_first ? DivBits'(1) : a_i[DivBits-1:0];

  // Stage k works on what stage k-1 holds; stage 0 starts from the new divisor.
  assign rem_in = {rem_q, {DivBits{1'b0}}};
  assign div_in = {div_q, div_first};
  assign quo_in = {quo_q[Mid*QuotBits-1:0], {QuotBits{1'b0}}};
  assign dom_in = {dom_q[Mid-1:0], dom_first};

  // BitsPerStage restoring steps per stage. Step j (0 = MSB) shifts in dividend bit
  // QuotBits-1-j, which is 1 only for j = 0 (the dividend is 2^(QuotBits-1)).
  logic [DivBits-1:0]  r;
  logic [DivBits:0]    trial;
  logic [QuotBits-1:0] q;
  always_comb begin
    rem_d = '0;
    quo_d = '0;
    r     = '0;
    q     = '0;
    trial = '0;
    for (int unsigned k = 0; k < Stages; k++) begin
      r = rem_in[k*DivBits +: DivBits];
      q = quo_in[k*QuotBits +: QuotBits];
      for (int unsigned i = 0; i < BitsPerStage; i++) begin
        if (k * BitsPerStage + i < QuotBits) begin
          trial = {r, k * BitsPerStage + i == 0};
          if (trial >= {1'b0, div_in[k*DivBits +: DivBits]}) begin
            trial = trial - {1'b0, div_in[k*DivBits +: DivBits]};
            q     = {q[QuotBits-2:0], 1'b1};
          end else begin
            q     = {q[QuotBits-2:0], 1'b0};
          end
          // The remainder is below the divisor, so it fits DivBits again.
          r = trial[DivBits-1:0];
        end
      end
      rem_d[k*DivBits +: DivBits]   = r;
      quo_d[k*QuotBits +: QuotBits] = q;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rem_q <= '0;
      div_q <= '0;
      quo_q <= '0;
      dom_q <= '0;
    end else begin
      for (int unsigned k = 0; k < Stages; k++) begin
        if (en_i[k]) begin
          if (k < Mid) begin
            rem_q[k*DivBits +: DivBits] <= rem_d[k*DivBits +: DivBits];
            div_q[k*DivBits +: DivBits] <= div_in[k*DivBits +: DivBits];
          end
          quo_q[k*QuotBits +: QuotBits] <= quo_d[k*QuotBits +: QuotBits];
          dom_q[k]                      <= dom_in[k];
        end
      end
    end
  end

  // Round half up of q / 2 = (q >> 1) + q[0]; q <= 2^31, so the result is <= 2^30.
  logic [QuotBits-1:0] quo_last;
  assign quo_last = quo_q[Mid*QuotBits +: QuotBits];
  assign dom_o    = dom_q[Mid];
  assign res_o    = dom_o ? 32'h7fff_ffff : {1'b0, quo_last[QuotBits-1:1]} + 32'(quo_last[0]);

endmodule
