import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # tests/: the `fixtures` helpers

from fixtures.real import real_fixtures  # noqa: E402


@pytest.fixture(scope="session")
def fixtures_dir() -> str:
    return real_fixtures()
