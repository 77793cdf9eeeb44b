// Synchronous FIFO with valid/ready on both sides (first-word fall-through).
//
// Depth must be a power of two, at least 2. Storage is not reset (only the pointers are), so large FIFOs
// can map to memories; out_data_o is only meaningful while out_valid_o is high.
module npu_fifo #(
  parameter int unsigned Width = 32,
  parameter int unsigned Depth = 4,
  localparam int unsigned PtrBits = $clog2(Depth)
) (
  input  logic              clk_i,
  input  logic              rst_ni,
  input  logic              clear_i,   // synchronous flush (drops every entry)
  input  logic              in_valid_i,
  output logic              in_ready_o,
  input  logic [Width-1:0]  in_data_i,
  output logic              out_valid_o,
  input  logic              out_ready_i,
  output logic [Width-1:0]  out_data_o,
  output logic [PtrBits:0]  count_o
);
  logic [Width-1:0] storage_q [Depth];
  logic [PtrBits:0] wr_ptr_q, rd_ptr_q;

  wire push = in_valid_i && in_ready_o;
  wire pop  = out_valid_o && out_ready_i;

  assign count_o     = wr_ptr_q - rd_ptr_q;
  assign in_ready_o  = count_o < (PtrBits+1)'(Depth);
  assign out_valid_o = count_o != '0;
  assign out_data_o  = storage_q[rd_ptr_q[PtrBits-1:0]];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_ptr_q <= '0;
      rd_ptr_q <= '0;
    end else if (clear_i) begin
      wr_ptr_q <= '0;
      rd_ptr_q <= '0;
    end else begin
      if (push) wr_ptr_q <= wr_ptr_q + 1'b1;
      if (pop)  rd_ptr_q <= rd_ptr_q + 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin
    if (push) storage_q[wr_ptr_q[PtrBits-1:0]] <= in_data_i;
  end

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions ---------------------------------------------------------------------------
  `NPU_ASSERT_INIT(FifoDepthPow2_A, Depth >= 2 && (1 << PtrBits) == Depth,
                   "Depth must be a power of two >= 2")
  // Pointers in range: never more entries than Depth, so no push overwrote an unread entry.
  `NPU_ASSERT(FifoCountInRange_A, count_o <= (PtrBits+1)'(Depth), "count beyond Depth")
  // The output is a valid/ready source: a presented entry stays, unchanged, until popped.
  `NPU_ASSERT(FifoOutHeld_A, out_valid_o && !out_ready_i && !clear_i |=> out_valid_o,
              "out_valid_o dropped without a pop")
  `NPU_ASSERT(FifoOutStable_A, out_valid_o && !out_ready_i && !clear_i |=> $stable(out_data_o),
              "out_data_o changed while waiting for out_ready_i")
`endif

endmodule
