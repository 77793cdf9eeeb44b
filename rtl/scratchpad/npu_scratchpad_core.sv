// Banked scratchpad with multi-port arbitration and overwrite control (the implementation; its
// ports are the scratchpad bundles. npu_scratchpad is the same block with one flat port per
// bundle field, for benches that drive fields one by one).
//
// Storage: Banks single-port SRAMs of BankLines lines of LineBits bits. A line address selects
// its bank with the high bits (bank = addr / BankLines), so software places buffers in banks
// and streams that use different banks never collide.
//
// Ports: Ports requesters (DMA, matrix unit, vector unit) issue one line access each per
// cycle with valid/ready. Port p is the bundle pair spad_req_t / spad_rsp_t
// (rtl/include/npu_typedef.svh) at req_i / rsp_o[p*ReqBits / p*RspBits +: ...]. Every bank
// serves one access per cycle; requests to different banks are all granted in the same cycle,
// requests to one bank are ordered by a round-robin arbiter per bank. rsp.ready is the grant
// (combinational from this cycle's requests). Read data comes back exactly one cycle after the
// grant on rsp.rvalid/rsp.rdata, without backpressure.
//
// Overwrite control: the scratchpad is divided into regions of RegionLines lines (a region never
// spans two banks). Each region has a pending-read count. A write carrying req.readers != 0
// says "this write completes the buffer; that many consumer streams will read it" and sets the
// count; a read carrying req.last_use is its stream's last use of the region and decrements
// it. While a region's count is non-zero a write to it would destroy data a consumer still
// needs: with strict_i = 0 the write waits (it takes no part in arbitration and becomes
// eligible the cycle after the releasing read was granted); with strict_i = 1 it is a schedule
// violation: the write is acknowledged at once without touching memory, so the producer does
// not hang, and reported on ow_violation_o. Reads are never held. A last-use read of a region
// whose count is already zero is reported on bad_release_o (the read still returns data).
// ow_violation_o and bad_release_o pulse one cycle after the offending request's handshake,
// aligned with where its read data would be; event_region_o then holds the region of the
// lowest-numbered port with a violation, or else with a bad release (ERROR_INFO of the NPU's
// OW_VIOLATION / BAD_RELEASE errors).
//
// Counters (32 bit, wrap around, cleared by stat_clear_i, which wins over events of the same
// cycle): granted reads, performed writes, conflicts (per cycle, the eligible requests that
// lost bank arbitration to another port), overwrite waits (per cycle, the writes held by
// overwrite control), violations and bad releases.
`include "npu_typedef.svh"
`include "npu_ports.svh"

