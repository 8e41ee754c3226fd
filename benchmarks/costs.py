"""What one message costs in the cluster: Redis commands, PostgreSQL writes, CPU of each part.

    .venv/bin/python -m benchmarks.costs                       # 3 workers, 100 listeners x 300
    .venv/bin/python -m benchmarks.costs --workers 1 --listeners 1000 --messages 30

Starts the cluster of the `cluster` configuration (benchmarks/cluster.py), connects the
listeners to one room through nginx, and reads counters before and after one sender's
messages: the Redis primary's `INFO commandstats`, PostgreSQL's `pg_stat_database` and
`pg_stat_wal` for the chat's database, and the CPU time (utime + stime, /proc) of the
workers, nginx, the Redis primary and PostgreSQL. What the cluster does with nobody
talking (Sentinels' pings and INFOs, replication, presence heartbeats) is measured over
an idle window first, with the same sockets open, and taken off.
"""

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from . import loadgen
from .cluster import BenchCluster, start_cluster
from .configs import BENCH_WORKER, Usage

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# PostgreSQL's counters of the chat's database, and of the WAL it writes
DATABASE_COUNTERS = """
SELECT sessions, xact_commit, tup_inserted, tup_updated, tup_deleted, wal_records, wal_bytes
FROM pg_stat_database, pg_stat_wal WHERE datname = 'chat'
"""
# sessions: connections opened to the chat's database
DATABASE_FIELDS = (
    "sessions",
    "commits",
    "inserted",
    "updated",
    "deleted",
    "wal_records",
    "wal_bytes",
)
# A backend reports its counters at most once a second, and when it goes idle
STATS_SETTLE_SECONDS = 1.5
STATS_TIMEOUT = 30.0
# An idle backend that reported less than a second before reports the rest 10 s later
# (PostgreSQL's PGSTAT_IDLE_INTERVAL). The chat keeps its connections, so its backends
# report the last messages' counters only then, not when they close
IDLE_REPORT_SECONDS = 10.5
# The chat's connections that may still have counters to report
UNREPORTED_BACKENDS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = 'chat' AND pid <> pg_backend_pid()
  AND (state <> 'idle' OR state_change > now() - make_interval(secs => %s))
"""


@dataclass
class Snapshot:
    """The counters at one moment."""

    at: float
    # Calls of each Redis command, and the microseconds Redis spent in them
    redis: dict[str, int]
    redis_usec: dict[str, int]
    database: dict[str, int]
    cpu: dict[str, float] = field(default_factory=dict)

    def minus(self, other: "Snapshot") -> "Snapshot":
        def delta(mine: dict, theirs: dict) -> dict:
            return {key: mine[key] - theirs.get(key, 0) for key in mine}

        return Snapshot(
            self.at - other.at,
            delta(self.redis, other.redis),
            delta(self.redis_usec, other.redis_usec),
            delta(self.database, other.database),
            delta(self.cpu, other.cpu),
        )


class Counters:
    """Reads a running cluster's counters."""

    def __init__(self, cluster: BenchCluster) -> None:
        self.cluster = cluster
        primary = cluster.primary
        self.redis = redis.Redis(host=primary.host, port=primary.port)
        # One connection for all the readings: a new one each time would be a backend
        # started and ended, whose CPU the postmaster's reaped children's time would count
        self.db = psycopg.connect(cluster.postgres.url(), autocommit=True)
        self.parts = {
            "workers": Usage([worker.pid for worker in cluster.workers.values()]),
            "nginx": Usage([cluster.nginx.server.pid]),
            "redis": Usage([primary.process.pid]),
            "postgres": Usage([cluster.postgres.pid]),
        }

    def redis_stats(self, figure: str) -> dict[str, int]:
        """figure ("calls", "usec") of each command the Redis primary has run."""
        stats = self.redis.info("commandstats")
        return {name.removeprefix("cmdstat_"): value[figure] for name, value in stats.items()}

    def close(self) -> None:
        self.db.close()
        self.redis.close()

    def database(self) -> dict[str, int]:
        (row,) = self.db.execute(DATABASE_COUNTERS).fetchall()
        return dict(zip(DATABASE_FIELDS, map(int, row), strict=True))

    def unreported(self) -> int:
        (row,) = self.db.execute(UNREPORTED_BACKENDS, (IDLE_REPORT_SECONDS,)).fetchall()
        return row[0]

    def settled_database(self) -> dict[str, int]:
        """The database's counters once every backend has reported: each one idle for
        longer than it may hold them back, and no change for a while."""
        deadline = time.monotonic() + STATS_TIMEOUT
        last, since = self.database(), time.monotonic()
        while time.monotonic() - since < STATS_SETTLE_SECONDS or self.unreported():
            if time.monotonic() > deadline:
                unreported = f"PostgreSQL's counters not all reported after {STATS_TIMEOUT} s"
                raise TimeoutError(unreported)
            time.sleep(0.25)
            now = self.database()
            if now != last:
                last, since = now, time.monotonic()
        return last

    def snapshot(self) -> Snapshot:
        database = self.settled_database()
        cpu = {name: usage.cpu_seconds() for name, usage in self.parts.items()}
        calls, usec = self.redis_stats("calls"), self.redis_stats("usec")
        return Snapshot(time.monotonic(), calls, usec, database, cpu)


