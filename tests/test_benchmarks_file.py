"""BENCHMARKS.md shows the latest run of each bench (and command line) at the top; older
runs stay below, each saying which run superseded it (bench/common.py `place`)."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import common  # noqa: E402  (bench/common.py)

SUPERSEDED_BY = re.compile(r"^- \*\*Superseded\*\* by the run of (\S+ \S+) UTC above", re.M)


def parts(text: str) -> tuple[list[str], list[str]]:
    _, rest = text.split(common.LATEST_MARK, 1)
    latest, history = rest.split(common.HISTORY_MARK, 1)
    return common._entries(latest), common._entries(history)


def entry(bench: str, date: str, args: str = "", number: str = "1.0") -> str:
    cmd = f".venv/bin/python bench/{bench}.py {args}".strip()
    return (f"## {bench} — {date} UTC\n\n- Command: `{cmd}` (run from the repository root)\n\n"
            f"| x |\n|---|\n| {number} |\n")


def test_benchmarks_md_is_latest_first():
    text = (ROOT / "BENCHMARKS.md").read_text()
    latest, history = parts(text)
    keys = [common.entry_key(e) for e in latest]
    assert len(keys) == len(set(keys)) and len(latest) >= 10  # one latest run per bench and command
    dates = [common.entry_date(e) for e in latest]
    assert dates == sorted(dates, reverse=True) and all(dates)
    assert ("gap_zoo", "") in keys and ("gap_zoo", "--hw simba-4chiplet") in keys
    newest = dict(zip(keys, dates))
    every = {(common.entry_key(e), common.entry_date(e)) for e in latest + history}
    for e in history:
        by = SUPERSEDED_BY.search(e)
        assert by, e.splitlines()[0]
        key, date = common.entry_key(e), common.entry_date(e)
        assert by.group(1) > date and (key, by.group(1)) in every  # a later run of the same bench and command
        assert newest[key] > date
    assert len(latest) + len(history) == text.count("\n## ")


def test_a_new_run_replaces_the_latest_of_its_bench_and_command():
    old_layout = "# Benchmarks\n\nIntro.\n\n" + "\n".join([
        entry("gap", "2026-01-01 10:00", number="11.5"), entry("gap", "2026-01-01 10:05", "--hw simba", "22.5"),
        entry("solve", "2026-01-01 10:10", number="33.5")])
    text = common.place(old_layout, entry("gap", "2026-01-02 09:00", number="44.5"))
    assert text.startswith("# Benchmarks\n\nIntro.\n")
    latest, history = parts(text)
    assert [common.entry_date(e) for e in latest] == ["2026-01-02 09:00", "2026-01-01 10:10", "2026-01-01 10:05"]
    assert [common.entry_date(e) for e in history] == ["2026-01-01 10:00"]
    assert SUPERSEDED_BY.search(history[0]).group(1) == "2026-01-02 09:00" and "| 11.5 |" in history[0]
    # another run: the previous latest moves down, above the older history
    text = common.place(text, entry("gap", "2026-01-03 08:00", number="55.5"))
    latest, history = parts(text)
    assert [common.entry_date(e) for e in latest] == ["2026-01-03 08:00", "2026-01-01 10:10", "2026-01-01 10:05"]
    assert [SUPERSEDED_BY.search(e).group(1) for e in history] == ["2026-01-03 08:00", "2026-01-02 09:00"]
    for n in ("11.5", "22.5", "33.5", "44.5", "55.5"):  # every measured number kept, once
        assert text.count(f"| {n} |") == 1
    assert text.index("| 55.5 |") < text.index(common.HISTORY_MARK) < text.index("| 44.5 |")


def test_append_section_starts_and_updates_a_file(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "BENCH_FILE", tmp_path / "BENCHMARKS.md")
    sec = common.Section("Table", ["a", "b"], [["x", "1"]])
    common.append_section("demo — 2026-01-01 10:00 UTC", ["Command: `python bench/demo.py`"], [sec], header="# B\n")
    common.append_section("demo — 2026-01-01 11:00 UTC", ["Command: `python bench/demo.py`"], [sec])
    latest, history = parts(common.BENCH_FILE.read_text())
    assert [common.entry_date(e) for e in latest] == ["2026-01-01 11:00"]
    assert SUPERSEDED_BY.search(history[0]).group(1) == "2026-01-01 11:00"
    assert common.BENCH_FILE.read_text().startswith("# B\n")
