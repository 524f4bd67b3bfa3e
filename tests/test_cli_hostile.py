"""The CLI's argument layer under hostile values (hypothesis): whatever a flag or
MAPPER_WORKERS holds, the command either accepts a value in the documented range or exits
non-zero with a message naming the flag — never a traceback. Output paths are checked
before any work starts, and a Ctrl-C at any moment is exit 130 and one line."""
from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mapper.api
from mapper.cli import main

ROOT = Path(__file__).resolve().parents[1]
HW = "nnbaton-case-study"
TINY = "K=8 C=4 H=4 W=4 R=3 S=3 padding=1"

HOSTILE = st.one_of(
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-1", "nan", "inf", "-inf", "1e400", "1e-300", "0x40", "", " ", "1_000", "٣", "3.0",
                     "1e3", "+5", "None", "true", "9" * 40]),
    st.text(max_size=12).filter(lambda t: t.strip() != "--"),  # argparse itself drops a bare '--' value
)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run(capsys, argv, env: dict | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if env and monkeypatch:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def whole(text: str) -> int | None:
    """A whole number written with ASCII digits (the CLI's rule), else None."""
    t = text.strip()
    return int(t) if re.fullmatch(r"[+-]?[0-9]+", t) else None


def check_refused(code: int, out: str, err: str, name: str) -> None:
    assert code != 0 and out == ""
    assert "Traceback" not in err and name in err, err


@pytest.fixture
def no_solve(monkeypatch):
    """Accepted values must not start real work in these tests: a solve returns at once."""
    called = []

    def fake(*a, **k):
        called.append(k)
        raise KeyboardInterrupt  # exit 130: the arguments were accepted
    for command in ("solve", "gap", "enumerate", "codesign", "zoo"):
        monkeypatch.setattr(mapper.api, command, fake)
    return called


# ------------------------------------------------------------------ numeric flags
@FAST
@given(value=HOSTILE)
def test_time_limit(capsys, no_solve, value):
    code, out, err = run(capsys, ["solve", "--layer", TINY, "--hw", HW, f"--time-limit={value}"])
    v = as_number(value)
    if v is not None and math.isfinite(v) and 0 < v <= 7 * 24 * 3600:
        assert code == 130, err
    else:
        check_refused(code, out, err, "--time-limit")


@FAST
@given(value=HOSTILE)
def test_workers(capsys, no_solve, value):
    code, out, err = run(capsys, ["gap", "--layer", TINY, "--hw", HW, f"--workers={value}"])
    v = whole(value)
    if v is not None and 1 <= v <= 4096:
        assert code == 130, err
    else:
        check_refused(code, out, err, "--workers")


@FAST
@given(value=HOSTILE)
def test_mapper_workers_variable(capsys, no_solve, monkeypatch, value):
    if "\x00" in value:
        return  # an environment variable cannot hold NUL
    code, out, err = run(capsys, ["solve", "--layer", TINY, "--hw", HW], {"MAPPER_WORKERS": value}, monkeypatch)
    v = whole(value)
    if not value.strip() or (v is not None and 1 <= v <= 4096):
        assert code == 130, err
    else:
        check_refused(code, out, err, "MAPPER_WORKERS")


@FAST
@given(flag=st.sampled_from(["--batch", "--resolution"]), value=HOSTILE)
def test_workload_numbers(capsys, flag, value):
    code, out, err = run(capsys, ["layers", "--layer", TINY, f"{flag}={value}", "--json"])
    v = whole(value)
    high = 1 << 20 if flag == "--batch" else 16384
    if v is not None and 1 <= v <= high:
        assert code == 0, err
    else:
        check_refused(code, out, err, flag)


def in_range(kind: str, text: str) -> bool:
    """The documented rule of each kind of flag value (docs/cli.md)."""
    if kind == "seconds":
        v = as_number(text)
        return v is not None and math.isfinite(v) and 0 < v <= 7 * 24 * 3600
    if kind == "positive":
        v = as_number(text)
        return v is not None and math.isfinite(v) and v > 0
    low, high = kind
    v = whole(text)
    return v is not None and low <= v <= high


OTHER_FLAGS = {  # flag: (command line before it, its rule)
    "--seed": (["gap", "--layer", TINY, "--hw", HW], (0, 2**32 - 1)),
    "--max-points": (["enumerate", "--layer", TINY, "--hw", HW], (1, 10**12)),
    "--macs": (["codesign", "--layer", TINY], (1, 1 << 40)),
    "--chiplet-area": (["codesign", "--layer", TINY, "--macs", "64"], "positive"),
    "--layer-time-limit": (["codesign", "--layer", TINY, "--macs", "64"], "seconds"),
    "--max-latency": (["codesign", "--layer", TINY, "--macs", "64"], (1, 1 << 62)),
}


@FAST
@given(flag=st.sampled_from(sorted(OTHER_FLAGS)), value=HOSTILE)
def test_other_numbers(capsys, no_solve, flag, value):
    argv, rule = OTHER_FLAGS[flag]
    code, out, err = run(capsys, [*argv, f"{flag}={value}"])
    if in_range(rule, value):
        assert code == 130, err  # accepted: the (stubbed) command started
    else:
        check_refused(code, out, err, flag)


@FAST
@given(spec=st.one_of(st.text(max_size=40), st.builds(lambda k, v: f"K=8 C=4 H=4 W=4 {k}={v}",
                                                       st.sampled_from(["R", "S", "stride", "padding", "groups", "N"]),
                                                       HOSTILE)))
def test_layer_spec(capsys, spec):
    code, out, err = run(capsys, ["layers", f"--layer={spec}", "--json"])
    assert "Traceback" not in err
    if code != 0:
        assert code == 2 and err.startswith("mapper layers: error: layer spec"), err


# ------------------------------------------------------------------ output paths, before any work
@pytest.mark.parametrize("flag, argv", [
    ("--report", ["solve", "--layer", TINY, "--hw", HW]),
    ("--md", ["gap", "--layer", TINY, "--hw", HW]),
    ("--csv", ["gap", "--layer", TINY, "--hw", HW]),
])
def test_output_file_is_checked_first(capsys, tmp_path, no_solve, flag, argv):
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    for bad in (tmp_path, a_file / "under-a-file.md"):
        code, out, err = run(capsys, [*argv, flag, bad])
        check_refused(code, out, err, flag)
        assert code == 2 and not no_solve  # refused before any solve
    assert a_file.read_text() == "mine"


@pytest.mark.parametrize("flag, argv", [
    ("--plots", ["gap", "--layer", TINY, "--hw", HW]),
    ("--out", ["codesign", "--layer", TINY, "--macs", "64"]),
    ("--out", ["zoo", "alexnet", "--hw", HW]),
])
def test_output_folder_is_checked_first(capsys, tmp_path, no_solve, flag, argv):
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    for bad in (a_file, a_file / "sub"):
        code, out, err = run(capsys, [*argv, flag, bad])
        check_refused(code, out, err, flag)
        assert code == 2 and not no_solve
    assert a_file.read_text() == "mine"


def test_read_only_folder_is_refused(capsys, tmp_path, no_solve, monkeypatch):
    """A folder the user cannot write (simulated: the suite may run as root, who can)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == ro else real(p, mode))
    for flag, argv in (("--report", ["solve", "--layer", TINY, "--hw", HW, "--report", ro / "r.md"]),
                       ("--plots", ["gap", "--layer", TINY, "--hw", HW, "--plots", ro / "figs"])):
        code, out, err = run(capsys, argv)
        check_refused(code, out, err, flag)
        assert "not writable" in err and not no_solve


# ------------------------------------------------------------------ Ctrl-C
@pytest.mark.parametrize("after", [0.05, 0.3, 0.6, 1.0, 1.5])
def test_ctrl_c_at_any_moment_is_exit_130_and_one_line(tmp_path, after):
    """SIGINT while Python starts, while torch loads, and while solving."""
    env = dict(os.environ, MAPPER_STORE=str(tmp_path / "s.sqlite"))
    p = subprocess.Popen([sys.executable, "-m", "mapper.cli", "solve", "resnet50", "--hw", HW, "--quiet"],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(after)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (p.returncode, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "interrupted" in err


# ------------------------------------------------------------------ the store and user files
@pytest.mark.parametrize("cmd", [["store", "ls"], ["store", "export"], ["solve", "--layer", TINY, "--hw", HW]])
def test_store_never_touches_what_is_not_a_store(capsys, tmp_path, cmd):
    folder = tmp_path / "my-folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    foreign = tmp_path / "notes.sqlite"
    foreign.write_text("not a database")
    for path in (folder, foreign):
        code, out, err = run(capsys, [*cmd, "--store", path])
        check_refused(code, out, err, str(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-folder", "notes.sqlite"]
    assert (folder / "notes.txt").read_text() == "mine" and foreign.read_text() == "not a database"


def test_read_only_store_commands_create_nothing(capsys, tmp_path):
    missing = tmp_path / "none.sqlite"
    code, out, err = run(capsys, ["store", "ls", "--json", "--store", missing])
    assert code == 0 and out.strip() == "[]" and not missing.exists()


@pytest.mark.parametrize("body, words", [
    ("import sys\nsys.exit(0)\n", "exit"),
    ("import sys\nn = int(sys.stdin.readline())\n", "valueerror"),  # stdin is empty: no hang
    ("raise RuntimeError('boom')\n", "boom"),
])
def test_model_module_that_exits_reads_stdin_or_raises(capsys, tmp_path, body, words):
    f = tmp_path / "net.py"
    f.write_text(body + "from torch import nn\nNet = nn.Linear\n")
    code, out, err = run(capsys, ["layers", f"{f}:Net"])
    check_refused(code, out, err, str(f))
    assert words in err.lower()
