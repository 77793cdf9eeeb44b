"""The single source of hardware parameters: validation and agreement with the RTL package."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from hwdef import config_names, derived_name, gen_sv, isa, load_config, params
from hwdef.params import ConfigError, HwConfig


def test_named_configurations_exist():
    assert {"tiny", "default"} <= set(config_names())
    tiny, default = load_config("tiny"), load_config("default")
    assert tiny.array_dim == 4 and tiny.vector_lanes == 4
    assert default.array_dim == 16 and default.vector_lanes == 16
    assert 16 * 1024 <= default.spad_bytes <= 256 * 1024  # "tens of KiB"


def test_generated_package_is_current():
    committed = gen_sv.PACKAGE_PATH.read_text()
    assert committed == gen_sv.render(), "rtl/pkg/npu_pkg.sv is stale: run `make gen`"


def _package_constants(text: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in
            re.findall(r"localparam int unsigned (\w+) = (\d+);", text)}


def test_package_constants_match_hwdef():
    """Parse the SystemVerilog package (not the generator) and compare with hwdef."""
    consts = _package_constants(gen_sv.PACKAGE_PATH.read_text())
    for key, value in load_config("default").sv_package_constants().items():
        assert consts[key] == value, key
    assert consts["DataBits"] == params.DATA_BITS
    assert consts["AccBits"] == params.ACC_BITS
    assert consts["Exp2FracBits"] == params.EXP2_FRAC_BITS
    assert consts["RecipFracBits"] == params.RECIP_FRAC_BITS
    text = gen_sv.PACKAGE_PATH.read_text()
    for op in params.VecOp:
        camel = "".join(p.capitalize() for p in op.name.split("_"))
        assert re.search(rf"VecOp{camel} = 4'd{int(op)}\b", text), op


def test_exp2_table_in_package_matches_formula():
    """The ROM in the package equals the formula of docs/numerics.md, computed here anew."""
    text = gen_sv.PACKAGE_PATH.read_text()
    base_fn = text[text.index("exp2_base"):text.index("exp2_slope")]
    slope_fn = text[text.index("exp2_slope"):]
    base = [int(v) for v in re.findall(r"exp2_base = 17'd(\d+);", base_fn)]
    slope = [int(v) for v in re.findall(r"exp2_slope = 17'd(\d+);", slope_fn)]
    expect = [round(2 ** 15 * 2 ** (i / 16)) for i in range(16)] + [2 ** 16]
    assert base == expect[:16]
    assert slope == [expect[i + 1] - expect[i] for i in range(16)]


@pytest.mark.parametrize("name", ["tiny", "default"])
def test_derived_sizes(name):
    cfg = load_config(name)
    assert cfg.line_bits == cfg.vector_lanes * 32
    assert 2 ** cfg.spad_addr_bits == cfg.spad_lines
    assert cfg.spad_regions * cfg.spad_region_lines == cfg.spad_lines
    assert cfg.sv_params("npu_scratchpad")["LineBits"] == cfg.line_bits


@pytest.mark.parametrize("change, message", [
    ({"array_dim": 12}, "power of two"),
    ({"vector_lanes": 2}, "multiple of array_dim"),
    ({"spad_region_lines": 4096}, "never spans two banks"),
    ({"spad_ports": 1}, "between 2 and 8"),
    ({"vector_lanes": 64, "spad_bank_lines": 32, "fetch_burst_beats": 2},
     "2048-bit lines, wider than the AXI4 data bus"),
])
def test_inconsistent_configuration_is_rejected(change, message):
    base = _tiny_fields(name="bad", spad_ports=3)
    base.update(change)
    with pytest.raises(ConfigError, match=message):
        HwConfig(**base)


def _tiny_fields(**change) -> dict:
    fields = {f: getattr(load_config("tiny"), f) for f in HwConfig.__dataclass_fields__
              if f != "extra"}
    fields.update(change)
    return fields


MICROARCHITECTURE_KEYS = ("queue_depth", "matmul_inflight", "dma_max_bursts",
                          "dma_store_fifo_depth", "spad_reader_bits", "axi_id_bits",
                          "axi_id_fetch", "axi_id_load",
                          "axi_id_store", "fetch_burst_beats", "fetch_max_bursts", "dram_bytes",
                          "dram_bytes_per_cycle", "dram_latency", "dram_unlimited_latency")


@pytest.mark.parametrize("name", ["tiny", "default", "small"])
def test_microarchitecture_constants_are_todays_values(name):
    """A pure refactor: the values the RTL had as literals before they moved to hwdef."""
    cfg = load_config(name)
    assert (cfg.queue_depth, cfg.dma_max_bursts, cfg.dma_store_fifo_depth,
            cfg.spad_reader_bits) == (8, 4, 4, 2)
    assert (cfg.axi_id_bits, cfg.axi_id_fetch, cfg.axi_id_load, cfg.axi_id_store) == (2, 0, 1, 2)
    assert (cfg.fetch_burst_beats, cfg.fetch_max_bursts) == (4, 2)
    assert (cfg.dram_bytes, cfg.dram_unlimited_latency) == (16 * 1024 * 1024, 20)
    consts = cfg.sv_package_constants()
    for key in MICROARCHITECTURE_KEYS:   # package constant = CamelCase of the TOML key
        assert consts[gen_sv._camel(key)] == getattr(cfg, key), key
    top = cfg.sv_params("npu_top")
    assert top["QueueDepth"] == cfg.queue_depth and top["ReaderBits"] == cfg.spad_reader_bits
    assert cfg.sv_params("npu_dma_store")["FifoDepth"] == cfg.dma_store_fifo_depth
    assert cfg.sv_params("npu_tb_top")["MemBytes"] == cfg.dram_bytes


@pytest.mark.parametrize("key, value", [
    ("queue_depth", 6), ("queue_depth", 1), ("matmul_inflight", 0), ("matmul_inflight", 3),
    ("dma_max_bursts", 0), ("dma_max_bursts", 16),
    ("dma_store_fifo_depth", 3), ("spad_reader_bits", 1), ("spad_reader_bits", 9),
    ("axi_id_bits", 0), ("axi_id_store", 4), ("axi_id_fetch", -1), ("fetch_burst_beats", 3),
    ("fetch_burst_beats", 512), ("fetch_max_bursts", 0), ("dram_bytes", 3000),
    ("dram_latency", 0), ("dram_latency", 1 << 16), ("dram_bytes_per_cycle", 0),
    ("dram_bytes_per_cycle", 1 << 16), ("dram_unlimited_latency", 0),
])
def test_bad_microarchitecture_constant_names_its_key(key, value):
    with pytest.raises(ConfigError, match=rf"\b{key}\b"):
        HwConfig(**_tiny_fields(**{key: value}))


@pytest.mark.parametrize("name, bytes_per_cycle, latency", [
    ("tiny", 4, 20), ("default", 16, 100), ("small", 8, 100)])
def test_dram_of_each_configuration(name, bytes_per_cycle, latency):
    """docs/energy.md: default has a 32-bit LPDDR4X-4266 interface (17.1 GB/s, 16 B per 1 GHz
    cycle), small one x16 channel (8 B), tiny a quarter line; the unlimited model is the one
    before the limit (a beat per cycle each way, 20 cycles)."""
    cfg = load_config(name)
    assert cfg.dram_model() == (cfg.dram_bytes_per_cycle, cfg.dram_latency) \
        == (bytes_per_cycle, latency)
    assert cfg.dram_model("unlimited") == (0, 20)
    assert cfg.dram_gbytes_per_s == bytes_per_cycle       # at 1 GHz
    assert cfg.dram_bytes_per_mac == bytes_per_cycle / cfg.array_dim ** 2
    assert cfg.dram_bytes_per_cycle <= cfg.line_bytes      # never more than a beat per cycle
    consts = cfg.sv_package_constants()
    assert (consts["DramBytesPerCycle"], consts["DramLatency"]) == (bytes_per_cycle, latency)
    with pytest.raises(ConfigError, match="DRAM model 'fast': use one of config, unlimited"):
        cfg.dram_model("fast")


def test_same_fetch_and_load_ids_are_rejected():
    with pytest.raises(ConfigError, match="axi_id_fetch and axi_id_load"):
        HwConfig(**_tiny_fields(axi_id_load=0))


def test_missing_or_non_integer_key_is_named(monkeypatch):
    raw = {name: dict(values) for name, values in params._raw_configs().items()}
    del raw["tiny"]["dram_latency"]
    raw["default"]["queue_depth"] = "8"
    monkeypatch.setattr(params, "_raw_configs", lambda: raw)
    with pytest.raises(ConfigError, match="missing keys.*dram_latency"):
        load_config("tiny")
    with pytest.raises(ConfigError, match="queue_depth='8' must be an integer"):
        load_config("default")


def test_unknown_configuration_names_the_known_ones():
    with pytest.raises(ConfigError, match="known: tiny, default"):
        load_config("huge")


def test_derived_configuration_replaces_keys_and_is_checked():
    """BASE+key=value[+...]: BASE's values with those keys replaced, named as written and
    validated like a configuration of configs.toml; what it does not replace is BASE's."""
    base = load_config("default")
    name = derived_name("default", spad_bank_lines=256, acc_lines=512)
    assert name == "default+spad_bank_lines=256+acc_lines=512"
    cfg = load_config(name)
    assert cfg.name == name and cfg.spad_bytes == 2 * base.spad_bytes
    assert (cfg.acc_lines, cfg.spad_bank_lines) == (512, 256)
    assert replace(cfg, name="default", acc_lines=256, spad_bank_lines=128,
                   description=base.description) == base
    assert cfg.sv_params("npu_top") != base.sv_params("npu_top")
    for bad, message in (("default+spad_bank_lines=200", "spad_bank_lines=200 must be a power"),
                         ("default+bogus=1", "'bogus=1' is not KEY=VALUE"),
                         ("default+acc_lines", "'acc_lines' is not KEY=VALUE"),
                         ("default+acc_lines=0x10", "acc_lines='0x10' must be a decimal"),
                         ("default+acc_lines=0512", "without leading zeros"),
                         ("default+acc_lines=" + "9" * 5000, "at most 12 digits"),
                         ("default+acc_lines=512+acc_lines=512", "acc_lines is given twice"),
                         ("default+description=1", "'description=1' is not KEY=VALUE"),
                         ("huge+acc_lines=512", "unknown configuration 'huge'; known: tiny")):
        with pytest.raises(ConfigError, match=message):
            load_config(bad)


