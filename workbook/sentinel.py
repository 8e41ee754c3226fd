"""A Redis that survives losing its primary, on this machine: a primary, a replica that copies
it, and three Sentinels that watch it, each on a loopback address of its own (127.0.0.11 …,
as if on five hosts) where the system answers there, as Linux does.

    with SentinelGroup() as group:
        group.url                      # REDIS_URL for the chat: redis+sentinel://…/mymaster/0
        old = group.primary_address()  # what the Sentinels say: ("127.0.0.11", port)
        group.kill_primary()           # SIGKILL, as a crash
        new = group.wait_for_failover(old)

When the primary has not answered for down_after seconds, each Sentinel thinks it down; once
two (the quorum) agree, they elect one of them, which promotes the replica and tells the
others. The times here are short, so that a failover takes seconds; Redis's defaults (30 s
down, 3 minutes for a failover) suit networks that hiccup. Everything runs from the same
redis-server binary as RedisServer's (``redis-server sentinel.conf --sentinel``), with its
files in a temporary folder that stop() removes, as it stops every process.
"""

import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import redis

from .ports import HOST
from .redis_server import RedisServer

MASTER_NAME = "mymaster"
# Sentinels that must agree the primary is down before one of them fails over
QUORUM = 2
SENTINELS = 3
# The primary's, the replica's, then the Sentinels' addresses
ADDRESSES = ("127.0.0.11", "127.0.0.12", "127.0.0.21", "127.0.0.22", "127.0.0.23")
# How long start() and the waits give the group before they say what is missing
START_SECONDS = 20.0
FAILOVER_SECONDS = 30.0


def loopback_aliases() -> bool:
    """Whether this system answers on loopback addresses besides 127.0.0.1 (Linux does;
    macOS only once they are added to lo0)."""
    with socket.socket() as sock:
        try:
            sock.bind((ADDRESSES[-1], 0))
        except OSError:
            return False
    return True


