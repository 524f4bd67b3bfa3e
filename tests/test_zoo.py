"""`mapper zoo`: distinct solves once, the store, the local and Dask backends, resuming
after a killed run, the summary and the report files."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mapper import batch
from mapper.cli import main
from mapper.hardware import load_hardware
from mapper.layer import Layer
from mapper.store import Store
from mapper.workload import Workload

ROOT = Path(__file__).resolve().parents[1]
CASE = load_hardware(ROOT / "hardware" / "nnbaton-case-study.yaml")
LAYERS = [Layer("a", K=64, C=32, H=14, W=14, R=3, S=3, padding=1), Layer("b", K=64, C=64, H=14, W=14),
          Layer("c", K=64, C=32, H=14, W=14, R=3, S=3, padding=1),  # same shape as a
          Layer("d", K=128, C=64, H=7, W=7, R=3, S=3, padding=1)]
NET = Workload(model="net", resolution=14, layers=LAYERS, skipped={})


def mappings(results: dict) -> dict:
    return {k: (r.status, r.best.mapping, r.best.energy_fj) for k, r in results.items()}


def test_plan_solves_each_distinct_shape_once():
    other = Workload(model="net2", resolution=14, layers=LAYERS[1:2], skipped={})
    entries, jobs = batch.plan([NET, other], [("case", CASE)], "template", "energy", 60.0)
    assert len(entries) == 2 and len(jobs) == 3  # a = c, and net2's only layer is b
    assert entries[1].keys[0] == entries[0].keys[1]


def test_local_and_dask_backends_agree(tmp_path):
    """Same answers from a process pool and a Dask LocalCluster (two worker processes)."""
    import distributed  # a dependency: a missing install fails here, it does not skip
    entries, jobs = batch.plan([NET], [("case", CASE)], "full", "energy", 60.0)
    local, prog = batch.run(jobs, Store(tmp_path / "a.sqlite"), lambda: batch.LocalBackend(2))
    assert prog.solved == 3 and prog.cache_hits == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote, _ = batch.run(jobs, Store(tmp_path / "b.sqlite"), lambda: batch.DaskBackend(client))
    assert mappings(remote) == mappings(local)
    again, prog = batch.run(jobs, Store(tmp_path / "a.sqlite"), lambda: pytest.fail("nothing to solve"))
    assert prog.cache_hits == 3 and mappings(again) == mappings(local)


def zoo_cmd(store, *extra):
    return [sys.executable, "-m", "mapper.cli", "zoo", "alexnet", "vgg16", "--hw", "nnbaton-case-study",
            "--space", "template", "--store", str(store), "--workers", "1", "--quiet", *extra]


def test_killed_run_resumes_without_recomputing(tmp_path):
    """SIGKILL mid-run (no chance to clean up): every solve finished before it is in the
    store, the rerun solves only the rest, and the answers equal an uninterrupted run."""
    store = tmp_path / "s.sqlite"
    proc = subprocess.Popen(zoo_cmd(store), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and done < 3:
        time.sleep(0.2)
        if store.exists():
            done = len(Store(store).rows())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {r["key"] for r in Store(store).rows()}
    assert len(before) >= 3
    out = subprocess.run(zoo_cmd(store, "--json"), cwd=ROOT, capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout)
    assert summary["cache_hits"] == len(before)  # nothing finished is solved again
    assert summary["solved"] == summary["distinct"] - len(before)
    assert before <= {r["key"] for r in Store(store).rows()}
    clean = subprocess.run(zoo_cmd(tmp_path / "clean.sqlite", "--json"), cwd=ROOT, capture_output=True, text=True,
                           check=True)
    def answers(d):
        return [{k: v for k, v in m.items() if k != "solve_s"} for m in d["models"]]
    assert answers(json.loads(clean.stdout)) == answers(summary)


def test_ctrl_c_stops_at_once_and_keeps_what_finished(tmp_path):
    store = tmp_path / "s.sqlite"
    proc = subprocess.Popen(zoo_cmd(store), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (store.exists() and Store(store).rows()):
        time.sleep(0.2)
    kept = len(Store(store).rows())
    proc.send_signal(signal.SIGINT)
    t0 = time.time()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and time.time() - t0 < 10
    assert "run the same command again" in err and "Traceback" not in err
    assert len(Store(store).rows()) >= kept >= 1


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_zoo_json_store_commands_and_files(capsys, tmp_path):
    store, out = tmp_path / "s.sqlite", tmp_path / "out"
    code, text, _ = run_cli(capsys, "zoo", "alexnet", "--hw", "nnbaton-case-study", "--resolution", 224, 512,
                            "--space", "template", "--store", store, "--out", out, "--json")
    d = json.loads(text)
    assert code == 0 and {"layers_total", "distinct", "solved", "cache_hits", "wall_s", "models"} <= set(d)
    n = d["distinct"]  # fewer than 16: the classifier layers do not depend on the resolution
    assert d["layers_total"] == 16 and d["solved"] == n < 16 and d["cache_hits"] == 0
    assert [(m["model"], m["resolution"]) for m in d["models"]] == [("alexnet", 224), ("alexnet", 512)]
    for name in ("alexnet-224-nnbaton-case-study.yaml", "alexnet-512-nnbaton-case-study.html", "zoo.md", "zoo.csv",
                 "zoo.json", "figures/alexnet-224-nnbaton-case-study.png"):
        assert (out / name).exists(), name
    html = (out / "zoo.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html and "http" not in html.split("<style>")[0]
    code, text, _ = run_cli(capsys, "store", "ls", "--store", store, "--json")
    rows = json.loads(text)
    assert len(rows) == n and {r["status"] for r in rows} == {"OPTIMAL"}
    code, text, _ = run_cli(capsys, "store", "show", rows[0]["key"][:10], "--store", store)
    assert json.loads(text)["key"] == rows[0]["key"]
    code, text, _ = run_cli(capsys, "store", "export", "--format", "csv", "--store", store)
    assert text.count("\n") == n + 1
    # `mapper solve` reads the same store: every shape is a hit
    code, text, _ = run_cli(capsys, "solve", "alexnet", "--hw", "nnbaton-case-study", "--space", "template",
                            "--store", store, "--json")
    assert json.loads(text)["store_hits"] == 8
    code, text, _ = run_cli(capsys, "store", "prune", "--all", "--store", store)
    assert f"pruned {n} entries" in text


def test_zoo_bad_input(capsys, tmp_path):
    code, _, err = run_cli(capsys, "zoo", "--hw", "nnbaton-case-study")
    assert code == 2 and "--all" in err
    code, _, err = run_cli(capsys, "zoo", "alexnet", "--all", "--hw", "nnbaton-case-study")
    assert code == 2 and "not both" in err
    code, _, err = run_cli(capsys, "zoo", "nosuchnet", "--hw", "nnbaton-case-study")
    assert code == 2 and "nosuchnet" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "store", "show", "zzz", "--store", tmp_path / "s.sqlite")
    assert code == 2 and "mapper store ls" in err
