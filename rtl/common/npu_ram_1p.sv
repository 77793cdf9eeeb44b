// Single-port SRAM: one access per cycle (read or write), byte-enable writes, read data one
// cycle after the request.
//
// Written in the shape Verilator and Yosys both recognise as a memory: the array has no reset
// (an SRAM macro has none, and a reset would turn it into flops), every byte lane is written by
// its own clocked process (Yosys merges the lanes into one write port with per-bit enables;
// one process looping over the lanes makes `proc` build 512-bit mux chains per lane and takes
// minutes), and the read port is a registered read enabled only on read cycles. A write cycle
// leaves rdata_o unchanged (no write-through): the scratchpad never reads and writes one bank
// in the same cycle.
module npu_ram_1p #(
  parameter int unsigned Depth = 128,
  parameter int unsigned Width = 512,
  localparam int unsigned AddrBits = (Depth > 1) ? $clog2(Depth) : 1,
  localparam int unsigned StrbBits = Width / 8
) (
  input  logic                clk_i,
  input  logic                req_i,
  input  logic                we_i,
  input  logic [AddrBits-1:0] addr_i,
  input  logic [Width-1:0]    wdata_i,
  input  logic [StrbBits-1:0] wstrb_i,
  output logic [Width-1:0]    rdata_o
);

  logic [Width-1:0] mem_q [Depth];
  logic [Width-1:0] rdata_q;

  // No reset on purpose: storage must infer a memory, and the read register is part of it.
  for (genvar i = 0; i < StrbBits; i++) begin : g_lane
    always_ff @(posedge clk_i) begin
      if (req_i && we_i && wstrb_i[i]) begin
        mem_q[addr_i][8*i +: 8] <= wdata_i[8*i +: 8];
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (req_i && !we_i) begin
      rdata_q <= mem_q[addr_i];
    end
  end

  assign rdata_o = rdata_q;

endmodule
