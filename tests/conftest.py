"""Shared test settings.

* Every test gets its own solutions store, so no test reads another's answers and none
  writes to the user's cache (~/.cache/mapper).

* Random-case sweeps take their seed from the `sweep_seed` fixture (the way
  scikit-learn's `global_random_seed` works). A test lists every seed it may run with,
  `@pytest.mark.seeds(range(12))`; by default it runs with the first one only. With
  `--all-seeds` or `MAPPER_TEST_SEEDS=all` it runs with every seed of its list;
  `MAPPER_TEST_SEEDS=3` or `MAPPER_TEST_SEEDS=0-4,9` runs the named seeds (to replay a
  failure). `make test-long` runs every seed.

* Tests marked `slow` (whole-zoo and whole-system sweeps) are deselected unless a `-m`
  expression is given: `pytest -m slow` runs only them, `pytest -m "slow or not slow"`
  everything. `make test` is the quick suite, `make test-long` the slow tests plus every
  seed of the sweeps; CI runs both.
"""
import os

import pytest

SEEDS_ENV = "MAPPER_TEST_SEEDS"


def pytest_addoption(parser):
    parser.addoption("--all-seeds", action="store_true", default=False,
                     help=f"run random-case sweeps with every seed they list (as {SEEDS_ENV}=all)")


def pytest_configure(config):
    config.addinivalue_line("markers", "seeds(seeds): the seeds a random-case sweep runs with under "
                                       f"--all-seeds / {SEEDS_ENV}=all; the first one by default")


def _parse_seeds(spec: str) -> list[int]:
    """'3', '0-4', '0-4,9' -> the listed seeds (a range includes both ends)."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        lo, sep, hi = part.partition("-")
        try:
            out += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
        except ValueError:
            raise pytest.UsageError(f"{SEEDS_ENV}={spec!r}: give 'all', a seed (3), a range (0-4) "
                                    "or a comma list of them (0-4,9)") from None
    if not out:
        raise pytest.UsageError(f"{SEEDS_ENV} is empty: give 'all' or seeds such as 0-4")
    return out


def seeds_for(config, listed: list[int]) -> list[int]:
    spec = os.environ.get(SEEDS_ENV, "").strip()
    if config.getoption("all_seeds") or spec.lower() == "all":
        return listed
    if spec:
        return _parse_seeds(spec)
    return listed[:1]


def pytest_generate_tests(metafunc):
    if "sweep_seed" not in metafunc.fixturenames:
        return
    mark = metafunc.definition.get_closest_marker("seeds")
    if mark is None or not mark.args:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: a test using sweep_seed lists its seeds "
                                "with @pytest.mark.seeds(range(n))")
    seeds = seeds_for(metafunc.config, [int(s) for s in mark.args[0]])
    metafunc.parametrize("sweep_seed", seeds, ids=[f"seed{s}" for s in seeds])


def pytest_collection_modifyitems(config, items):
    """Without a -m expression, leave out the slow tests (run by `make test-long`)."""
    if config.getoption("markexpr"):
        return
    keep, slow = [], []
    for item in items:
        (slow if item.get_closest_marker("slow") else keep).append(item)
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = keep


@pytest.fixture(autouse=True)
def private_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MAPPER_STORE", str(tmp_path / "store.sqlite"))
