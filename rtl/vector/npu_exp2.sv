// exp2 front end of one vector lane (combinational): 2^(a / 2^10) as a mantissa and a shift.
//
// The argument a is a signed int32 with Exp2FracBits fractional bits and should be <= 0; a
// positive a is taken as 0 and reported on domain_o. With w = floor(a / 2^10) and the fraction
// split into a segment index i and an offset u inside the segment:
//   mant_o  = base[i] + rshr(slope[i] * u, RemBits)   2^(frac) * 2^15, in [2^15, 2^16)
//   shift_o = min(-w + shift_i, 2^ShiftBits - 1)
// The lane finishes with y = rshr(mant_o, shift_o), sharing the rounding shifter of MULSHR.
// Capping the shift at 63 instead of the golden model's 40 is exact: mant_o < 2^16, so every
// shift >= 17 already gives 0.
module npu_exp2 (
  input  logic [31:0]                    a_i,
  input  logic [npu_pkg::ShiftBits-1:0]  shift_i,
  output logic [16:0]                    mant_o,
  output logic [npu_pkg::ShiftBits-1:0]  shift_o,
  output logic                           domain_o
);

  localparam int unsigned FracBits = npu_pkg::Exp2FracBits;
  localparam int unsigned SegBits  = npu_pkg::Exp2SegmentBits;
  localparam int unsigned RemBits  = FracBits - SegBits;
  // slope (17 bit) * u (RemBits) + half an LSB fits without loss in this width.
  localparam int unsigned ProdBits = 17 + RemBits + 1;
  localparam int unsigned MaxShift = (1 << npu_pkg::ShiftBits) - 1;

  logic [31:0]          t;         // min(a, 0)
  logic [31:0]          neg_whole; // -floor(t / 2^F), in [0, 2^(31-F)]
  logic [32:0]          total;     // -w + shift, before the cap
  logic [SegBits-1:0]   segment;
  logic [RemBits-1:0]   offset;
  logic [ProdBits-1:0]  interp;

  assign domain_o  = !a_i[31] && (a_i != '0);
  assign t         = domain_o ? '0 : a_i;
  assign neg_whole = -($signed(t) >>> FracBits);
  assign total     = {1'b0, neg_whole} + 33'(shift_i);
  assign shift_o   = (total > 33'(MaxShift)) ? npu_pkg::ShiftBits'(MaxShift)
                                             : total[npu_pkg::ShiftBits-1:0];

  assign segment = t[FracBits-1 -: SegBits];
  assign offset  = t[RemBits-1:0];
  assign interp  = ProdBits'(npu_pkg::exp2_slope(segment)) * ProdBits'(offset)
                 + ProdBits'(1 << (RemBits - 1));
  assign mant_o  = npu_pkg::exp2_base(segment) + 17'(interp >> RemBits);

endmodule
