// SIMULATION ONLY (not synthesizable, lives outside rtl/): an AXI4 slave memory for the test
// benches. Built by Verilator without --timing.
//
// * MemBytes bytes, data width DataBits (the NPU's line width), little-endian within a word.
// * AR and AW requests are accepted into queues (QueueDepth each), so several bursts are
//   outstanding; responses come back in acceptance order (R in AR order whatever the ID, B in
//   AW order). INCR bursts of full-width beats, up to 256 beats; an unaligned address is
//   treated as its aligned beat (AXI data lanes follow the address).
// * Read latency: every burst gets a latency drawn uniformly from [lat_min_i, lat_max_i] by an
//   LFSR seeded from seed_i at reset; its first beat is not presented before acceptance +
//   latency. B responses get a latency from the same generator after the burst's last W beat.
// * Bandwidth: bytes_per_cycle_i is the budget of the whole channel, shared by reads and
//   writes (an LPDDR channel is half-duplex). It refills one credit counter every cycle; a
//   beat, R or W, is granted while the credit is not negative and takes DataBits/8 from it, so
//   the credit goes into debt and the long-run rate is exactly bytes_per_cycle_i bytes per
//   cycle whatever its ratio to the beat. An idle channel saves up no more than one cycle's
//   refill less a byte (no burst after a pause; the cap never bites while beats flow). When
//   both directions want the channel their beats alternate. WREADY is a slot granted a cycle
//   ahead to a master that holds WVALID; a slot it leaves unused is refunded.
//   0 = unlimited: a beat per cycle in each direction, no credit (the model before the limit).
// * A burst reaching beyond MemBytes is answered SLVERR as a whole: its reads return zeros,
//   its writes change nothing.
// * Protocol checks (counted in stats_o.protocol_errors): AxSIZE not full width, AxBURST not INCR, a
//   burst crossing a 4 KiB boundary, WLAST not on a burst's last beat.
// * Back door: a load_req_i pulse $readmemh's the load file into the memory (the file may hold
//   "@word" address lines, so only part of the memory is replaced); a dump_req_i pulse
//   $writememh's words dump_first_i..dump_last_i to the dump file. File names: parameters
//   LoadFile / DumpFile, overridden by plusargs +NPU_DRAM_LOAD=<file> / +NPU_DRAM_DUMP=<file>;
//   relative names are relative to the simulator's working directory. tb/harness/dram.py
//   writes and reads these files from NumPy arrays. A clear_req_i pulse zeroes words
//   dump_first_i..dump_last_i (a test's defined starting state without a file of zeros:
//   $readmemh of 16 MiB takes about a second, this loop milliseconds).
// * Counters: bytes read (whole beats) and written (strobed bytes) over the bus, bursts
//   accepted, most read bursts queued at once, bursts still pending per direction.
// The model's state (queues, credits, beat counters) is updated in program order inside one
// clocked process, like a C model; outputs are still assigned with <= so the DUT samples them
// race-free.
// Counters of the model, one struct so wrappers take them as one port.
package npu_dram_model_pkg;
  typedef struct packed {
    logic [31:0] rd_bytes;
    logic [31:0] wr_bytes;
    logic [31:0] rd_bursts;
    logic [31:0] wr_bursts;
    logic [31:0] protocol_errors;
    logic [31:0] max_rd_queued;
    logic [31:0] rd_pending;   // read bursts accepted, not yet fully answered
    logic [31:0] wr_pending;   // write bursts accepted, B not yet accepted
  } dram_stats_t;
endpackage

