"""End to end: real daphne and uvicorn processes, real Redis, real clients and browsers."""

import pytest
from playwright.sync_api import sync_playwright

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, require_chromium


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; tests open their own contexts in it (a module
    that needs other launch options defines its own)."""
    require_chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser):
    """Make fresh contexts (one per user) in the module's browser, with Playwright's context
    options (locale="ja-JP": a browser set to Japanese); all closed after the test."""
    contexts = []

    def make(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
