"""The server configurations the benchmark compares: each describes its server (a ServerSpec)
and starts it as real processes."""

import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from workbook import REPO_DIR, BackgroundServer, ServerSpec, free_port, project_server

from .cluster import ClusterDeployment, start_cluster

# The chat's per-connection limit would hold the benchmark's one sender to 5 messages a
# second, and its per-address budgets would count all the benchmark's clients, which come
# from 127.0.0.1, as one: up to 200 sockets and 20 messages a second. Every other check
# (Origin, sizes, saving before broadcast, what a socket may leave unread) stays on
UNLIMITED_SENDER = {
    "CHAT_MESSAGES_PER_SECOND": "1000000",
    "CHAT_MESSAGE_BURST": "1000000",
    "CHAT_CLIENT_SOCKETS": "1000000",
    "CHAT_CLIENT_MESSAGES_PER_SECOND": "1000000",
    "CHAT_CLIENT_MESSAGE_BURST": "1000000",
}


@dataclass(frozen=True)
class Setup:
    """What every configuration shares: one Redis, one database file."""

    redis_url: str
    database: Path
    # Production refuses to start without a secret key: one for the run, shared by every
    # process of it (guest cookies signed by one must read in another); never shown
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50), repr=False)


@dataclass(frozen=True)
class Deployment:
    """The server processes of one configuration; listeners are spread over them in turn."""

    servers: list[BackgroundServer]

    def urls(self, room: str) -> list[str]:
        return [f"ws://127.0.0.1:{server.port}/ws/chat/{room}/" for server in self.servers]

    @property
    def pids(self) -> list[int]:
        return [server.pid for server in self.servers]

    def stop(self, timeout: float = 10) -> None:
        for server in self.servers:
            server.stop(timeout=timeout)


def chat_env(setup: Setup, layer: str) -> dict[str, str]:
    # The layer is always named, so that a CHAT_CHANNEL_LAYER in the caller's shell changes
    # nothing. DEBUG off, as in production: with it on, Django also records every query.
    return {
        "DJANGO_SQLITE_PATH": str(setup.database),
        "CHAT_CHANNEL_LAYER": layer,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": setup.secret_key,
    }


def blog(setup: Setup) -> ServerSpec:
    """The blog's consumer under daphne, on the Redis layer."""
    environment = {**chat_env(setup, "redis"), "PYTHONPATH": str(REPO_DIR)}
    application = "benchmarks.blog_asgi:application"
    return project_server("daphne", application, redis_url=setup.redis_url, env=environment)


def chat_under(program: str, layer: str, hub: bool = True) -> Callable[[Setup], ServerSpec]:
    """The chat's server under program (daphne, uvicorn) on the layer."""

    def chat(setup: Setup) -> ServerSpec:
        environment = {**chat_env(setup, layer), **UNLIMITED_SENDER}
        environment["CHAT_ROOM_HUB"] = "1" if hub else "0"
        return project_server(program, redis_url=setup.redis_url, env=environment)

    return chat


def raw(setup: Setup) -> ServerSpec:
    """The plain websockets server: no Django, no layer, no database."""
    port = free_port()
    command = (sys.executable, "-m", "benchmarks.raw_server", str(port))
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return ServerSpec("raw", command, port, REPO_DIR, environment)


@dataclass(frozen=True)
class Config:
    name: str
    description: str
    # The server to start, on a free port; each of the processes is one more of it, sharing
    # the Redis and the database
    server: Callable[[Setup], ServerSpec]
    processes: int = 1

    def start(self, setup: Setup) -> Deployment:
        servers: list[BackgroundServer] = []
        try:
            for _ in range(self.processes):
                servers.append(self.server(setup).start())
        except Exception:
            Deployment(servers).stop()
            raise
        return Deployment(servers)