def test_fingerprint_follows_the_hardware_not_the_name(monkeypatch):
    """hwdef.fingerprint: equal for equal hardware whatever its name or description, different
    when a size, an instruction field or a numerics constant changes."""
    from hwdef import fingerprint as fp
    base = load_config("default")
    same = replace(base, name="copy", description="another text")
    assert fp.fingerprint(same) == fp.fingerprint(base)
    assert fp.fingerprint(load_config("default+spad_bank_lines=256")) != fp.fingerprint(base)
    assert len({fp.fingerprint(load_config(n)) for n in config_names()}) == len(config_names())
    before = fp.fingerprint(base)
    monkeypatch.setattr(params, "RECIP_FRAC_BITS", params.RECIP_FRAC_BITS - 1)
    assert fp.fingerprint(base) != before
    monkeypatch.undo()
    monkeypatch.setattr(isa, "INSTRUCTIONS", isa.INSTRUCTIONS[:-1])     # an ISA change
    assert fp.fingerprint(base) != before


def test_fingerprint_hashes_every_numerics_constant():
    """Each integer constant of hwdef/params.py is in the fingerprint or named here as not a
    property of the hardware a program runs on: a new constant must be placed in one or the
    other."""
    from hwdef import fingerprint as fp
    # the clock the energy and DRAM figures assume; a limit on which configurations are legal
    # (a legal configuration's programs and results do not depend on it)
    not_hardware = {"CLOCK_HZ", "AXI_MAX_DATA_BITS"}
    constants = {n for n, v in vars(params).items()
                 if n.isupper() and isinstance(v, int) and not isinstance(v, bool)}
    assert constants - not_hardware == set(fp._CONSTANTS)


