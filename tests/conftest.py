"""Every test gets its own solutions store, so no test reads another's answers and none
writes to the user's cache (~/.cache/mapper)."""
import pytest


@pytest.fixture(autouse=True)
def private_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MAPPER_STORE", str(tmp_path / "store.sqlite"))