# A cluster's worker runs as the chat configuration's server does: daphne, the Redis layer,
# the room hub, the limits on one sender raised
BENCH_WORKER = {"CHAT_CHANNEL_LAYER": "redis", "CHAT_ROOM_HUB": "1", **UNLIMITED_SENDER}


@dataclass(frozen=True)
class ClusterConfig:
    """The chat beyond one machine (benchmarks/cluster.py): nginx in front of this many
    daphnes, PostgreSQL, Redis through Sentinel. The run's own Redis and database file go
    unused: the cluster has its own."""

    name: str
    description: str
    workers: int

    def start(self, setup: Setup) -> ClusterDeployment:
        return ClusterDeployment(start_cluster(self.workers, BENCH_WORKER))


CONFIGS: dict[str, Config | ClusterConfig] = {
    config.name: config
    for config in (
        Config(
            "blog",
            "the blog's sync WebsocketConsumer + async_to_sync, daphne, RedisChannelLayer",
            blog,
        ),
        Config(
            "chat",
            "the finished chat (async consumer, saved before broadcast), daphne, RedisChannelLayer",
            chat_under("daphne", "redis"),
        ),
        Config(
            "chat-nohub",
            "the chat without its room hub: every consumer in the group with its own channel "
            "(the tutorial's way), daphne, RedisChannelLayer",
            chat_under("daphne", "redis", hub=False),
        ),
        Config(
            "chat-pubsub",
            "the chat, daphne, RedisPubSubChannelLayer (Redis PUBLISH/SUBSCRIBE)",
            chat_under("daphne", "pubsub"),
        ),
        Config(
            "chat-memory",
            "the chat, daphne, InMemoryChannelLayer (one process; presence in it too: no Redis)",
            chat_under("daphne", "memory"),
        ),
        Config(
            "chat-uvicorn",
            "the chat, uvicorn (uvloop, websockets-sansio, no per-message deflate), "
            "RedisChannelLayer",
            chat_under("uvicorn", "redis"),
        ),
        Config(
            "chat-uvicorn-pubsub",
            "the chat, uvicorn (as chat-uvicorn), RedisPubSubChannelLayer",
            chat_under("uvicorn", "pubsub"),
        ),
        Config(
            "chat-2procs",
            "the chat, two daphnes sharing Redis (RedisChannelLayer) and the database; "
            "listeners alternate between them, the sender on the first",
            chat_under("daphne", "redis"),
            processes=2,
        ),
        ClusterConfig(
            "cluster-1",
            "the cluster with ONE worker: nginx, one daphne (as chat), PostgreSQL, Redis "
            "through Sentinel",
            workers=1,
        ),
        ClusterConfig(
            "cluster",
            "nginx (least_conn) in front of three daphnes (as chat), PostgreSQL, Redis "
            "through Sentinel: workbook.cluster's topology, on this machine's cores",
            workers=3,
        ),
        Config("raw", "plain websockets.broadcast() server: the Python ceiling", raw),
    )
}


class Usage:
    """CPU time and memory of a deployment's processes, their children included."""

    def __init__(self, pids: list[int]) -> None:
        self.parents = [psutil.Process(pid) for pid in pids]

    def processes(self) -> list[psutil.Process]:
        return [
            process
            for parent in self.parents
            for process in (parent, *parent.children(recursive=True))
        ]

    def cpu_seconds(self) -> float:
        """User and system time of every process, and of the children each has reaped:
        PostgreSQL's postmaster reaps a backend whose connection closed, and its time with it."""
        times = [p.cpu_times() for p in self.processes()]
        return sum(t.user + t.system + t.children_user + t.children_system for t in times)

    def rss_mb(self) -> float:
        return sum(p.memory_info().rss for p in self.processes()) / 2**20

    def rss_mb_each(self) -> list[float]:
        """Each server's memory (its children included), in the order of the pids."""
        return [
            sum(p.memory_info().rss for p in (parent, *parent.children(recursive=True))) / 2**20
            for parent in self.parents
        ]
