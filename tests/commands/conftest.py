import pytest

from fixtures.real import real_fixtures


@pytest.fixture(scope="session")
def fixtures_dir() -> str:
    return real_fixtures()
