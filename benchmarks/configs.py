"""The server configurations the benchmark compares, each started as real processes."""

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from workbook import REPO_DIR, BackgroundServer, free_port, start_daphne

# The chat's per-connection limit would hold the benchmark's one sender to 5 messages a
# second; every other check (Origin, sizes, saving before broadcast) stays on
UNLIMITED_SENDER = {"CHAT_MESSAGES_PER_SECOND": "1000000", "CHAT_MESSAGE_BURST": "1000000"}


@dataclass(frozen=True)
class Setup:
    """What every configuration shares: one Redis, one database file."""

    redis_url: str
    database: Path


@dataclass(frozen=True)
class Config:
    name: str
    description: str
    start: Callable[[Setup], BackgroundServer]


def start_blog(setup: Setup) -> BackgroundServer:
    environment = {"DJANGO_SQLITE_PATH": str(setup.database), "PYTHONPATH": str(REPO_DIR)}
    return start_daphne(
        application="benchmarks.blog_asgi:application", redis_url=setup.redis_url, env=environment
    )


def start_chat(setup: Setup) -> BackgroundServer:
    environment = {"DJANGO_SQLITE_PATH": str(setup.database), **UNLIMITED_SENDER}
    return start_daphne(redis_url=setup.redis_url, env=environment)


def start_raw(setup: Setup) -> BackgroundServer:
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.raw_server", str(port)]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return BackgroundServer(command, port, cwd=REPO_DIR, env=environment, name="raw").start()


CONFIGS = {
    config.name: config
    for config in (
        Config(
            "blog",
            "the blog's sync WebsocketConsumer + async_to_sync, daphne, RedisChannelLayer",
            start_blog,
        ),
        Config(
            "chat",
            "the finished chat (async consumer, saved before broadcast), daphne, RedisChannelLayer",
            start_chat,
        ),
        Config("raw", "plain websockets.broadcast() server: the Python ceiling", start_raw),
    )
}


class Usage:
    """A server's CPU time and memory, its children included (runserver, say)."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)

    def processes(self) -> list[psutil.Process]:
        return [self.process, *self.process.children(recursive=True)]

    def cpu_seconds(self) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in self.processes())

    def rss_mb(self) -> float:
        return sum(p.memory_info().rss for p in self.processes()) / 2**20
