// One int32 lane of the vector ALU array: every op except RECIP, in two pipeline stages.
//
// Stage A reduces each op to "x rounded-shifted right by s": ADD/SUB produce an exact 33-bit
// x, MULSHR the exact 64-bit product with s = shift, EXP2 its mantissa with the total shift,
// and COPY/MAX/RMAX/RSUM/RECIP a plain int32 with s = 0. Stage B is then the one datapath all
// of them share: the rounding addend 2^(s-1) is added in 65 bits (x = 2^62, s = 63 would carry
// out of 64), the sum is shifted arithmetically and saturated to int32. Only ADD, SUB and
// MULSHR can leave the int32 range, so ovf_o needs no op decode.
//
// Stage A's int32 operand is also exported (red_o) for the unit's cross-lane reduction trees.
// Each stage loads only when the unit says so (its enable covers stall and valid), so idle
// stages do not toggle.
module npu_vector_lane (
  input  logic                          clk_i,
  input  logic                          rst_ni,
  input  logic                          a_en_i,     // load stage A
  input  logic                          b_en_i,     // load stage B
  input  npu_pkg::vec_op_e              op_i,
  input  logic [31:0]                   a_i,
  input  logic [31:0]                   b_i,
  input  logic [npu_pkg::ShiftBits-1:0] shift_i,
  output logic [31:0]                   red_o,      // stage A: operand a (RMAX/RSUM)
  output logic [31:0]                   res_o,      // stage B: int32 result before narrowing
  output logic                          ovf_o,      // stage B: the result was saturated
  output logic                          exp2_dom_o  // stage B: EXP2 with a > 0
);

  localparam int unsigned Sb = npu_pkg::ShiftBits;

  // ---- stage A ------------------------------------------------------------------------------
  logic signed [31:0] a_s, b_s;
  logic signed [32:0] sum, diff;
  logic signed [63:0] prod;
  logic [16:0]        exp2_mant;
  logic [Sb-1:0]      exp2_shift;
  logic               exp2_dom;
  logic [63:0]        x_d, x_q;
  logic [Sb-1:0]      s_d, s_q;
  logic               dom_d, dom_a_q;

  assign a_s  = $signed(a_i);
  assign b_s  = $signed(b_i);
  assign sum  = 33'(a_s) + 33'(b_s);
  assign diff = 33'(a_s) - 33'(b_s);
  // Both operands sign-extended to 64 bits: the low 64 bits of the product are exact because
  // |a * b| <= 2^62.
  assign prod = 64'(a_s) * 64'(b_s);

  npu_exp2 u_exp2 (
    .a_i     (a_i),
    .shift_i (shift_i),
    .mant_o  (exp2_mant),
    .shift_o (exp2_shift),
    .domain_o(exp2_dom)
  );

  always_comb begin
    x_d   = 64'(a_s);
    s_d   = '0;
    dom_d = 1'b0;
    unique case (op_i)
      npu_pkg::VecOpAdd:    x_d = 64'(sum);
      npu_pkg::VecOpSub:    x_d = 64'(diff);
      npu_pkg::VecOpMax:    x_d = (a_s >= b_s) ? 64'(a_s) : 64'(b_s);
      npu_pkg::VecOpMulshr: begin
        x_d = prod;
        s_d = shift_i;
      end
      npu_pkg::VecOpExp2: begin
        x_d   = 64'(exp2_mant);
        s_d   = exp2_shift;
        dom_d = exp2_dom;
      end
      // COPY, RMAX, RSUM pass a; RECIP does not use this lane's short path.
      default: ;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      x_q     <= '0;
      s_q     <= '0;
      dom_a_q <= 1'b0;
    end else if (a_en_i) begin
      x_q     <= x_d;
      s_q     <= s_d;
      dom_a_q <= dom_d;
    end
  end

  assign red_o = x_q[31:0];

  // ---- stage B: shared rounding shift and int32 saturation ---------------------------------
  logic [64:0]        addend;
  logic signed [64:0] rounded, shifted;
  logic               sat_hi, sat_lo;
  logic [31:0]        res_d, res_q;
  logic               ovf_q, dom_b_q;

  assign addend  = (s_q == '0) ? '0 : (65'd1 << (s_q - Sb'(1)));
  assign rounded = $signed({x_q[63], x_q}) + $signed(addend);
  assign shifted = rounded >>> s_q;
  // Out of int32 range unless bits 64..31 are all equal.
  assign sat_hi  = !shifted[64] && (shifted[63:31] != '0);
  assign sat_lo  = shifted[64] && (shifted[63:31] != '1);

  always_comb begin
    res_d = shifted[31:0];
    if (sat_hi) begin
      res_d = 32'h7fff_ffff;
    end else if (sat_lo) begin
      res_d = 32'h8000_0000;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      res_q   <= '0;
      ovf_q   <= 1'b0;
      dom_b_q <= 1'b0;
    end else if (b_en_i) begin
      res_q   <= res_d;
      ovf_q   <= sat_hi || sat_lo;
      dom_b_q <= dom_a_q;
    end
  end

  assign res_o      = res_q;
  assign ovf_o      = ovf_q;
  assign exp2_dom_o = dom_b_q;

endmodule
