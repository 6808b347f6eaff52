import pytest

pytest_plugins = ["router.testing"]     # Sparky's `sparky_bot` fixture


@pytest.fixture
def sparky_plugins():
    return ["hello"]
