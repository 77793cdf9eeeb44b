// Banked scratchpad with multi-port arbitration and overwrite control: npu_scratchpad_core
// (docs/scratchpad.md) with one flat port per field of the scratchpad bundles, port p's field at
// [p*W +: W]. The NPU and the engine benches use the core's bundle ports directly; this view is
// the block-level bench's (tb/blocks/test_scratchpad.py drives every field on its own).
`include "npu_typedef.svh"
`include "npu_ports.svh"

module npu_scratchpad #(
  `NPU_SPAD_PARAMS,
  parameter int unsigned Ports       = npu_pkg::SpadPorts
) (
  input  logic                         clk_i,
  input  logic                         rst_ni,

  input  logic                         strict_i,

  input  logic [Ports-1:0]             req_valid_i,
  output logic [Ports-1:0]             req_ready_o,
  input  logic [Ports-1:0]             req_write_i,
  input  logic [Ports*AddrBits-1:0]    req_addr_i,
  input  logic [Ports*LineBits-1:0]    req_wdata_i,
  input  logic [Ports*StrbBits-1:0]    req_wstrb_i,
  input  logic [Ports*ReaderBits-1:0]  req_readers_i,
  input  logic [Ports-1:0]             req_last_use_i,

  output logic [Ports-1:0]             rsp_valid_o,
  output logic [Ports*LineBits-1:0]    rsp_rdata_o,

  output logic [Ports-1:0]             ow_violation_o,
  output logic [Ports-1:0]             bad_release_o,
  output logic [15:0]                  event_region_o,   // region of the last pulse

  input  logic                         stat_clear_i,
  `NPU_SPAD_STAT_PORTS
);

  localparam int unsigned ReqBits = `NPU_SPAD_REQ_BITS(AddrBits, LineBits, ReaderBits);
  localparam int unsigned RspBits = `NPU_SPAD_RSP_BITS(LineBits);

  `NPU_SPAD_TYPEDEF_ALL(AddrBits, LineBits, ReaderBits)
  `NPU_SPAD_STATS_TYPEDEF

  logic [Ports*ReqBits-1:0] req;
  logic [Ports*RspBits-1:0] rsp;
  spad_req_t                port_req;
  spad_rsp_t                port_rsp;
  spad_stats_t              stats;

  always_comb begin
    for (int unsigned p = 0; p < Ports; p++) begin
      port_req          = '0;
      port_req.valid    = req_valid_i[p];
      port_req.write    = req_write_i[p];
      port_req.addr     = req_addr_i[p*AddrBits +: AddrBits];
      port_req.wdata    = req_wdata_i[p*LineBits +: LineBits];
      port_req.wstrb    = req_wstrb_i[p*StrbBits +: StrbBits];
      port_req.readers  = req_readers_i[p*ReaderBits +: ReaderBits];
      port_req.last_use = req_last_use_i[p];
      req[p*ReqBits +: ReqBits] = port_req;
    end
  end

  always_comb begin
    for (int unsigned p = 0; p < Ports; p++) begin
      port_rsp = rsp[p*RspBits +: RspBits];
      req_ready_o[p]                    = port_rsp.ready;
      rsp_valid_o[p]                    = port_rsp.rvalid;
      rsp_rdata_o[p*LineBits +: LineBits] = port_rsp.rdata;
    end
  end

  npu_scratchpad_core #(
    `NPU_SPAD_PARAM_MAP,
    .Ports       (Ports)
  ) u_core (
    .clk_i,
    .rst_ni,
    .strict_i,
    .req_i                (req),
    .rsp_o                (rsp),
    .ow_violation_o,
    .bad_release_o,
    .event_region_o,
    .stat_clear_i,
    .clear_locks_i        (stat_clear_i),   // as in the NPU, where START clears both
    .stats_o              (stats)
  );

  `NPU_SPAD_STAT_ASSIGN(stats)

endmodule
