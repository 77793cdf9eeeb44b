// Scratchpad regions an access stream touched, handed back one region at a time.
//
// Overwrite control (docs/scratchpad.md) needs one operation per touched region after a stream
// ends: the matrix engine's A and B streams and DMA-out send one last-use read to each region
// they read (release), the matrix engine's C stream and DMA-in send one zero-strobe write with
// readers = n to each region they wrote (lock). This block is that bookkeeping, shared by all
// five: a bitmap of Regions bits, set by mark_i for the region of each access, and a priority
// encoder that presents the lowest recorded region (addr_o, its first line) while pending_o;
// pop_i (the operation for addr_o was granted) clears it. clear_i starts a new stream.
// Priority clear_i > mark_i > pop_i; users never mark and pop in the same cycle.
module npu_region_tracker #(
  parameter int unsigned SpadLines   = npu_pkg::SpadBanks * npu_pkg::SpadBankLines,
  parameter int unsigned RegionLines = npu_pkg::SpadRegionLines,
  localparam int unsigned AddrBits   = $clog2(SpadLines),
  localparam int unsigned Regions    = SpadLines / RegionLines,
  localparam int unsigned RegionBits = (Regions > 1) ? $clog2(Regions) : 1
) (
  // Kept out of the bench's toggle coverage: Verilator merges the counts of instances of one
  // module into a wildcard hierarchy across blocks (DMA-in and DMA-out), so each user counts
  // the region address it receives instead.
  /* verilator coverage_off */
  input  logic                  clk_i,
  input  logic                  rst_ni,
  input  logic                  clear_i,
  input  logic                  mark_i,
  input  logic [RegionBits-1:0] mark_region_i,   // addr >> log2(RegionLines) of the access
  input  logic                  pop_i,
  output logic                  pending_o,       // some region still needs its operation
  output logic [AddrBits-1:0]   addr_o           // first line of the lowest such region
);

  localparam int unsigned RegionShift = $clog2(RegionLines);

  logic [Regions-1:0] regions_q;
  /* verilator coverage_on */

  // Lowest recorded region: the operations go out in ascending address order.
  always_comb begin
    addr_o = '0;
    for (int r = Regions - 1; r >= 0; r--) begin
      if (regions_q[r]) addr_o = AddrBits'(32'(r) << RegionShift);
    end
  end

  assign pending_o = regions_q != '0;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      regions_q <= '0;
    end else if (clear_i) begin
      regions_q <= '0;
    end else if (mark_i) begin
      regions_q[mark_region_i] <= 1'b1;
    end else if (pop_i) begin
      regions_q[RegionBits'(addr_o >> RegionShift)] <= 1'b0;
    end
  end

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ---- Assertions: the users' side of the contract ------------------------------------------
  `NPU_ASSERT_INIT(RegionGeometry_A, RegionLines >= 1 && (1 << RegionShift) == RegionLines &&
                   SpadLines % RegionLines == 0, "RegionLines must be a power of two dividing SpadLines")
  `NPU_ASSERT(NoMarkAndPop_A, !(mark_i && pop_i), "mark_i and pop_i in the same cycle")
  `NPU_ASSERT(PopOnlyPending_A, pop_i |-> pending_o, "pop_i with no region pending")
  `NPU_ASSERT(MarkInRange_A, mark_i |-> 32'(mark_region_i) < Regions, "mark_region_i beyond the last region")
`endif

endmodule
