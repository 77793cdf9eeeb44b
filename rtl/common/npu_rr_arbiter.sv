// Round-robin arbiter: grants one of N requesters per cycle.
//
// The search starts at ptr_q and wraps; after a grant ptr_q moves just past the winner, so the
// winner has the lowest priority next time. A requester that keeps requesting is therefore
// granted within N-1 grants of the arbiter (no starvation). The pointer only moves on a grant.
module npu_rr_arbiter #(
  parameter int unsigned N = 3,
  localparam int unsigned IdxBits = (N > 1) ? $clog2(N) : 1
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic [N-1:0]       req_i,
  output logic [N-1:0]       gnt_o,    // one-hot, or zero when nobody requests
  output logic [IdxBits-1:0] idx_o,    // index of the winner (0 when valid_o is low)
  output logic               valid_o   // someone was granted
);

  logic [IdxBits-1:0] ptr_q, ptr_d;
  // One bit wider than an index: ptr_q + k reaches 2N-2 before wrapping.
  logic [IdxBits:0]   cand;

  always_comb begin
    valid_o = 1'b0;
    idx_o   = '0;
    cand    = '0;
    for (int unsigned k = 0; k < N; k++) begin
      cand = {1'b0, ptr_q} + (IdxBits + 1)'(k);
      if (cand >= (IdxBits + 1)'(N)) begin
        cand = cand - (IdxBits + 1)'(N);
      end
      if (!valid_o && req_i[cand[IdxBits-1:0]]) begin
        valid_o = 1'b1;
        idx_o   = cand[IdxBits-1:0];
      end
    end
  end

  always_comb begin
    gnt_o = '0;
    if (valid_o) begin
      gnt_o[idx_o] = 1'b1;
    end
  end

  always_comb begin
    ptr_d = ptr_q;
    if (valid_o) begin
      ptr_d = (idx_o == IdxBits'(N - 1)) ? '0 : idx_o + 1'b1;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ptr_q <= '0;
    end else begin
      ptr_q <= ptr_d;
    end
  end

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions ---------------------------------------------------------------------------
  `NPU_ASSERT(ArbGntOneHot0_A, $onehot0(gnt_o), "more than one grant")
  `NPU_ASSERT(ArbGntOnlyReq_A, (gnt_o & ~req_i) == '0, "grant to a port that does not request")
  `NPU_ASSERT(ArbWorkConserving_A, valid_o == (|req_i), "requests but no grant (or vice versa)")
  `NPU_ASSERT(ArbIdxIsGnt_A, valid_o |-> gnt_o[idx_o], "idx_o is not the granted port")
  `NPU_ASSERT(ArbPtrInRange_A, 32'(ptr_q) < N, "round-robin pointer out of range")
`endif

endmodule