def free_port_on(host: str) -> int:
    """A TCP port that nothing listens on right now at host."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class SentinelServer(RedisServer):
    """A Sentinel: redis-server in Sentinel mode, watching the primary at primary."""

    def __init__(
        self,
        directory: Path,
        host: str,
        primary: tuple[str, int],
        master_name: str = MASTER_NAME,
        down_after: float = 1.0,
        failover_timeout: float = 3.0,
    ) -> None:
        super().__init__(directory, free_port_on(host), host)
        self.primary = primary
        self.master_name = master_name
        self.down_after = down_after
        self.failover_timeout = failover_timeout

    def command(self, binary: str, daemonize: bool = False) -> list[str]:
        # A Sentinel keeps what it learns (the other Sentinels, the replicas, the current
        # primary) in its configuration file, so it has one of its own to rewrite
        config = self.directory / "sentinel.conf"
        ip, port = self.primary
        name = self.master_name
        lines = [
            f"bind {self.host}",
            f"port {self.port}",
            f"dir {self.directory}",
            f"logfile {self.directory / 'redis.log'}",
            f"pidfile {self.directory / 'redis.pid'}",
            f"daemonize {'yes' if daemonize else 'no'}",
            f"sentinel monitor {name} {ip} {port} {QUORUM}",
            f"sentinel down-after-milliseconds {name} {self.down_after * 1000:.0f}",
            f"sentinel failover-timeout {name} {self.failover_timeout * 1000:.0f}",
        ]
        config.write_text("\n".join(lines) + "\n")
        return [binary, str(config), "--sentinel"]

    def client(self) -> redis.Redis:
        return client_at((self.host, self.port))


def client_at(address: tuple[str, int]) -> redis.Redis:
    host, port = address
    return redis.Redis(host, port, socket_timeout=1, socket_connect_timeout=1)


def replication(address: tuple[str, int]) -> dict:
    """INFO replication of the server at address."""
    with client_at(address) as client:
        return client.info("replication")


class SentinelGroup:
    """A primary, its replica and three Sentinels on this machine (see the module's docstring).

    Use it as a context manager, or call start() and stop(). addresses are the primary's,
    the replica's and the Sentinels', by default each its own where the system allows.
    """

    def __init__(
        self,
        parent: Path | None = None,
        master_name: str = MASTER_NAME,
        addresses: Sequence[str] | None = None,
        down_after: float = 1.0,
        failover_timeout: float = 3.0,
    ) -> None:
        self.parent = parent
        self.master_name = master_name
        if addresses is None:
            addresses = ADDRESSES if loopback_aliases() else (HOST,) * len(ADDRESSES)
        self.addresses = tuple(addresses)
        self.down_after = down_after
        self.failover_timeout = failover_timeout
        self.directory: Path | None = None
        self.servers: list[RedisServer] = []
        self.sentinels: list[SentinelServer] = []

    @property
    def url(self) -> str:
        """The chat's REDIS_URL for this group."""
        sentinels = ",".join(f"{server.host}:{server.port}" for server in self.sentinels)
        return f"redis+sentinel://{sentinels}/{self.master_name}/0"

    def start(self, timeout: float = START_SECONDS) -> "SentinelGroup":
        """Start the primary, the replica, then the Sentinels; return once the Sentinels
        know one another and the replica, so that they can fail over."""
        self.directory = Path(tempfile.mkdtemp(prefix="sentinel-", dir=self.parent))
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        # Each process is listed before it starts, so that stop() ends it whatever happens
        primary_host, replica_host, *sentinel_hosts = self.addresses
        primary = RedisServer(self.directory / "primary", free_port_on(primary_host), primary_host)
        self.servers.append(primary)
        primary.start()
        address = (primary.host, primary.port)
        follows = ["--replicaof", primary.host, str(primary.port)]
        replica = RedisServer(
            self.directory / "replica", free_port_on(replica_host), replica_host, follows
        )
        self.servers.append(replica)
        replica.start()
        wait_until(
            lambda: replication((replica.host, replica.port))["master_link_status"] == "up",
            timeout,
            "the replica did not finish copying the primary",
        )
        for number, host in enumerate(sentinel_hosts[:SENTINELS], 1):
            directory = self.directory / f"sentinel-{number}"
            sentinel = SentinelServer(
                directory, host, address, self.master_name, self.down_after, self.failover_timeout
            )
            self.sentinels.append(sentinel)
            sentinel.start()
        wait_until(self.ready, timeout, "the Sentinels did not find one another and the replica")

    def ready(self) -> bool:
        """Whether every Sentinel sees the primary up, the replica, and the other Sentinels."""
        for sentinel in self.sentinels:
            with sentinel.client() as client:
                state = client.sentinel_master(self.master_name)
            if not state["is_master"] or state["is_sdown"] or state["is_odown"]:
                return False
            if state["num-slaves"] < 1 or state["num-other-sentinels"] < len(self.sentinels) - 1:
                return False
        return True

    def answers(self) -> list[tuple[str, int] | None]:
        """Each Sentinel's answer to "where is the primary?" (None: it did not answer)."""
        found = []
        for sentinel in self.sentinels:
            try:
                with sentinel.client() as client:
                    ip, port = client.sentinel_get_master_addr_by_name(self.master_name)
                found.append((ip.decode(), int(port)))
            except (redis.ConnectionError, redis.TimeoutError, TypeError):
                found.append(None)
        return found

    def primary_address(self) -> tuple[str, int]:
        """The primary's (host, port), as the Sentinels that answer agree it is."""
        answers = {answer for answer in self.answers() if answer is not None}
        if len(answers) != 1:
            raise RuntimeError(f"the Sentinels do not agree on the primary: {sorted(answers)}")
        return answers.pop()

    def server_at(self, address: tuple[str, int]) -> RedisServer:
        return next(server for server in self.servers if (server.host, server.port) == address)

    def kill_primary(self) -> tuple[str, int]:
        """Kill the current primary (SIGKILL: no goodbyes, as a crash); its address."""
        address = self.primary_address()
        process = self.server_at(address).process
        process.kill()
        process.wait()
        return address

    def wait_for_failover(
        self, old: tuple[str, int], timeout: float = FAILOVER_SECONDS
    ) -> tuple[str, int]:
        """Wait until every Sentinel names a new primary and it says it is one; its address."""

        def promoted() -> bool:
            answers = set(self.answers())
            if len(answers) != 1 or None in answers or old in answers:
                return False
            return replication(next(iter(answers)))["role"] == "master"

        wait_until(promoted, timeout, f"no replica was promoted in place of {old}")
        return self.primary_address()

    def stop(self) -> None:
        """Stop the Sentinels first (so that they fail nothing over), then the servers;
        remove the group's folder (idempotent)."""
        for server in [*self.sentinels, *reversed(self.servers)]:
            server.stop()
        self.sentinels, self.servers = [], []
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> "SentinelGroup":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SentinelGroup {self.master_name} at {self.url}>"


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Return once condition() holds; TimeoutError(what) after timeout seconds. A server
    that does not answer yet counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (redis.RedisError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:g} s")
        time.sleep(0.05)