module npu_scratchpad_core #(
  `NPU_SPAD_PARAMS,
  parameter int unsigned Ports       = npu_pkg::SpadPorts,
  localparam int unsigned ReqBits    = `NPU_SPAD_REQ_BITS(AddrBits, LineBits, ReaderBits),
  localparam int unsigned RspBits    = `NPU_SPAD_RSP_BITS(LineBits),
  localparam int unsigned StatsBits  = `NPU_SPAD_STATS_BITS
) (
  input  logic                         clk_i,
  input  logic                         rst_ni,

  input  logic                         strict_i,

  input  logic [Ports*ReqBits-1:0]     req_i,     // spad_req_t per port
  output logic [Ports*RspBits-1:0]     rsp_o,     // spad_rsp_t per port

  output logic [Ports-1:0]             ow_violation_o,
  output logic [Ports-1:0]             bad_release_o,
  output logic [15:0]                  event_region_o,   // a region index (ISA width)

  input  logic                         stat_clear_i,
  input  logic                         clear_locks_i,   // START: no region awaits reads
  // The counters are counted by toggle coverage as the registers below; Verilator's toggle
  // counts of a wide (192-bit) vector include intermediate values, so the bundle is not.
  /* verilator coverage_off */
  output logic [StatsBits-1:0]         stats_o    // spad_stats_t
  /* verilator coverage_on */
);

  localparam int unsigned Lines       = Banks * BankLines;
  localparam int unsigned Regions     = Lines / RegionLines;
  localparam int unsigned LineIdxBits = (BankLines > 1) ? $clog2(BankLines) : 1;
  localparam int unsigned BankBits    = (Banks > 1) ? $clog2(Banks) : 1;
  localparam int unsigned RegionBits  = (Regions > 1) ? $clog2(Regions) : 1;
  localparam int unsigned RegionShift = $clog2(RegionLines);
  localparam int unsigned PortBits    = (Ports > 1) ? $clog2(Ports) : 1;
  localparam int unsigned CountBits   = $clog2(Ports + 1);

  `NPU_SPAD_TYPEDEF_ALL(AddrBits, LineBits, ReaderBits)
  `NPU_SPAD_STATS_TYPEDEF

  // ------------------------------------------------------------------------------------------
  // Per-field views of the port bundles, one vector per field over all ports. The bench's
  // toggle coverage counts these (Verilator skips signals wider than 256 bits, such as the
  // bundle ports, so the narrow fields are counted here) and not the per-port temporaries.
  // ------------------------------------------------------------------------------------------
  logic [Ports-1:0]            req_valid, req_ready, req_write, req_last_use, rsp_valid;
  logic [Ports*AddrBits-1:0]   req_addr;
  logic [Ports*LineBits-1:0]   req_wdata, rsp_rdata;
  logic [Ports*StrbBits-1:0]   req_wstrb;
  logic [Ports*ReaderBits-1:0] req_readers;
  /* verilator coverage_off */
  spad_req_t                   port_req;
  spad_rsp_t                   port_rsp;
  /* verilator coverage_on */

  always_comb begin
    for (int unsigned p = 0; p < Ports; p++) begin
      port_req = req_i[p*ReqBits +: ReqBits];
      req_valid[p]                            = port_req.valid;
      req_write[p]                            = port_req.write;
      req_addr[p*AddrBits +: AddrBits]        = port_req.addr;
      req_wdata[p*LineBits +: LineBits]       = port_req.wdata;
      req_wstrb[p*StrbBits +: StrbBits]       = port_req.wstrb;
      req_readers[p*ReaderBits +: ReaderBits] = port_req.readers;
      req_last_use[p]                         = port_req.last_use;
    end
  end

  always_comb begin
    for (int unsigned p = 0; p < Ports; p++) begin
      port_rsp        = '0;
      port_rsp.ready  = req_ready[p];
      port_rsp.rvalid = rsp_valid[p];
      port_rsp.rdata  = rsp_rdata[p*LineBits +: LineBits];
      rsp_o[p*RspBits +: RspBits] = port_rsp;
    end
  end

  // ------------------------------------------------------------------------------------------
  // Per-port decode and overwrite control
  // ------------------------------------------------------------------------------------------
  logic [Regions*ReaderBits-1:0] pending_q, pending_d;

  logic [Ports*BankBits-1:0]    port_bank;
  logic [Ports*LineIdxBits-1:0] port_line;
  logic [Ports*RegionBits-1:0]  port_region;
  logic [Ports*ReaderBits-1:0]  port_cnt;     // pending count of the addressed region
  logic [Ports-1:0]             port_hold;    // write waiting for consumers (strict_i = 0)
  logic [Ports-1:0]             port_viol;    // write dropped as a violation (strict_i = 1)
  logic [Ports-1:0]             port_elig;    // takes part in bank arbitration

  for (genvar p = 0; p < Ports; p++) begin : g_port
    logic [AddrBits-1:0]   addr;
    logic [RegionBits-1:0] region;
    logic                  locked;

    assign addr   = req_addr[p*AddrBits +: AddrBits];
    assign region = RegionBits'(addr >> RegionShift);
    assign port_bank[p*BankBits +: BankBits]          = BankBits'(addr >> LineIdxBits);
    assign port_line[p*LineIdxBits +: LineIdxBits]    = LineIdxBits'(addr);
    assign port_region[p*RegionBits +: RegionBits]    = region;
    assign port_cnt[p*ReaderBits +: ReaderBits]       = pending_q[region*ReaderBits +: ReaderBits];

    assign locked       = port_cnt[p*ReaderBits +: ReaderBits] != '0;
    assign port_hold[p] = req_valid[p] && req_write[p] && locked && !strict_i;
    assign port_viol[p] = req_valid[p] && req_write[p] && locked && strict_i;
    assign port_elig[p] = req_valid[p] && !(req_write[p] && locked);
  end

  // ------------------------------------------------------------------------------------------
  // Banks: one round-robin arbiter and one single-port SRAM each
  // ------------------------------------------------------------------------------------------
  logic [Banks*Ports-1:0]    bank_gnt;
  logic [Banks*LineBits-1:0] bank_rdata;

  for (genvar b = 0; b < Banks; b++) begin : g_bank
    logic [Ports-1:0]       req;
    logic [PortBits-1:0]    idx;
    logic                   valid;

    for (genvar p = 0; p < Ports; p++) begin : g_req
      assign req[p] = port_elig[p] && (port_bank[p*BankBits +: BankBits] == BankBits'(b));
    end

    npu_rr_arbiter #(
      .N (Ports)
    ) u_arb (
      .clk_i,
      .rst_ni,
      .req_i   (req),
      .gnt_o   (bank_gnt[b*Ports +: Ports]),
      .idx_o   (idx),
      .valid_o (valid)
    );

    // The winner's request drives the bank: exactly one access per bank and cycle.
    npu_ram_1p #(
      .Depth (BankLines),
      .Width (LineBits)
    ) u_ram (
      .clk_i,
      .req_i   (valid),
      .we_i    (req_write[idx]),
      .addr_i  (port_line[idx*LineIdxBits +: LineIdxBits]),
      .wdata_i (req_wdata[idx*LineBits +: LineBits]),
      .wstrb_i (req_wstrb[idx*StrbBits +: StrbBits]),
      .rdata_o (bank_rdata[b*LineBits +: LineBits])
    );
  end

  logic [Ports-1:0] grant;

  always_comb begin
    grant = '0;
    for (int unsigned b = 0; b < Banks; b++) begin
      grant = grant | bank_gnt[b*Ports +: Ports];
    end
  end

  // A violating write completes its handshake without an access so the producer never hangs.
  assign req_ready = grant | port_viol;

  // ------------------------------------------------------------------------------------------
  // Pending-read counts. At most one access per bank is granted per cycle and a region lies in
  // one bank, so at most one granted access touches a region per cycle. A granted write always
  // found its region at count zero (otherwise it was held or dropped).
  // ------------------------------------------------------------------------------------------
  logic [Ports-1:0] port_bad;   // granted last-use read of a region already at zero

  always_comb begin
    pending_d = pending_q;
    port_bad  = '0;
    for (int unsigned p = 0; p < Ports; p++) begin
      if (grant[p] && !req_write[p] && req_last_use[p]) begin
        port_bad[p] = port_cnt[p*ReaderBits +: ReaderBits] == '0;
      end
    end
    for (int unsigned r = 0; r < Regions; r++) begin
      for (int unsigned p = 0; p < Ports; p++) begin
        if (grant[p] && port_region[p*RegionBits +: RegionBits] == RegionBits'(r)) begin
          if (req_write[p]) begin
            if (req_readers[p*ReaderBits +: ReaderBits] != '0) begin
              pending_d[r*ReaderBits +: ReaderBits] = req_readers[p*ReaderBits +: ReaderBits];
            end
          end else if (req_last_use[p] && !port_bad[p]) begin
            pending_d[r*ReaderBits +: ReaderBits] =
                port_cnt[p*ReaderBits +: ReaderBits] - 1'b1;
          end
        end
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pending_q <= '0;
    end else if (clear_locks_i) begin
      pending_q <= '0;        // a program starts with no region locked (the model's start)
    end else begin
      pending_q <= pending_d;
    end
  end

  // ------------------------------------------------------------------------------------------
  // Responses and event pulses, one cycle after the grant
  // ------------------------------------------------------------------------------------------
  logic [Ports-1:0]          rsp_valid_q;
  logic [Ports*BankBits-1:0] rsp_bank_q;
  logic [Ports-1:0]          viol_q, bad_q;
  logic [RegionBits-1:0]     event_region_d, event_region_q;

  // Violations first (they stop a strict run), then bad releases; the lowest port wins.
  always_comb begin
    event_region_d = event_region_q;
    for (int p = Ports - 1; p >= 0; p--) begin
      if (port_bad[p]) event_region_d = port_region[p*RegionBits +: RegionBits];
    end
    for (int p = Ports - 1; p >= 0; p--) begin
      if (port_viol[p]) event_region_d = port_region[p*RegionBits +: RegionBits];
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rsp_valid_q <= '0;
      rsp_bank_q  <= '0;
      viol_q      <= '0;
      bad_q       <= '0;
      event_region_q <= '0;
    end else begin
      rsp_valid_q <= grant & ~req_write;
      viol_q      <= port_viol;
      bad_q       <= port_bad;
      event_region_q <= event_region_d;
      for (int unsigned p = 0; p < Ports; p++) begin
        if (grant[p] && !req_write[p]) begin
          rsp_bank_q[p*BankBits +: BankBits] <= port_bank[p*BankBits +: BankBits];
        end
      end
    end
  end

  for (genvar p = 0; p < Ports; p++) begin : g_rsp
    logic [BankBits-1:0] bank;
    assign bank = rsp_bank_q[p*BankBits +: BankBits];
    assign rsp_rdata[p*LineBits +: LineBits] = bank_rdata[bank*LineBits +: LineBits];
  end

  assign rsp_valid      = rsp_valid_q;
  assign ow_violation_o = viol_q;
  assign bad_release_o  = bad_q;
  assign event_region_o = 16'(event_region_q);

  // ------------------------------------------------------------------------------------------
  // Statistics
  // ------------------------------------------------------------------------------------------
  logic [CountBits-1:0] n_reads, n_writes, n_conflicts, n_ow_wait, n_viol, n_bad;

  always_comb begin
    n_reads     = '0;
    n_writes    = '0;
    n_conflicts = '0;
    n_ow_wait   = '0;
    n_viol      = '0;
    n_bad       = '0;
    for (int unsigned p = 0; p < Ports; p++) begin
      n_reads     = n_reads + CountBits'(grant[p] && !req_write[p]);
      n_writes    = n_writes + CountBits'(grant[p] && req_write[p]);
      n_conflicts = n_conflicts + CountBits'(port_elig[p] && !grant[p]);
      n_ow_wait   = n_ow_wait + CountBits'(port_hold[p]);
      n_viol      = n_viol + CountBits'(port_viol[p]);
      n_bad       = n_bad + CountBits'(port_bad[p]);
    end
  end

  logic [31:0] reads_q, writes_q, conflicts_q, ow_wait_q, viol_cnt_q, bad_cnt_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      reads_q     <= '0;
      writes_q    <= '0;
      conflicts_q <= '0;
      ow_wait_q   <= '0;
      viol_cnt_q  <= '0;
      bad_cnt_q   <= '0;
    end else if (stat_clear_i) begin
      reads_q     <= '0;
      writes_q    <= '0;
      conflicts_q <= '0;
      ow_wait_q   <= '0;
      viol_cnt_q  <= '0;
      bad_cnt_q   <= '0;
    end else begin
      reads_q     <= reads_q + 32'(n_reads);
      writes_q    <= writes_q + 32'(n_writes);
      conflicts_q <= conflicts_q + 32'(n_conflicts);
      ow_wait_q   <= ow_wait_q + 32'(n_ow_wait);
      viol_cnt_q  <= viol_cnt_q + 32'(n_viol);
      bad_cnt_q   <= bad_cnt_q + 32'(n_bad);
    end
  end

  // Struct view of stats_o: the same wires as the port, kept out of toggle coverage.
  /* verilator coverage_off */
  spad_stats_t stats;
  /* verilator coverage_on */

  assign stats.reads         = reads_q;
  assign stats.writes        = writes_q;
  assign stats.conflicts     = conflicts_q;
  assign stats.ow_wait       = ow_wait_q;
  assign stats.ow_violations = viol_cnt_q;
  assign stats.bad_release   = bad_cnt_q;
  assign stats_o             = stats;

`ifndef SYNTHESIS
`include "npu_assert.svh"
  // ------------------------------------------------------------------------------------------
  // Assertions
  // ------------------------------------------------------------------------------------------
  `NPU_ASSERT_INIT(SpadRegionInBank_A, RegionLines <= BankLines && BankLines % RegionLines == 0,
                   "a region must lie in one bank")

  for (genvar p = 0; p < Ports; p++) begin : g_port_sva
    logic locked;
    assign locked = port_cnt[p*ReaderBits +: ReaderBits] != '0;

    // Port protocol: a request is held, unchanged, until req.ready takes it (valid is the
    // bundle's top bit, the payload the bits below it).
    `NPU_ASSERT(SpadReqHeld_A, req_valid[p] && !req_ready[p] |=> req_valid[p],
                "request withdrawn before it was granted")
    `NPU_ASSERT(SpadReqStable_A,
                req_valid[p] && !req_ready[p] |=> $stable(req_i[p*ReqBits +: ReqBits-1]),
                "request changed before it was granted")
    // Overwrite control: a write that reaches its bank found the region without pending reads;
    // a write to a locked region is only acknowledged in strict mode, where it is dropped and
    // reported (ow_violation_o the next cycle).
    `NPU_ASSERT(SpadNoWriteToLocked_A, grant[p] && req_write[p] |-> !locked,
                "a write to a region with pending reads was performed")
    `NPU_ASSERT(SpadLockedWriteOnlyStrict_A,
                req_valid[p] && req_ready[p] && req_write[p] && locked |-> strict_i && !grant[p],
                "a write to a locked region was acknowledged outside strict mode")
    `NPU_ASSERT(SpadViolReported_A, port_viol[p] |=> ow_violation_o[p],
                "a dropped strict-mode write was not reported")
    `NPU_ASSERT(SpadReadAnswered_A, grant[p] && !req_write[p] |=> rsp_valid[p],
                "a granted read got no response the next cycle")
    `NPU_ASSERT(SpadGrantOnlyEligible_A, grant[p] |-> port_elig[p],
                "a grant to a port that is not eligible")
  end

  for (genvar b = 0; b < Banks; b++) begin : g_bank_sva
    `NPU_ASSERT(SpadBankGntOneHot0_A, $onehot0(bank_gnt[b*Ports +: Ports]),
                "more than one access to a bank in one cycle")
  end
`endif

endmodule