def test_isa_package_and_doc_are_current():
    from hwdef import gen_isa
    assert gen_isa.SV_PATH.read_text() == gen_isa.render_sv(), "run `make gen`"
    assert gen_isa.DOC_PATH.read_text() == gen_isa.render_doc(), "run `make gen`"


def test_isa_structs_in_package_match_definition():
    """Parse the generated SystemVerilog structs and compare field widths and order."""
    from hwdef import gen_isa, isa
    text = gen_isa.SV_PATH.read_text()
    for cls in isa.INSTRUCTIONS:
        body = re.search(r"typedef struct packed \{([^}]*)\} " + cls.mnemonic.lower() + "_insn_t;",
                         text, re.S).group(1)
        fields = [(m[1], int(m[0]) + 1) for m in re.findall(r"logic \[(\d+):0\] (\w+);", body)]
        expect = [(f.name, f.bits) for f, _ in reversed(cls.layout())]
        if cls.used_bits < isa.INSN_BITS:
            expect.insert(0, ("reserved", isa.INSN_BITS - cls.used_bits))
        assert fields == expect, cls.mnemonic
        assert sum(bits for _, bits in fields) == isa.INSN_BITS


def test_the_axi_masters_width_limit_is_hwdefs():
    """npu_axi_master's elaboration guard (a literal in the RTL) is hwdef's AXI_MAX_DATA_BITS,
    so hwdef refuses exactly the line widths the RTL cannot build."""
    from hwdef.params import AXI_MAX_DATA_BITS
    from tools.rtl_sources import REPO
    rtl = (REPO / "rtl" / "dma" / "npu_axi_master.sv").read_text()
    guard = re.search(r"StrbBits > (\d+)\) begin : g_bad_width", rtl)
    assert guard, "npu_axi_master's width guard moved: update this drift test"
    assert int(guard.group(1)) * 8 == AXI_MAX_DATA_BITS
    assert f"between 16 and {AXI_MAX_DATA_BITS}" in rtl
