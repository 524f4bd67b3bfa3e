"""Packaging: what `pip install .` gives a user outside the repository, and import hygiene.

The slow test builds the wheel from a copy of the sources, installs it into a fresh
virtual environment in tmp_path and runs the `mapper` command from a folder outside the
repository: a zoo model and a bundled hardware name must work there. The fast tests check
that pyproject.toml lists every package under mapper/ and that importing the library's
core modules loads neither torch nor OR-Tools.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    """The test's environment (its private MAPPER_STORE included) without anything that
    would put the repository on sys.path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(args: list, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_pyproject_lists_every_package():
    """setuptools gets an explicit package list (models/ and hardware/ are mapped into
    mapper); a new subpackage of mapper/ left off it would be missing from the wheel."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(conf["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "mapper").rglob("__init__.py")}
    assert on_disk <= listed, f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    assert conf["package-dir"] == {"mapper.models": "models", "mapper.bundled_hardware": "hardware"}
    assert all(p == "mapper" or p.startswith("mapper.") for p in listed), "one import name: mapper"


def test_core_imports_load_neither_torch_nor_ortools():
    code = ("import sys, mapper, mapper.layer, mapper.hwspec, mapper.hardware, mapper.workload, mapper.report; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'ortools')))")
    out = _run([sys.executable, "-c", code], cwd=ROOT).stdout.strip()
    assert out == "[]", f"importing mapper's core modules loaded {out}"


def test_zoo_and_bundled_hardware_found_in_this_install():
    """The editable install (or whatever runs the tests) has the same names as the wheel."""
    from mapper import models
    from mapper.hardware import HARDWARE_DIR, bundled_names, find_hardware, load_design_space

    assert "resnet50" in models.MODELS
    assert {"nnbaton-case-study", "simba-4chiplet", "table2", "tech-16nm"} <= set(bundled_names())
    assert find_hardware("nnbaton-case-study").parent == HARDWARE_DIR
    assert load_design_space("table2")["compute"]


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_repository(tmp_path):
    # 1. Build the wheel from a copy of the sources, so the build leaves nothing in the work tree.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("mapper", "models", "hardware"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    wheels = tmp_path / "wheels"
    # Offline with the running env's setuptools (torch pulls in a recent one); an old one
    # (no built-in bdist_wheel before 70.1) builds in pip's isolated env instead.
    setuptools = tuple(int(x) for x in importlib.metadata.version("setuptools").split(".")[:2])
    offline = ["--no-build-isolation", "--no-index"] if setuptools >= (70, 1) else []
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *offline, "--quiet", "-w", wheels, src],
         cwd=tmp_path)
    (wheel,) = wheels.glob("*.whl")

    # 2. One import name, and the bundled data inside it; test tools only in the extra.
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"mapper"}
    bundled = {n.rsplit("/", 1)[1] for n in names if n.startswith("mapper/bundled_hardware/")}
    assert bundled == {p.name for p in (ROOT / "hardware").glob("*.yaml")}
    assert "mapper/models/resnet50.py" in names and "mapper/models/eyeriss/alexnet-conv.yaml" in names
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert all("extra ==" in line for line in requires if "pytest" in line or "hypothesis" in line)
    assert any(line.startswith("Requires-Dist: torch") for line in requires)

    # 3. A fresh venv outside the repository. Its third-party packages come from the test's
    # own environment through a .pth file (offline, no download, no copy); that file is
    # written only after the install, so pip never sees (nor touches) the running env's
    # chiplet-mapper, and a .pth path line does not run that env's editable-install hook.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    py = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "--quiet", wheel],
         cwd=tmp_path)
    purelib = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                        cwd=tmp_path).stdout.strip())
    deps = dict.fromkeys(sysconfig.get_path(k) for k in ("purelib", "platlib"))
    (purelib / "zz_test_deps.pth").write_text("".join(f"{d}\n" for d in deps))

    # 4. From a folder outside the repository: everything comes from the installed wheel.
    work = tmp_path / "elsewhere"
    work.mkdir()
    probe = ("import json, importlib.util, importlib.resources, mapper, mapper.models, mapper.hardware as h\n"
             "print(json.dumps({'mapper': mapper.__file__, 'models': mapper.models.__file__,\n"
             "  'hw_dir': str(h.HARDWARE_DIR), 'names': h.bundled_names(),\n"
             "  'res': str(importlib.resources.files('mapper.bundled_hardware') / 'table2.yaml'),\n"
             "  'top_models': importlib.util.find_spec('models') is not None,\n"
             "  'table2': bool(h.load_design_space('table2')['compute'])}))")
    got = json.loads(_run([py, "-c", probe], cwd=work).stdout)
    site = purelib.resolve()
    for key in ("mapper", "models", "hw_dir", "res"):
        assert Path(got[key]).resolve().is_relative_to(site), (key, got[key])
    assert not got["top_models"], "the wheel must not install a top-level `models` package"
    assert {"nnbaton-case-study", "simba-4chiplet", "table2", "tech-16nm"} <= set(got["names"])
    assert got["table2"]

    mapper_cmd = venv / "bin" / "mapper"
    assert "nnbaton" in _run([mapper_cmd, "hardware", "nnbaton-case-study"], cwd=work).stdout.lower()
    out = json.loads(_run([mapper_cmd, "solve", "resnet50", "--hw", "nnbaton-case-study", "--json"],
                          cwd=work, timeout=600).stdout)
    statuses = [lay["status"] for lay in out["layers"]]
    assert statuses and set(statuses) == {"OPTIMAL"}, statuses
