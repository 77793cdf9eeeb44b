// Port bundles of the NPU as packed structs (pulp-platform `typedef.svh` style).
//
// Widths depend on block parameters (address and line width, AXI ID width...), and neither
// `parameter type` nor arrays of structs are accepted by Yosys 0.23, so a bundle is declared
// inside each module that uses it by one macro call with that module's parameters, and crosses
// module ports as a flat vector of the bundle's width (`*_BITS` below; Verilator -Wall flags any
// mismatch between a macro's struct and its width at every configuration). Adding a signal to a
// bundle is one edit here: a field in the struct and its width in the `*_BITS` macro beside it.
//
// Naming (lowRISC): `_t` types; requests (`_req_t`) carry what the initiator drives, including
// its valid bits; responses (`_rsp_t`) carry what the target drives, including its ready bits.
`ifndef NPU_TYPEDEF_SVH
`define NPU_TYPEDEF_SVH

// ---- Scratchpad port (docs/scratchpad.md) --------------------------------------------------
// readers != 0 on a write: that many last-use reads must follow before the region may be
// overwritten; last_use on a read: this stream's last read of the region.
`define NPU_SPAD_TYPEDEF_ALL(AddrBits, LineBits, ReaderBits) \
  typedef struct packed {                                    \
    logic                      valid;                        \
    logic                      write;                        \
    logic [(AddrBits)-1:0]     addr;                         \
    logic [(LineBits)-1:0]     wdata;                        \
    logic [(LineBits)/8-1:0]   wstrb;                        \
    logic [(ReaderBits)-1:0]   readers;                      \
    logic                      last_use;                     \
  } spad_req_t;                                              \
  typedef struct packed {                                    \
    logic                      ready;                        \
    logic                      rvalid;                       \
    logic [(LineBits)-1:0]     rdata;                        \
  } spad_rsp_t;
`define NPU_SPAD_REQ_BITS(AddrBits, LineBits, ReaderBits) \
  (3 + (AddrBits) + (LineBits) + (LineBits) / 8 + (ReaderBits))
`define NPU_SPAD_RSP_BITS(LineBits) (2 + (LineBits))

// Scratchpad statistics (32-bit counters, docs/scratchpad.md).
`define NPU_SPAD_STATS_TYPEDEF                               \
  typedef struct packed {                                    \
    logic [31:0]               reads;                        \
    logic [31:0]               writes;                       \
    logic [31:0]               conflicts;                    \
    logic [31:0]               ow_wait;                      \
    logic [31:0]               ow_violations;                \
    logic [31:0]               bad_release;                  \
  } spad_stats_t;
`define NPU_SPAD_STATS_BITS (6 * 32)

// ---- AXI4 (32-bit addresses, DataBits-wide data) -------------------------------------------
`define NPU_AXI_TYPEDEF_ALL(IdBits, DataBits)                \
  typedef struct packed {                                    \
    logic [(IdBits)-1:0]       id;                           \
    logic [31:0]               addr;                         \
    logic [7:0]                len;                          \
    logic [2:0]                size;                         \
    logic [1:0]                burst;                        \
    logic [3:0]                cache;                        \
    logic [2:0]                prot;                         \
  } axi_ax_chan_t;                                           \
  typedef struct packed {                                    \
    logic [(DataBits)-1:0]     data;                         \
    logic [(DataBits)/8-1:0]   strb;                         \
    logic                      last;                         \
  } axi_w_chan_t;                                            \
  typedef struct packed {                                    \
    logic [(IdBits)-1:0]       id;                           \
    logic [1:0]                resp;                         \
  } axi_b_chan_t;                                            \
  typedef struct packed {                                    \
    logic [(IdBits)-1:0]       id;                           \
    logic [(DataBits)-1:0]     data;                         \
    logic [1:0]                resp;                         \
    logic                      last;                         \
  } axi_r_chan_t;                                            \
  typedef struct packed {                                    \
    axi_ax_chan_t              aw;                           \
    logic                      aw_valid;                     \
    axi_w_chan_t               w;                            \
    logic                      w_valid;                      \
    logic                      b_ready;                      \
    axi_ax_chan_t              ar;                           \
    logic                      ar_valid;                     \
    logic                      r_ready;                      \
  } axi_req_t;                                               \
  typedef struct packed {                                    \
    logic                      aw_ready;                     \
    logic                      w_ready;                      \
    axi_b_chan_t               b;                            \
    logic                      b_valid;                      \
    logic                      ar_ready;                     \
    axi_r_chan_t               r;                            \
    logic                      r_valid;                      \
  } axi_rsp_t;
`define NPU_AXI_AX_BITS(IdBits) ((IdBits) + 32 + 8 + 3 + 2 + 4 + 3)
`define NPU_AXI_REQ_BITS(IdBits, DataBits) \
  (2 * `NPU_AXI_AX_BITS(IdBits) + (DataBits) + (DataBits) / 8 + 1 + 5)
`define NPU_AXI_RSP_BITS(IdBits, DataBits) (2 * (IdBits) + (DataBits) + 4 + 1 + 5)

// Tie-offs of a one-direction AXI client's request (npu_axi_master adds ID, size, burst, cache
// and prot, so a client leaves them zero): a read client drives no write channel, a write
// client no read channel.
`define NPU_AXI_READ_CLIENT_TIEOFF(req) \
  assign req.aw       = '0;            \
  assign req.aw_valid = 1'b0;          \
  assign req.w        = '0;            \
  assign req.w_valid  = 1'b0;          \
  assign req.b_ready  = 1'b0;          \
  assign req.ar.id    = '0;            \
  assign req.ar.size  = '0;            \
  assign req.ar.burst = '0;            \
  assign req.ar.cache = '0;            \
  assign req.ar.prot  = '0;
`define NPU_AXI_WRITE_CLIENT_TIEOFF(req) \
  assign req.ar       = '0;             \
  assign req.ar_valid = 1'b0;           \
  assign req.r_ready  = 1'b0;           \
  assign req.aw.id    = '0;             \
  assign req.aw.size  = '0;             \
  assign req.aw.burst = '0;             \
  assign req.aw.cache = '0;             \
  assign req.aw.prot  = '0;

// ---- AXI4-Lite (32-bit data) ---------------------------------------------------------------
`define NPU_AXIL_TYPEDEF_ALL(AddrBits)                       \
  typedef struct packed {                                    \
    logic [(AddrBits)-1:0]     aw_addr;                      \
    logic                      aw_valid;                     \
    logic [31:0]               w_data;                       \
    logic [3:0]                w_strb;                       \
    logic                      w_valid;                      \
    logic                      b_ready;                      \
    logic [(AddrBits)-1:0]     ar_addr;                      \
    logic                      ar_valid;                     \
    logic                      r_ready;                      \
  } axil_req_t;                                              \
  typedef struct packed {                                    \
    logic                      aw_ready;                     \
    logic                      w_ready;                      \
    logic [1:0]                b_resp;                       \
    logic                      b_valid;                      \
    logic                      ar_ready;                     \
    logic [31:0]               r_data;                       \
    logic [1:0]                r_resp;                       \
    logic                      r_valid;                      \
  } axil_rsp_t;
`define NPU_AXIL_REQ_BITS(AddrBits) (2 * (AddrBits) + 32 + 4 + 5)
`define NPU_AXIL_RSP_BITS (32 + 4 + 5)

`endif  // NPU_TYPEDEF_SVH
