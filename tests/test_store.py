"""The solutions store: keys, re-priced hits, damaged rows and files, concurrent writers."""
import dataclasses
import multiprocessing as mp
import sqlite3

import pytest

from mapper import store as store_mod
from mapper.layer import Layer
from mapper.solvers.cpsat import solve_layer
from mapper.store import Store, solve_key
from tests.test_cost import tiny_hw

HW = tiny_hw(n_chiplets=2, n_cores=2, a_l1=64, w_l1=128, a_l2=512)
LAYER = Layer("a", K=8, C=4, H=6, W=6, R=3, S=3, padding=1)


def solved(layer=LAYER, hw=HW, objective="energy"):
    return solve_layer(layer, hw, "full", workers=1, objective=objective)


def test_hit_is_the_same_solution(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    res = solved()
    assert st.put(res, HW, "full", 60.0)
    hit = st.get(dataclasses.replace(LAYER, name="renamed"), HW, "full", "energy")
    assert hit is not None and hit.status == "OPTIMAL"
    assert hit.best.mapping == res.best.mapping and hit.value == res.value == hit.best.energy_fj
    assert hit.layer.name == "renamed"  # the key is the shape, the answer carries the asker's layer


def test_key_separates_what_the_answer_depends_on():
    base = solve_key(LAYER, HW, "full", "energy", None)
    assert solve_key(dataclasses.replace(LAYER, name="b"), HW, "full", "energy", None) == base
    assert solve_key(LAYER, dataclasses.replace(HW, name="other"), "full", "energy", None) == base
    assert solve_key(LAYER, tiny_hw(n_chiplets=2, n_cores=2, a_l1=64, w_l1=128, a_l2=1024), "full", "energy",
                     None) != base
    assert solve_key(LAYER, HW, "template", "energy", None) != base
    assert solve_key(LAYER, HW, "full", "latency", None) != base
    assert solve_key(LAYER, HW, "full", "energy", {"package": "C"}) != base


def test_cost_model_version_invalidates(tmp_path, monkeypatch):
    st = Store(tmp_path / "s.sqlite")
    st.put(solved(), HW, "full", 60.0)
    monkeypatch.setattr(store_mod, "COST_MODEL_VERSION", store_mod.COST_MODEL_VERSION + 1)
    assert st.get(LAYER, HW, "full", "energy") is None
    assert st.prune() == 1 and st.rows() == []


def test_a_time_limited_answer_does_not_answer_a_longer_request(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    res = solved()
    res.status = "FEASIBLE"  # as if the limit had stopped it
    st.put(res, HW, "full", 5.0)
    assert st.get(LAYER, HW, "full", "energy", time_limit=5.0) is not None
    assert st.get(LAYER, HW, "full", "energy", time_limit=60.0) is None


def test_damaged_row_is_dropped_never_returned(tmp_path):
    """A stored value that the mapping does not cost (or a row whose checksum fails) is
    reported, deleted and treated as a miss."""
    path = tmp_path / "s.sqlite"
    st = Store(path)
    st.put(solved(), HW, "full", 60.0)
    db = sqlite3.connect(path)
    db.execute("UPDATE solves SET value = '1'")
    db.commit()
    db.close()
    assert st.get(LAYER, HW, "full", "energy") is None
    assert st.rows() == [] and "failed its check" in st.warnings[0]


def test_mapping_that_no_longer_costs_the_value_is_dropped(tmp_path):
    """Even with a valid checksum (e.g. a cost-model change without a version bump)."""
    path = tmp_path / "s.sqlite"
    st = Store(path)
    res = solved()
    res.value += 1
    st.put(res, HW, "full", 60.0)
    assert st.get(LAYER, HW, "full", "energy") is None


def test_damaged_store_of_ours_is_moved_aside_and_rebuilt(tmp_path):
    """A store the mapper created (its application_id in the header) that SQLite can no
    longer read is moved aside, never deleted; a read-only open reports it and leaves it."""
    path = tmp_path / "s.sqlite"
    Store(path).close()
    data = bytearray(path.read_bytes())
    data[100:] = b"\xff" * (len(data) - 100)  # the header (and its application_id) survives
    path.write_bytes(bytes(data))
    with pytest.raises(store_mod.StoreError, match="cannot be read.*left untouched"):
        Store(path, readonly=True)
    assert path.read_bytes() == bytes(data)
    st = Store(path)
    assert st.rows() == [] and "moved to" in st.warnings[0]
    aside = list(tmp_path.glob("s.sqlite.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(data)
    st.put(solved(), HW, "full", 60.0)
    assert st.get(LAYER, HW, "full", "energy") is not None


def _tree(root):
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


@pytest.mark.parametrize("readonly", [False, True])
def test_foreign_files_are_errors_and_untouched(tmp_path, readonly):
    """A directory, a text file or another program's SQLite database named as the store is
    a StoreError naming the path, and nothing there is moved, renamed or changed."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    (tmp_path / "notes.txt").write_text("this is not a database" * 100)
    db = sqlite3.connect(tmp_path / "other.db")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = _tree(tmp_path)
    for name, match in (("mine", "is a directory"), ("notes.txt", "not a solutions store"),
                        ("other.db", "another program"), ("notes.txt/sub.sqlite", "is a file")):
        with pytest.raises(store_mod.StoreError, match=match) as err:
            Store(tmp_path / name, readonly=readonly)
        assert str(tmp_path / name) in str(err.value) and "Fix:" in str(err.value)
    assert _tree(tmp_path) == before


def test_store_at_dot_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(store_mod.StoreError, match="--store .: is a directory"):
        Store(".")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_a_message():
    with pytest.raises(store_mod.StoreError, match="--store /proc/s.sqlite: cannot be opened for writing"):
        Store("/proc/s.sqlite")


def test_read_only_store_never_writes(tmp_path):
    path = tmp_path / "s.sqlite"
    empty = Store(path, readonly=True)  # a missing store reads as empty and is not created
    assert not empty.exists and empty.rows() == [] and empty.get(LAYER, HW, "full", "energy") is None
    assert not path.exists() and list(tmp_path.iterdir()) == []
    st = Store(path)
    st.put(solved(), HW, "full", 60.0)
    st.close()
    files = _tree(tmp_path)
    ro = Store(path, readonly=True)
    assert len(ro.rows()) == 1 and ro.get(LAYER, HW, "full", "energy") is not None
    for call in (lambda: ro.put(solved(), HW, "full", 60.0), ro.prune):
        with pytest.raises(store_mod.StoreError, match="read-only"):
            call()
    ro.close()
    assert _tree(tmp_path) == files  # no -wal/-shm files, the database unchanged
    db = sqlite3.connect(path)
    db.execute("UPDATE solves SET value = '1'")  # a damaged row: reported, not dropped
    db.commit()
    db.close()
    ro = Store(path, readonly=True)
    assert ro.get(LAYER, HW, "full", "energy") is None and "not dropped" in ro.warnings[0]
    assert len(ro.rows()) == 1


def test_store_of_an_older_version_is_recognised(tmp_path):
    """A store made before the application_id (id 0, exactly our table) is ours: read,
    written and stamped."""
    path = tmp_path / "s.sqlite"
    db = sqlite3.connect(path)
    db.execute(store_mod.SCHEMA)
    db.commit()
    db.close()
    assert Store(path, readonly=True).rows() == []
    st = Store(path)
    st.put(solved(), HW, "full", 60.0)
    st.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == store_mod.APPLICATION_ID
    db.close()
    assert len(Store(path, readonly=True).rows()) == 1


def _writer(path, i):
    layer = Layer(f"w{i}", K=4 + i, C=4, H=4, W=4, R=3, S=3, padding=1)
    st = Store(path)
    for _ in range(3):  # the same key written repeatedly, beside the other writers
        st.put(solved(layer), HW, "full", 60.0)
    return i


def test_concurrent_writers(tmp_path):
    path = tmp_path / "s.sqlite"
    Store(path).close()
    with mp.get_context("fork").Pool(4) as pool:
        assert sorted(pool.starmap(_writer, [(path, i) for i in range(8)])) == list(range(8))
    st = Store(path)
    assert len(st.rows()) == 8
    for i in range(8):
        assert st.get(Layer("x", K=4 + i, C=4, H=4, W=4, R=3, S=3, padding=1), HW, "full", "energy") is not None


def test_unwritable_store_is_a_message(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(store_mod.StoreError, match="--store"):
        Store(blocker / "sub" / "s.sqlite")
