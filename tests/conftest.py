"""Fixtures that give tests the real parts: a Redis server, daphne processes, a browser.

Outside CI a missing part skips the tests that need it, saying why; under CI=true it fails
them, because a test that can silently skip in CI is a test that does not exist.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chatproject.environment import env_flag
from workbook import CHATPROJECT_DIR, RedisServer, start_daphne
from workbook.redis_server import DEFAULT_LOCAL_URL, is_usable, server_binary

IN_CI = env_flag("CI", False)


def require(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (under CI=true) unless condition holds."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason}; under CI=true a missing dependency fails the run")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis for this test run: a private server of our own when a binary exists."""
    if server_binary():
        with RedisServer(tmp_path_factory.mktemp("redis")) as server:
            yield server.url
        return
    url = os.environ.get("REDIS_URL") or DEFAULT_LOCAL_URL
    require(is_usable(url), "no Redis: no redis-server binary and nothing answers at " + url)
    yield url


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> Path:
    """A migrated SQLite file, made once per run; each test gets a copy (chat_database)."""
    path = tmp_path_factory.mktemp("db") / "migrated.sqlite3"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=CHATPROJECT_DIR,
        env={**os.environ, "DJANGO_SQLITE_PATH": str(path)},
        check=True,
    )
    return path


@pytest.fixture
def chat_database(migrated_database, tmp_path) -> str:
    """The database that this test's live servers share: empty rooms, no history."""
    path = tmp_path / "chat.sqlite3"
    shutil.copyfile(migrated_database, path)
    return str(path)


@pytest.fixture
def start_chat_server(redis_url, chat_database):
    """Start chat servers (daphne unless told) on free ports; all are stopped after the test."""
    servers = []

    def start(
        redis: str | None = redis_url, port: int | None = None, server=start_daphne, **env: str
    ):
        environment = {"DJANGO_SQLITE_PATH": chat_database, **env}
        # The copy is migrated already
        started = server(port=port, redis_url=redis, env=environment, migrate=False)
        servers.append(started)
        return started

    yield start
    for server in servers:
        server.stop()


def pytest_terminal_summary(terminalreporter):
    """How long each notebook took to run headless (the workbook's budget is 5 minutes)."""
    from tests.test_notebooks import RUN_TIMES

    if not RUN_TIMES:
        return
    terminalreporter.section("notebook run times (first and second run)")
    for name, seconds in sorted(RUN_TIMES.items()):
        terminalreporter.write_line(f"{name:40} " + "  ".join(f"{s:5.1f} s" for s in seconds))
    total = sum(seconds[0] for seconds in RUN_TIMES.values())
    terminalreporter.write_line(f"{'the whole workbook, run once':40} {total:5.1f} s")


# How long a browser test waits for any one thing on a page
TIMEOUT_MS = 10_000


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
