"""End to end: real daphne and uvicorn processes, real Redis, real clients and browsers."""

import pytest

from tests.helpers import TIMEOUT_MS


@pytest.fixture
def new_context(browser):
    """Make fresh contexts (one per user) in the module's browser; all closed after the test."""
    contexts = []

    def make():
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