/* verilator lint_off BLKSEQ */
`include "npu_typedef.svh"

module npu_dram_model #(
  parameter int unsigned DataBits   = 512,
  parameter int unsigned IdBits     = npu_pkg::AxiIdBits,
  parameter int unsigned MemBytes   = npu_pkg::DramBytes,
  parameter int unsigned QueueDepth = 8,
  parameter string       LoadFile   = "npu_dram_load.hex",
  parameter string       DumpFile   = "npu_dram_dump.hex",
  localparam int unsigned StrbBits  = DataBits / 8,
  localparam int unsigned AxiReqBits = `NPU_AXI_REQ_BITS(IdBits, DataBits),
  localparam int unsigned AxiRspBits = `NPU_AXI_RSP_BITS(IdBits, DataBits)
) (
  input  logic                clk_i,
  input  logic                rst_ni,

  input  logic [15:0]         lat_min_i,
  input  logic [15:0]         lat_max_i,
  input  logic [15:0]         bytes_per_cycle_i,
  input  logic [31:0]         seed_i,

  input  logic                load_req_i,
  input  logic                dump_req_i,
  input  logic                clear_req_i,
  input  logic [31:0]         dump_first_i,
  input  logic [31:0]         dump_last_i,

  // AXI4 slave (axi_req_t / axi_rsp_t, rtl/include/npu_typedef.svh).
  input  logic [AxiReqBits-1:0] s_axi_req_i,
  output logic [AxiRspBits-1:0] s_axi_rsp_o,

  output npu_dram_model_pkg::dram_stats_t stats_o
);

  `NPU_AXI_TYPEDEF_ALL(IdBits, DataBits)

  axi_req_t req;   // cache and prot are ignored
  axi_rsp_t rsp;

  assign req         = s_axi_req_i;
  assign s_axi_rsp_o = rsp;

  localparam int unsigned MemWords = MemBytes / StrbBits;
  localparam int unsigned OffBits  = $clog2(StrbBits);
  localparam logic [1:0]  RespOkay = 2'b00;
  localparam logic [1:0]  RespSlverr = 2'b10;

  typedef struct packed {
    logic [63:0]       due;     // first cycle the response may start
    logic [31:0]       addr;    // beat-aligned start address
    logic [8:0]        beats;
    logic [IdBits-1:0] id;
    logic              err;
  } burst_t;

  logic [DataBits-1:0] mem [MemWords];

  burst_t      ar_q[$];
  burst_t      aw_q[$];
  burst_t      b_q[$];
  logic [63:0] now;
  int          credit;       // the channel's budget in bytes (negative: a debt)
  logic        w_turn;       // both directions want the channel: W goes first
  int unsigned r_beat, w_beat;
  logic [31:0] lfsr;
  logic [31:0] proto_errs;
  string       load_file, dump_file;

  initial begin
    load_file = LoadFile;
    dump_file = DumpFile;
    void'($value$plusargs("NPU_DRAM_LOAD=%s", load_file));
    void'($value$plusargs("NPU_DRAM_DUMP=%s", dump_file));
  end

  function automatic logic [63:0] next_latency();
    logic [31:0] span;
    // 32-bit Galois LFSR (CRC-32 polynomial).
    lfsr = {lfsr[30:0], 1'b0} ^ (lfsr[31] ? 32'h04C1_1DB7 : 32'h0);
    if (lat_max_i <= lat_min_i) return 64'(lat_min_i);
    span = 32'(lat_max_i) - 32'(lat_min_i) + 32'd1;
    return 64'(lat_min_i) + 64'(lfsr % span);
  endfunction

  function automatic burst_t make_burst(input logic [IdBits-1:0] id, input logic [31:0] addr,
                                        input logic [7:0] len, input logic [2:0] size,
                                        input logic [1:0] burst);
    burst_t b;
    logic [63:0] first, bytes;
    first   = 64'(addr) & ~64'(StrbBits - 1);
    bytes   = (64'(len) + 64'd1) * 64'(StrbBits);
    b.due   = '0;
    b.addr  = 32'(first);
    b.beats = 9'(len) + 9'd1;
    b.id    = id;
    b.err   = first + bytes > 64'(MemBytes);
    if (size != 3'(OffBits) || burst != 2'b01 || (first & 64'hfff) + bytes > 64'd4096) begin
      proto_errs = proto_errs + 32'd1;
      $display("%m: protocol error: id %0d addr %h len %0d size %0d burst %0d", id, addr, len,
               size, burst);
    end
    return b;
  endfunction

  function automatic int unsigned popcount(input logic [StrbBits-1:0] strb);
    int unsigned n = 0;
    for (int unsigned k = 0; k < StrbBits; k++) n += 32'(strb[k]);
    return n;
  endfunction

  always @(posedge clk_i) begin
    if (load_req_i) $readmemh(load_file, mem);
    if (dump_req_i) $writememh(dump_file, mem, dump_first_i, dump_last_i);
    if (clear_req_i) begin
      for (int unsigned w = dump_first_i; w <= dump_last_i && w < MemWords; w++) mem[w] = '0;
    end
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ar_q.delete();
      aw_q.delete();
      b_q.delete();
      now               = '0;
      credit            = 0;
      w_turn            = 1'b0;
      r_beat            = 0;
      w_beat            = 0;
      lfsr              = (seed_i == '0) ? 32'h1 : seed_i;
      proto_errs        = '0;
      rsp.aw_ready   <= 1'b0;
      rsp.w_ready    <= 1'b0;
      rsp.b_valid    <= 1'b0;
      rsp.b.id       <= '0;
      rsp.b.resp     <= RespOkay;
      rsp.ar_ready   <= 1'b0;
      rsp.r_valid    <= 1'b0;
      rsp.r.id       <= '0;
      rsp.r.data     <= '0;
      rsp.r.resp     <= RespOkay;
      rsp.r.last     <= 1'b0;
      stats_o.rd_bytes        <= '0;
      stats_o.wr_bytes        <= '0;
      stats_o.rd_bursts       <= '0;
      stats_o.wr_bursts       <= '0;
      stats_o.protocol_errors <= '0;
      stats_o.max_rd_queued   <= '0;
      stats_o.rd_pending      <= '0;
      stats_o.wr_pending      <= '0;
    end else begin
      int          bpc;
      logic        rvalid, bvalid, limited, r_grant, w_grant, w_first;
      burst_t      b;
      logic [31:0] addr;

      now = now + 64'd1;
      bpc     = int'(bytes_per_cycle_i);
      limited = bpc != 0;
      if (limited) begin
        credit = (credit + bpc > bpc - 1) ? bpc - 1 : credit + bpc;
        if (rsp.w_ready && !req.w_valid) credit += int'(StrbBits);   // unused W slot
      end

      // ---- read address -------------------------------------------------------------------
      if (req.ar_valid && rsp.ar_ready) begin
        b = make_burst(req.ar.id, req.ar.addr, req.ar.len, req.ar.size,
                       req.ar.burst);
        b.due = now + next_latency();
        ar_q.push_back(b);
        stats_o.rd_bursts <= stats_o.rd_bursts + 32'd1;
        if (32'(ar_q.size()) > stats_o.max_rd_queued) stats_o.max_rd_queued <= 32'(ar_q.size());
      end

      // ---- read data ----------------------------------------------------------------------
      rvalid = rsp.r_valid;
      if (rsp.r_valid && req.r_ready) begin
        stats_o.rd_bytes <= stats_o.rd_bytes + 32'(StrbBits);
        rvalid = 1'b0;
        r_beat++;
        if (r_beat == 32'(ar_q[0].beats)) begin
          void'(ar_q.pop_front());
          r_beat = 0;
        end
      end
      // A new R beat (RVALID next cycle) takes a beat of credit; when W holds a beat and it is
      // W's turn, W's beat is set aside first (it is granted below, after this cycle's W).
      w_first = w_turn && req.w_valid && (aw_q.size() > 0 || req.aw_valid);
      r_grant = !rvalid && ar_q.size() > 0 && ar_q[0].due <= now &&
                (!limited || credit - (w_first ? int'(StrbBits) : 0) >= 0);
      if (r_grant) begin
        if (limited) credit -= int'(StrbBits);
        rvalid = 1'b1;
        addr = ar_q[0].addr + 32'(r_beat * StrbBits);
        rsp.r.id   <= ar_q[0].id;
        rsp.r.data <= ar_q[0].err ? '0 : mem[addr >> OffBits];
        rsp.r.resp <= ar_q[0].err ? RespSlverr : RespOkay;
        rsp.r.last <= r_beat + 1 == 32'(ar_q[0].beats);
      end
      rsp.r_valid  <= rvalid;
      rsp.ar_ready <= ar_q.size() < QueueDepth;

      // ---- write address and data ---------------------------------------------------------
      if (req.aw_valid && rsp.aw_ready) begin
        aw_q.push_back(make_burst(req.aw.id, req.aw.addr, req.aw.len, req.aw.size,
                                  req.aw.burst));
        stats_o.wr_bursts <= stats_o.wr_bursts + 32'd1;
      end
      if (req.w_valid && rsp.w_ready) begin
        addr = aw_q[0].addr + 32'(w_beat * StrbBits);
        if (!aw_q[0].err) begin
          for (int unsigned k = 0; k < StrbBits; k++) begin
            if (req.w.strb[k]) mem[addr >> OffBits][8*k +: 8] = req.w.data[8*k +: 8];
          end
        end
        stats_o.wr_bytes <= stats_o.wr_bytes + popcount(req.w.strb);
        w_beat++;
        if (req.w.last != (w_beat == 32'(aw_q[0].beats))) begin
          proto_errs = proto_errs + 32'd1;
          $display("%m: protocol error: WLAST %0d on beat %0d of %0d", req.w.last, w_beat,
                   aw_q[0].beats);
        end
        if (w_beat == 32'(aw_q[0].beats)) begin
          b = aw_q.pop_front();
          b.due = now + next_latency();
          b_q.push_back(b);
          w_beat = 0;
        end
      end
      rsp.aw_ready <= aw_q.size() < QueueDepth;
      // WREADY next cycle while a write burst is open; with a limit, for a master that holds
      // WVALID (it keeps it until the beat is accepted) and while the credit lasts.
      w_grant = aw_q.size() > 0 && (!limited || (req.w_valid && credit >= 0));
      if (limited) begin
        if (w_grant) credit -= int'(StrbBits);
        if (r_grant != w_grant) w_turn = r_grant;   // the other direction first next time
      end
      rsp.w_ready  <= w_grant;

      // ---- write response -----------------------------------------------------------------
      bvalid = rsp.b_valid;
      if (rsp.b_valid && req.b_ready) begin
        void'(b_q.pop_front());
        bvalid = 1'b0;
      end
      if (!bvalid && b_q.size() > 0 && b_q[0].due <= now) begin
        bvalid = 1'b1;
        rsp.b.id   <= b_q[0].id;
        rsp.b.resp <= b_q[0].err ? RespSlverr : RespOkay;
      end
      rsp.b_valid    <= bvalid;
      stats_o.protocol_errors <= proto_errs;
      stats_o.rd_pending      <= 32'(ar_q.size());
      stats_o.wr_pending      <= 32'(aw_q.size() + b_q.size());
    end
  end

endmodule
/* verilator lint_on BLKSEQ */
