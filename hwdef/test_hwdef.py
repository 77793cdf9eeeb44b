"""The single source of hardware parameters: validation and agreement with the RTL package."""

from __future__ import annotations

import re

import pytest

from hwdef import config_names, gen_sv, load_config, params
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
])
def test_inconsistent_configuration_is_rejected(change, message):
    base = dict(name="bad", description="", array_dim=4, vector_lanes=4, spad_banks=4,
                spad_bank_lines=64, spad_region_lines=16, spad_ports=3, acc_lines=32)
    base.update(change)
    with pytest.raises(ConfigError, match=message):
        HwConfig(**base)


def test_unknown_configuration_names_the_known_ones():
    with pytest.raises(ConfigError, match="known: tiny, default"):
        load_config("huge")


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
