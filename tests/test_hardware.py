"""Hardware YAML: the bundled files match the paper, cite every number, and bad
input fails with one readable paragraph (file, field, fix), never a traceback."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import yaml

from mapper.hardware import (
    HARDWARE_DIR,
    HardwareError,
    find_hardware,
    hardware_to_dict,
    load_design_space,
    load_hardware,
    load_tech,
    parse_size,
)
from mapper.hwspec import Hardware

CASE = HARDWARE_DIR / "nnbaton-case-study.yaml"
TECH = HARDWARE_DIR / "tech-16nm.yaml"
TABLE2 = HARDWARE_DIR / "table2.yaml"
BUNDLED = (CASE, TECH, TABLE2)


@pytest.fixture(scope="module")
def hw() -> Hardware:
    return load_hardware(CASE)


# --------------------------------------------------------------------------- the paper's numbers
def test_case_study_matches_paper(hw: Hardware) -> None:
    # NN-Baton Sec. VI-A-1: 4 chiplets, 8 cores, 8 lanes of 8-size vector MAC,
    # 1.5KB O-L1, 800B A-L1, 18KB W-L1, 64KB A-L2; Sec. V-A: 8-bit, 24-bit psums.
    assert hw.n_chiplets == 4
    assert hw.n_cores == 8
    assert hw.lanes == 8
    assert hw.vector == 8
    assert hw.o_l1 == 1536
    assert hw.a_l1 == 800
    assert hw.w_l1 == 18 * 1024
    assert hw.a_l2 == 64 * 1024
    assert hw.o_l2 == 32 * 1024  # assumption, see the YAML
    assert (hw.act_bits, hw.weight_bits, hw.psum_bits) == (8, 8, 24)
    assert hw.topology == "ring"
    assert hw.name == "nnbaton-case-study"
    assert hw.macs == 2048


def test_tech_matches_paper(hw: Hardware) -> None:
    t = hw.tech
    assert (t.dram_pj_per_bit, t.d2d_pj_per_bit) == (8.75, 1.17)
    assert (t.sram_pj_per_bit_at_1kb, t.sram_pj_per_bit_at_32kb) == (0.30, 0.81)
    assert (t.reg_rmw_pj_per_bit, t.mac_pj, t.frequency_mhz) == (0.104, 0.024, 500)
    assert (t.mac_area_um2, t.sram_area_um2_per_kb, t.sram_macro_area_um2) == (135.1, 518.4, 5440)
    assert t.d2d_phy_area_mm2 == 0.38
    assert load_tech(TECH) == t


def test_energy_per_bit(hw: Hardware) -> None:
    e = hw.energy_fj_per_bit()
    assert e["dram"] == 8750
    assert e["d2d"] == 1170
    assert e["o_l1"] == 104
    assert e["mac"] == 24
    # The SRAM line goes through Table I's two points: 1 KB -> 0.30, 32 KB -> 0.81 pJ/bit.
    e2 = dataclasses.replace(hw, a_l1=1024, w_l1=1024, a_l2=32 * 1024, o_l2=32 * 1024).energy_fj_per_bit()
    assert (e2["a_l1"], e2["w_l1"]) == (300, 300)
    assert (e2["a_l2"], e2["o_l2"]) == (810, 810)


def test_chiplet_area_by_hand(hw: Hardware) -> None:
    mac, per_kb, macro, phy = 135.1, 518.4, 5440.0, 0.38  # um^2, um^2/KB, um^2, mm^2
    macs = 8 * 8 * mac                       # L x P MACs      = 8646.4 um^2
    o_l1 = per_kb * 1.5 + macro              # 1.5 KB O-L1     = 6217.6
    a_l1 = per_kb * 800 / 1024 + macro       # 800 B A-L1      = 5845.0
    w_l1 = per_kb * 18 + macro               # 18 KB W-L1      = 14771.2
    core = macs + o_l1 + a_l1 + w_l1         #                 = 35480.2
    a_l2 = per_kb * 64 + macro               # 64 KB A-L2      = 38617.6
    o_l2 = per_kb * 32 + macro               # 32 KB O-L2      = 22028.8
    chiplet_um2 = 8 * core + a_l2 + o_l2     # 8 cores         = 344488.0 um^2
    area = chiplet_um2 / 1e6 + phy           # + one GRS PHY   = 0.724488 mm^2
    assert abs(area - 0.724488) < 1e-9
    assert abs(hw.chiplet_area_mm2() - area) < 1e-9
    assert abs(hw.package_area_mm2() - 4 * area) < 1e-9


# --------------------------------------------------------------------------- every number cited
_SIZE_STR = re.compile(r"^\s*[0-9.]+\s*(B|KB|kB|KiB|MB|MiB)\s*$")


def _uncited(node, path: str = "") -> list[str]:
    """Paths of numbers (or size strings) not inside a {value(s), source} mapping."""
    if isinstance(node, dict):
        if "value" in node or "values" in node:
            src = node.get("source")
            return [] if isinstance(src, str) and src.strip() else [path or "<top>"]
        return [p for k, v in node.items() for p in _uncited(v, f"{path}.{k}" if path else str(k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _uncited(v, f"{path}[{i}]")]
    if isinstance(node, bool):
        return []
    if isinstance(node, (int, float)) or (isinstance(node, str) and _SIZE_STR.match(node)):
        return [path]
    return []


@pytest.mark.parametrize("path", sorted({*BUNDLED, *HARDWARE_DIR.glob("*.yaml")}), ids=lambda p: p.name)
def test_every_bundled_number_has_a_source(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert _uncited(data) == [], f"{path.name}: numbers without a source"


def test_uncited_detector_works() -> None:
    assert _uncited({"a": {"b": 3}, "c": {"value": 2, "source": " "}, "d": "1.5KB"}) == ["a.b", "c", "d"]
    assert _uncited({"a": {"value": 3, "source": "Table I"}, "t": "ring"}) == []


def test_tech_values_cite_table_or_are_assumptions() -> None:
    data = yaml.safe_load(TECH.read_text())
    for key, v in data.items():
        if isinstance(v, dict):
            src = v["source"]
            assert "Tan et al., ISCA 2021" in src or src.startswith("assumption:"), key  # NN-Baton Table I


# --------------------------------------------------------------------------- round trip, lookup
@pytest.mark.parametrize("sources", [False, True])
def test_round_trip(hw: Hardware, tmp_path: Path, sources: bool) -> None:
    d = hardware_to_dict(hw, sources=sources)
    json.dumps(d)  # plain data
    f = tmp_path / "rt.yaml"
    f.write_text(yaml.safe_dump(d, sort_keys=False))
    back = load_hardware(f)
    assert back == hw
    assert hardware_to_dict(back, sources=sources) == d
    if sources:
        assert back.extra["sources"] == hw.extra["sources"]


def test_bare_numbers_and_size_strings(tmp_path: Path) -> None:
    f = _write(tmp_path, _minimal(core={"lanes": 8, "vector": 8, "o_l1": "64 KiB",
                                        "a_l1": 1024, "w_l1": "0.5MB"}))
    hw = load_hardware(f)
    assert (hw.o_l1, hw.a_l1, hw.w_l1) == (65536, 1024, 512 * 1024)
    assert (hw.act_bits, hw.weight_bits, hw.psum_bits, hw.topology) == (8, 8, 24, "ring")
    assert hw.name == "hw"
    assert parse_size("1.5KB") == 1536 and parse_size("800B") == 800 and parse_size("18KB") == 18432
    assert parse_size("1.3KB") is None and parse_size("8Kb") is None and parse_size(True) is None


def test_inline_tech(hw: Hardware, tmp_path: Path) -> None:
    d = hardware_to_dict(hw)
    assert isinstance(d["tech"], dict)
    f = tmp_path / "inline.yaml"
    f.write_text(yaml.safe_dump(d))
    assert load_hardware(f).tech == hw.tech


def test_find_hardware(tmp_path: Path) -> None:
    assert find_hardware("nnbaton-case-study") == CASE
    assert find_hardware("nnbaton-case-study.yaml") == CASE
    assert find_hardware(str(CASE)) == CASE
    with pytest.raises(HardwareError, match="nnbaton-case-study"):
        find_hardware("no-such-chip")


def test_design_space() -> None:
    ds = load_design_space(TABLE2)
    assert ds["compute"] == {"vector": [2, 4, 8, 16], "lanes": [2, 4, 8, 16],
                             "cores": [1, 2, 4, 8, 16], "chiplets": [1, 2, 4, 8]}
    m = ds["memory"]
    assert (m["o_l1"]["min"], m["o_l1"]["max"], m["o_l1"]["steps"]) == (48, 144, [48, 96, 144])
    assert (m["a_l1"]["min"], m["a_l1"]["max"]) == (1024, 128 * 1024)
    assert (m["w_l1"]["min"], m["w_l1"]["max"]) == (2 * 1024, 256 * 1024)
    assert (m["a_l2"]["min"], m["a_l2"]["max"]) == (32 * 1024, 256 * 1024)
    for buf, r in m.items():
        assert r["steps"][0] == r["min"] and r["steps"][-1] == r["max"], buf
        assert ds["sources"][f"memory.{buf}.steps"].startswith("assumption:")
    assert {72 * 1024, 144 * 1024, 18 * 1024} <= set(m["w_l1"]["steps"])
    assert ds["tech"] == load_tech(TECH)


# --------------------------------------------------------------------------- bad input
def _minimal(**over) -> dict:
    d = {
        "tech": str(TECH),
        "package": {"chiplets": 4},
        "chiplet": {"cores": 8, "a_l2": "64KB", "o_l2": "32KB"},
        "core": {"lanes": 8, "vector": 8, "o_l1": "1.5KB", "a_l1": "800B", "w_l1": "18KB"},
    }
    d.update(over)
    return d


def _write(tmp_path: Path, d: dict | str, name: str = "hw.yaml") -> Path:
    f = tmp_path / name
    f.write_text(d if isinstance(d, str) else yaml.safe_dump(d, sort_keys=False))
    return f


def _bad(tmp_path: Path, case: str) -> tuple[Path, str]:
    """(file, field the message must name) for each bad-input case."""
    m = _minimal()
    if case == "broken_yaml":
        return _write(tmp_path, "package:\n  chiplets: 4\n core: [1, 2\n"), "line"
    if case == "unknown_field":
        m["core"]["lane"] = 8
        return _write(tmp_path, m), "core.lane"
    if case == "unknown_top":
        m["memroy"] = 1
        return _write(tmp_path, m), "memroy"
    if case == "negative_size":
        m["core"]["w_l1"] = -8
        return _write(tmp_path, m), "core.w_l1"
    if case == "negative_lanes":
        m["core"]["lanes"] = -8
        return _write(tmp_path, m), "core.lanes"
    if case == "zero_cores":
        m["chiplet"]["cores"] = 0
        return _write(tmp_path, m), "chiplet.cores"
    if case == "fraction_lanes":
        m["core"]["lanes"] = 2.5
        return _write(tmp_path, m), "core.lanes"
    if case == "string_count":
        m["package"]["chiplets"] = "four"
        return _write(tmp_path, m), "package.chiplets"
    if case == "bad_unit":
        m["core"]["a_l1"] = "8Kb"
        return _write(tmp_path, m), "core.a_l1"
    if case == "missing_field":
        del m["core"]["vector"]
        return _write(tmp_path, m), "core.vector"
    if case == "missing_section":
        del m["chiplet"]
        return _write(tmp_path, m), "chiplet"
    if case == "o_l1_too_small":
        m["core"]["o_l1"] = 16  # 8 lanes x 24 bits = 24 bytes needed
        return _write(tmp_path, m), "core.o_l1"
    if case == "w_l1_too_small":
        m["core"]["w_l1"] = 4
        return _write(tmp_path, m), "core.w_l1"
    if case == "bad_topology":
        m["package"]["topology"] = "torus"
        return _write(tmp_path, m), "package.topology"
    if case == "bad_bits":
        m["bits"] = {"psum": 48}
        return _write(tmp_path, m), "bits.psum"
    if case == "missing_tech_file":
        m["tech"] = "tech-7nm.yaml"
        return _write(tmp_path, m), "tech"
    if case == "bad_tech_value":
        t = yaml.safe_load(TECH.read_text())
        t["mac_pj"]["value"] = -1
        _write(tmp_path, t, "mytech.yaml")
        m["tech"] = "mytech.yaml"
        return _write(tmp_path, m), "mac_pj"
    if case == "inline_tech_missing":
        m["tech"] = {"dram_pj_per_bit": 8.75}
        return _write(tmp_path, m), "tech."
    if case == "value_without_value":
        m["core"]["lanes"] = {"source": "x"}
        return _write(tmp_path, m), "core.lanes"
    if case == "top_level_list":
        return _write(tmp_path, "- 1\n- 2\n"), "top level"
    if case == "duplicate_key":
        return _write(tmp_path, "core:\n  lanes: 8\n  lanes: 16\n"), "lanes"
    if case == "empty":
        return _write(tmp_path, ""), "empty"
    if case == "missing_file":
        return tmp_path / "nope.yaml", "not found"
    if case == "tech_as_hardware":
        return TECH, "technology table"
    raise AssertionError(case)


BAD_CASES = ["broken_yaml", "unknown_field", "unknown_top", "negative_size", "negative_lanes",
             "zero_cores", "fraction_lanes", "string_count", "bad_unit", "missing_field",
             "missing_section", "o_l1_too_small", "w_l1_too_small", "bad_topology", "bad_bits",
             "missing_tech_file", "bad_tech_value", "inline_tech_missing", "value_without_value",
             "top_level_list", "duplicate_key", "empty", "missing_file", "tech_as_hardware"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_message(tmp_path: Path, case: str) -> None:
    f, field = _bad(tmp_path, case)
    with pytest.raises(HardwareError) as ei:
        load_hardware(f)
    msg = str(ei.value)
    assert f.name in msg, msg
    assert field in msg, msg
    assert "Fix:" in msg, msg
    assert "Traceback" not in msg and "\n" not in msg, msg
    assert ei.value.__context__ is None or ei.value.__suppress_context__  # no chained yaml traceback


def test_specific_messages(tmp_path: Path) -> None:
    f, _ = _bad(tmp_path, "broken_yaml")
    with pytest.raises(HardwareError, match=r"line \d+, column \d+"):
        load_hardware(f)
    f, _ = _bad(tmp_path, "o_l1_too_small")
    with pytest.raises(HardwareError, match=r"at least 24 bytes.*core\.lanes"):
        load_hardware(f)
    f, _ = _bad(tmp_path, "unknown_field")
    with pytest.raises(HardwareError, match=r"did you mean 'lanes'.*o_l1, a_l1, w_l1"):
        load_hardware(f)
    f, _ = _bad(tmp_path, "missing_tech_file")
    with pytest.raises(HardwareError, match=r"tech-7nm\.yaml.*tech-16nm"):
        load_hardware(f)
    f, _ = _bad(tmp_path, "bad_tech_value")
    with pytest.raises(HardwareError, match=r"mytech\.yaml \(technology table of .*hw\.yaml\), line \d+: mac_pj"):
        load_hardware(f)


def test_design_space_errors(tmp_path: Path) -> None:
    d = yaml.safe_load(TABLE2.read_text())
    d["tech"] = str(TECH)
    d["memory"]["a_l1"]["steps"]["values"].append("512KB")
    f = _write(tmp_path, d, "space.yaml")
    with pytest.raises(HardwareError, match=r"space\.yaml.*memory\.a_l1\.steps.*Fix:"):
        load_design_space(f)
    d["memory"]["a_l1"].pop("steps")
    d["compute"]["lanz"] = [1]
    f = _write(tmp_path, d, "space.yaml")
    with pytest.raises(HardwareError, match=r"compute\.lanz.*lanes"):
        load_design_space(f)
    with pytest.raises(HardwareError, match="design space"):
        load_hardware(TABLE2)


def test_bundled_names_load() -> None:
    assert load_hardware("nnbaton-case-study") == load_hardware(CASE)
    assert load_tech("tech-16nm") == load_tech(TECH)
    assert load_design_space("table2")["compute"]["cores"] == [1, 2, 4, 8, 16]


def test_mangled_files_never_escape(tmp_path: Path) -> None:
    """Random edits of the bundled files either load or raise HardwareError (one paragraph)."""
    import random

    rng = random.Random(0)
    (tmp_path / "tech-16nm.yaml").write_text(TECH.read_text())
    texts = {"hw.yaml": (CASE.read_text(), load_hardware), "ds.yaml": (TABLE2.read_text(), load_design_space)}
    junk = list(":{}[]-#'\"\n ,&*!|>?0123456789KB.") + ["null", "yes", ".nan", "~", "&a ", "*a", "\t"]
    for _ in range(200):
        name = rng.choice(sorted(texts))
        t, load = texts[name]
        for _ in range(rng.randint(1, 3)):
            k = rng.randrange(len(t))
            t = t[:k] + rng.choice(junk) + t[k + rng.randint(0, 6):]
        (tmp_path / name).write_text(t)
        try:
            load(tmp_path / name)
        except HardwareError as e:
            assert "\n" not in str(e) and "Fix:" in str(e)


def test_simba_4chiplet_has_simbas_resources() -> None:
    """Issue 4's figures (Simba MICRO 2019 / JSSC 2020 PE and chiplet): 16 PEs of 8 lanes x
    8-wide MACs, 32 KB weight, 8 KB input, 3 KB accumulation buffer per PE, 64 KB global
    buffer per chiplet; 4 chiplets as NN-Baton Sec. VI-A-2 models it."""
    s = load_hardware(HARDWARE_DIR / "simba-4chiplet.yaml")
    assert (s.n_chiplets, s.n_cores, s.lanes, s.vector) == (4, 16, 8, 8)
    assert (s.w_l1, s.a_l1, s.o_l1, s.a_l2) == (32 * 1024, 8 * 1024, 3 * 1024, 64 * 1024)
    assert s.macs == 4096 and (s.act_bits, s.weight_bits, s.psum_bits) == (8, 8, 24)
