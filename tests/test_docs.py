"""docs/api.md is a notebook session whose outputs are checked here, so the page stays true."""
import doctest
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_api_walkthrough_outputs():
    result = doctest.testfile(str(DOCS / "api.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 15 and result.failed == 0, result