async def measure_costs(
    cluster: BenchCluster,
    listeners: int = 100,
    messages: int = 300,
    idle_seconds: float = 5.0,
    room: str = "costs",
) -> dict:
    """The counters' deltas per message in one room of listeners, net of an idle window."""
    counters = Counters(cluster)
    load = loadgen.Load(urls=[cluster.nginx_url(room)], listeners=listeners, messages=messages)
    sockets, failures = await loadgen.open_listeners(load)
    try:
        before_idle = await asyncio.to_thread(counters.snapshot)
        # With every socket open and nobody talking: what the cluster does anyway
        await asyncio.sleep(idle_seconds)
        idle = (await asyncio.to_thread(counters.snapshot)).minus(before_idle)
        before = await asyncio.to_thread(counters.snapshot)
        progress = asyncio.Event()
        tasks = [asyncio.create_task(one.read(messages, progress)) for one in sockets]
        first = await loadgen.send_messages(sockets[0].websocket, load)
        await loadgen.wait_for_arrivals(tasks, progress, load.idle_timeout)
        sending = (await asyncio.to_thread(counters.snapshot)).minus(before)
    finally:
        await asyncio.gather(*(one.websocket.close() for one in sockets), return_exceptions=True)
        counters.close()
    arrivals = [moment for one in sockets for moment in one.arrivals.values()]
    seconds = (max(arrivals) - first) / 1e9 if arrivals else 0.0
    return summary(listeners, messages, len(arrivals), seconds, failures, idle, sending)


def summary(listeners, messages, delivered, seconds, failures, idle, sending) -> dict:
    """Per message, net of what the idle window's rate would have done in as much time."""
    scale = sending.at / idle.at

    def net(during: dict, quiet: dict) -> dict:
        return {key: value - quiet.get(key, 0) * scale for key, value in during.items()}

    redis_net = {k: v for k, v in net(sending.redis, idle.redis).items() if round(v / messages, 2)}
    database = net(sending.database, idle.database)
    redis_usec = sum(net(sending.redis_usec, idle.redis_usec).values())
    cpu = net(sending.cpu, idle.cpu)
    return {
        "listeners": listeners,
        "messages": messages,
        "connect_failures": failures,
        "delivered": delivered,
        "seconds": round(seconds, 3),
        "deliveries_per_second": round(delivered / seconds, 1) if seconds else 0.0,
        "redis_commands_per_message": round(sum(redis_net.values()) / messages, 2),
        "redis_commands_by_name": {k: round(v / messages, 2) for k, v in redis_net.items()},
        # Redis's own time in those commands (INFO commandstats), apart from its I/O
        "redis_command_us_per_message": round(redis_usec / messages, 1),
        "postgres_per_message": {k: round(v / messages, 2) for k, v in database.items()},
        "cpu_seconds": {name: round(value, 3) for name, value in cpu.items()},
        "cpu_ms_per_message": {k: round(v * 1000 / messages, 3) for k, v in cpu.items()},
        "deliveries_per_worker_cpu_second": round(delivered / max(cpu["workers"], 0.001), 1),
        # The idle window: what each open socket costs with nobody talking
        "idle_seconds": round(idle.at, 2),
        "idle_redis_commands_per_socket_second": round(
            sum(idle.redis.values()) / idle.at / listeners, 3
        ),
        "idle_worker_cpu_share": round(idle.cpu["workers"] / idle.at, 3),
    }


def printed(costs: dict) -> str:
    lines = [
        f"{costs['listeners']} listeners x {costs['messages']} messages: {costs['delivered']:,}"
        f" deliveries in {costs['seconds']} s ({costs['deliveries_per_second']:,.0f}/s)",
        f"Redis commands per message: {costs['redis_commands_per_message']}"
        f" ({costs['redis_command_us_per_message']} µs in Redis's commands)",
        *(f"  {name:24} {n}" for name, n in sorted(costs["redis_commands_by_name"].items())),
        "PostgreSQL per message: "
        + ", ".join(f"{name} {n}" for name, n in costs["postgres_per_message"].items()),
        "CPU ms per message, net of idle: "
        + ", ".join(f"{name} {ms}" for name, ms in costs["cpu_ms_per_message"].items()),
        f"Deliveries per worker CPU second: {costs['deliveries_per_worker_cpu_second']:,.0f}",
        f"Idle: {costs['idle_redis_commands_per_socket_second']} Redis commands per socket a"
        f" second; workers use {costs['idle_worker_cpu_share']:.0%} of a core",
    ]
    return "\n".join(lines)


async def arun(workers: int, listeners: int, messages: int) -> dict:
    cluster = await asyncio.to_thread(start_cluster, workers, BENCH_WORKER)
    try:
        return await measure_costs(cluster, listeners, messages)
    finally:
        await asyncio.to_thread(cluster.remove)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.costs", description=__doc__)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--listeners", type=int, default=100)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--out", type=Path, help="write the figures as JSON to this file")
    args = parser.parse_args(argv)
    costs = asyncio.run(arun(args.workers, args.listeners, args.messages))
    costs["workers"] = args.workers
    print(printed(costs))
    if args.out:
        args.out.write_text(json.dumps(costs, indent=2) + "\n")


if __name__ == "__main__":
    main()
