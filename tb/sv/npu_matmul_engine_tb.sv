// SIMULATION ONLY (test bench wrapper, not part of the NPU's RTL; lives outside rtl/).
//
// npu_matmul_engine connected to a 4-port npu_scratchpad: ports 0, 1, 2 are the engine's
// A, B and C ports, port 3 is a host port that the cocotb bench (tb/blocks/
// test_matmul_engine.py) drives to preload and read back lines and to probe overwrite control.
// The engine's per-port grants are brought out so the bench can count accesses and cycles.
module npu_matmul_engine_tb #(
  parameter int unsigned Dim         = npu_pkg::ArrayDim,
  parameter int unsigned AccLines    = npu_pkg::AccLines,
  parameter int unsigned Banks       = npu_pkg::SpadBanks,
  parameter int unsigned BankLines   = npu_pkg::SpadBankLines,
  parameter int unsigned RegionLines = npu_pkg::SpadRegionLines,
  parameter int unsigned LineBits    = npu_pkg::LineBits,
  localparam int unsigned SpadLines  = Banks * BankLines,
  localparam int unsigned AddrBits   = $clog2(SpadLines),
  localparam int unsigned StrbBits   = LineBits / 8,
  localparam int unsigned Ports      = 4
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  input  logic                      strict_i,

  // Engine control.
  input  logic                      insn_valid_i,
  output logic                      insn_ready_o,
  input  npu_isa_pkg::matmul_insn_t insn_i,
  output logic                      done_o,
  output logic                      err_o,
  output logic [7:0]                err_code_o,
  output logic [31:0]               err_info_o,
  output logic                      busy_o,
  output logic                      stall_o,

  // Host port (scratchpad port 3).
  input  logic                      host_req_valid_i,
  output logic                      host_req_ready_o,
  input  logic                      host_req_write_i,
  input  logic [AddrBits-1:0]       host_req_addr_i,
  input  logic [LineBits-1:0]       host_req_wdata_i,
  input  logic [StrbBits-1:0]       host_req_wstrb_i,
  input  logic [1:0]                host_req_readers_i,
  input  logic                      host_req_last_use_i,
  output logic                      host_rsp_valid_o,
  output logic [LineBits-1:0]       host_rsp_rdata_o,

  // Observation.
  output logic [Ports-1:0]          req_valid_o,     // per port: request presented
  output logic [Ports-1:0]          req_ready_o,     // per port: granted
  output logic [Ports-1:0]          req_write_o,
  output logic [Ports-1:0]          req_last_use_o,
  output logic [Ports*2-1:0]        req_readers_o,
  output logic [Ports*AddrBits-1:0] req_addr_o,
  output logic [Ports*StrbBits-1:0] req_wstrb_o,
  output logic [Ports-1:0]          ow_violation_o,
  output logic [Ports-1:0]          bad_release_o,
  output logic [31:0]               stat_reads_o,
  output logic [31:0]               stat_writes_o,
  output logic [31:0]               stat_conflicts_o,
  output logic [31:0]               stat_ow_wait_o,
  output logic [31:0]               stat_ow_violations_o,
  output logic [31:0]               stat_bad_release_o
);

  logic [Ports-1:0]          req_valid, req_ready, req_write, req_last_use, rsp_valid;
  logic [Ports*AddrBits-1:0] req_addr;
  logic [Ports*LineBits-1:0] req_wdata, rsp_rdata;
  logic [Ports*StrbBits-1:0] req_wstrb;
  logic [Ports*2-1:0]        req_readers;

  npu_matmul_engine #(
    .Dim         (Dim),
    .AccLines    (AccLines),
    .SpadLines   (SpadLines),
    .LineBits    (LineBits),
    .RegionLines (RegionLines)
  ) u_engine (
    .clk_i,
    .rst_ni,
    .insn_valid_i,
    .insn_ready_o,
    .insn_i,
    .done_o,
    .err_o,
    .err_code_o,
    .err_info_o,
    .busy_o,
    .stall_o,
    .a_req_valid_o    (req_valid[0]),
    .a_req_ready_i    (req_ready[0]),
    .a_req_write_o    (req_write[0]),
    .a_req_addr_o     (req_addr[0*AddrBits +: AddrBits]),
    .a_req_wdata_o    (req_wdata[0*LineBits +: LineBits]),
    .a_req_wstrb_o    (req_wstrb[0*StrbBits +: StrbBits]),
    .a_req_readers_o  (req_readers[0*2 +: 2]),
    .a_req_last_use_o (req_last_use[0]),
    .a_rsp_valid_i    (rsp_valid[0]),
    .a_rsp_rdata_i    (rsp_rdata[0*LineBits +: LineBits]),
    .b_req_valid_o    (req_valid[1]),
    .b_req_ready_i    (req_ready[1]),
    .b_req_write_o    (req_write[1]),
    .b_req_addr_o     (req_addr[1*AddrBits +: AddrBits]),
    .b_req_wdata_o    (req_wdata[1*LineBits +: LineBits]),
    .b_req_wstrb_o    (req_wstrb[1*StrbBits +: StrbBits]),
    .b_req_readers_o  (req_readers[1*2 +: 2]),
    .b_req_last_use_o (req_last_use[1]),
    .b_rsp_valid_i    (rsp_valid[1]),
    .b_rsp_rdata_i    (rsp_rdata[1*LineBits +: LineBits]),
    .c_req_valid_o    (req_valid[2]),
    .c_req_ready_i    (req_ready[2]),
    .c_req_write_o    (req_write[2]),
    .c_req_addr_o     (req_addr[2*AddrBits +: AddrBits]),
    .c_req_wdata_o    (req_wdata[2*LineBits +: LineBits]),
    .c_req_wstrb_o    (req_wstrb[2*StrbBits +: StrbBits]),
    .c_req_readers_o  (req_readers[2*2 +: 2]),
    .c_req_last_use_o (req_last_use[2]),
    .c_rsp_valid_i    (rsp_valid[2]),
    .c_rsp_rdata_i    (rsp_rdata[2*LineBits +: LineBits])
  );

  assign req_valid[3]                      = host_req_valid_i;
  assign req_write[3]                      = host_req_write_i;
  assign req_addr[3*AddrBits +: AddrBits]  = host_req_addr_i;
  assign req_wdata[3*LineBits +: LineBits] = host_req_wdata_i;
  assign req_wstrb[3*StrbBits +: StrbBits] = host_req_wstrb_i;
  assign req_readers[3*2 +: 2]             = host_req_readers_i;
  assign req_last_use[3]                   = host_req_last_use_i;
  assign host_req_ready_o                  = req_ready[3];
  assign host_rsp_valid_o                  = rsp_valid[3];
  assign host_rsp_rdata_o                  = rsp_rdata[3*LineBits +: LineBits];

  npu_scratchpad #(
    .Banks       (Banks),
    .BankLines   (BankLines),
    .RegionLines (RegionLines),
    .LineBits    (LineBits),
    .Ports       (Ports),
    .ReaderBits  (2)
  ) u_spad (
    .clk_i,
    .rst_ni,
    .strict_i,
    .req_valid_i          (req_valid),
    .req_ready_o          (req_ready),
    .req_write_i          (req_write),
    .req_addr_i           (req_addr),
    .req_wdata_i          (req_wdata),
    .req_wstrb_i          (req_wstrb),
    .req_readers_i        (req_readers),
    .req_last_use_i       (req_last_use),
    .rsp_valid_o          (rsp_valid),
    .rsp_rdata_o          (rsp_rdata),
    .ow_violation_o,
    .bad_release_o,
    .stat_clear_i         (1'b0),
    .stat_reads_o,
    .stat_writes_o,
    .stat_conflicts_o,
    .stat_ow_wait_o,
    .stat_ow_violations_o,
    .stat_bad_release_o
  );

  assign req_valid_o    = req_valid;
  assign req_ready_o    = req_ready;
  assign req_write_o    = req_write;
  assign req_last_use_o = req_last_use;
  assign req_readers_o  = req_readers;
  assign req_addr_o     = req_addr;
  assign req_wstrb_o    = req_wstrb;

endmodule
