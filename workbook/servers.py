"""Servers in the background: start daphne or uvicorn (or any command) on a free port, read
its log, stop it. A ServerSpec describes a server to start: its command, folder, environment.

Every server started here is also stopped when the Python process exits (an atexit guard),
so a kernel restart or a failed test never leaves one behind; should the process die without
its exit handlers (kill -9, the out-of-memory killer), a guard process stops them (guard.py).
Their logs, in one temporary folder for the process, go with them.
"""

import atexit
import inspect
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

from . import guard
from .i18n import _
from .links import proxy_environment
from .paths import CHATPROJECT_DIR, NOTEBOOK_CHAT_DATABASE
from .ports import HOST, free_port, is_listening

# What the chat's servers run unless told otherwise
CHAT_APPLICATION = "chatproject.asgi:application"
CHAT_SETTINGS = "chatproject.settings"

_running: set["BackgroundServer"] = set()
# The servers' logs: one folder for this process, made with its first server
_logs_folder: Path | None = None


def logs_folder() -> Path:
    global _logs_folder
    if _logs_folder is None:
        _logs_folder = Path(tempfile.mkdtemp(prefix="workbook-logs-"))
        guard.remove_folder(_logs_folder)
    return _logs_folder


def remove_logs() -> None:
    """At exit: server.log() has shown what anyone read, and nothing piles up in /tmp."""
    if _logs_folder is not None:
        shutil.rmtree(_logs_folder, ignore_errors=True)


# Registered before stop_all (below) and every other guard, so it runs after them (atexit
# runs the last registered first): the logs go once the servers have stopped
atexit.register(remove_logs)


class BackgroundServer:
    """A server process whose output goes to a log file you can read at any time."""

    def __init__(
        self,
        command: Sequence[str],
        port: int,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        name: str = "server",
        host: str = HOST,
    ) -> None:
        self.command = list(command)
        self.port = port
        # The loopback address it listens on: 127.0.0.1, or another "host" of a local cluster
        self.host = host
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.name = name
        log_file, log_path = tempfile.mkstemp(
            prefix=f"{name}-{port}-", suffix=".log", dir=logs_folder()
        )
        os.close(log_file)  # start() opens it again for the server
        self.log_path = Path(log_path)
        self.process: subprocess.Popen | None = None
        self._log_offset = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, timeout: float = 30.0) -> "BackgroundServer":
        if is_listening(self.port, self.host):
            # Another program would answer in its place: the wait below would pass at once
            raise RuntimeError(
                _(
                    "port {port} is busy: another program listens there, so {name} cannot. "
                    "Stop that program, or start {name} on another port (without port=, "
                    "the workbook picks a free one).",
                    port=self.port,
                    name=self.name,
                )
            )
        with open(self.log_path, "wb") as log:
            # A session of its own, so that stop() also reaches any child it forks
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        guard.watch_group(self.process.pid)
        _running.add(self)
        try:
            self._wait_until_listening(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def _wait_until_listening(self, timeout: float) -> None:
        # A server that exits at start says so at once, not after the whole timeout
        deadline = time.monotonic() + timeout
        while self.is_running() and not is_listening(self.port, self.host):
            if time.monotonic() > deadline:
                message = _("{name} did not start:\n{log}", name=self.name, log=self.log())
                raise RuntimeError(message)
            time.sleep(0.05)
        if not self.is_running():
            raise RuntimeError(_("{name} exited at start:\n{log}", name=self.name, log=self.log()))

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """Everything the server has printed so far."""
        return self.log_path.read_text(errors="replace")

    def new_log_lines(self, until: str | None = None, timeout: float = 10.0) -> list[str]:
        """The lines printed since the last call: what the last action caused.

        A server logs a moment after it acts, so with until="WSDISCONNECT" this first waits
        (up to timeout seconds) for a new line containing that text.
        """
        if until is not None:
            self.wait_for_log(until, timeout)
        fresh = self._unread()
        self._log_offset += len(fresh)
        return fresh.splitlines()

    def wait_for_log(self, text: str, timeout: float = 10.0) -> None:
        """Wait until a line not yet read by new_log_lines() contains text."""
        deadline = time.monotonic() + timeout
        while text not in self._unread():
            if time.monotonic() > deadline:
                message = _(
                    "{name} logged no {text} within {seconds} s",
                    name=self.name,
                    text=repr(text),
                    seconds=f"{timeout:.0f}",
                )
                raise TimeoutError(message)
            if not self.is_running():
                raise RuntimeError(_("{name} has stopped:\n{log}", name=self.name, log=self.log()))
            time.sleep(0.05)

    def _unread(self) -> str:
        """The whole lines logged since the last new_log_lines() (a line being written waits)."""
        text = self.log()[self._log_offset :]
        return text[: text.rfind("\n") + 1]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and wait for it (idempotent): SIGTERM first, SIGKILL if it hangs."""
        _running.discard(self)
        if not self.is_running():
            self._forget()
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._forget()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL, as a crash or the OOM killer would): no goodbyes."""
        _running.discard(self)
        if self.is_running():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._forget()

    def _forget(self) -> None:
        if self.process is not None:
            guard.forget(self.process.pid)

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        # No URL: JupyterLab would make it a link to "/", a page nobody is meant to open
        # (browser_link() gives the links to open)
        return f"<{self.name} on {self.host}:{self.port} pid={self.pid} {state}>"


@atexit.register
def stop_all() -> None:
    """Stop every server this process started and has not stopped yet."""
    for server in list(_running):
        server.stop()


def chat_environment(redis_url: str | None, **extra: str) -> dict[str, str]:
    """The environment for a chatproject server: this one, with REDIS_URL set or removed."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": CHAT_SETTINGS, **extra}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    # Unbuffered, so that log lines reach the log file as they happen
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass(frozen=True)
class ServerSpec:
    """A server to start: its command, the folder and environment it runs in, its port.

    start_daphne() and the others, the benchmark's configurations and ``make chat`` describe
    their servers with one; ``spec.command_line`` is its command as a shell would take it.
    """

    name: str
    command: tuple[str, ...]
    port: int
    cwd: Path
    # Out of the repr: a copy of the whole environment, which may hold passwords
    env: Mapping[str, str] = field(repr=False)
    # Create the Django project's tables first (manage.py migrate in cwd)
    migrate: bool = False
    # The loopback address it listens on
    host: str = HOST

    @property
    def command_line(self) -> str:
        return shlex.join(self.command)

    def as_typed(self) -> str:
        """The command as you would type it in a terminal: its folder, the variables it adds
        to this process's environment (passwords hidden). Python is named by its path, as
        workspace.terminal_commands() does: a terminal's PATH may find another Python."""
        added = [
            f"{name}={hide_secret(name, value)}"
            for name, value in self.env.items()
            if os.environ.get(name) != value and name not in QUIET_VARIABLES
        ]
        return f"cd {shlex.quote(str(self.cwd))} && {shlex.join([*added, *self.command])}"

    def prepare(self) -> BackgroundServer:
        """The server, ready to start: its project's tables made if it migrates."""
        self.create_tables()
        return BackgroundServer(
            self.command, self.port, cwd=self.cwd, env=self.env, name=self.name, host=self.host
        )

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        """Start the server in the background; return once it listens."""
        return self.prepare().start(timeout)

    def exec(self) -> NoReturn:
        """Become the server: this process is replaced by it, in the foreground, so that the
        terminal's Ctrl-C stops it."""
        self.create_tables()
        # What this process printed must go out before the server takes its place
        sys.stdout.flush()
        sys.stderr.flush()
        os.chdir(self.cwd)
        os.execvpe(self.command[0], self.command, self.env)

    def create_tables(self) -> None:
        """Create the project's tables, if this server migrates (once per database)."""
        if self.migrate:
            migrate_once(self.cwd, self.env)


# Set for the log file's sake, not the server's: left out of the command shown
QUIET_VARIABLES = {"PYTHONUNBUFFERED"}


# Variables whose whole value is a secret (DJANGO_SECRET_KEY, PGPASSWORD, an API token)
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN", re.IGNORECASE)


def hide_secret(name: str, value: str) -> str:
    """A variable's value as a command line may show it: *** for a secret, a URL without
    its password."""
    return "***" if SECRET_NAME.search(name) else hide_password(value)


def hide_password(value: str) -> str:
    """value, with the password of a URL such as redis://:secret@host/0 replaced by ***, and
    a Sentinel URL's own (redis+sentinel://…?sentinel_password=secret)."""
    url = urlsplit(value)
    if not url.scheme:
        return value
    if url.password:
        url = url._replace(netloc=url.netloc.replace(f":{url.password}@", ":***@"))
    query = SENTINEL_PASSWORD.sub(r"\1***", url.query)
    return urlunsplit(url._replace(query=query))


# A Sentinel URL's password for the Sentinels themselves, in its query
SENTINEL_PASSWORD = re.compile(r"(sentinel_password=)[^&]*")

# The chat's own daphne: daphne's command line, plus bounds on what it buffers for a slow
# client and on request bodies (chatproject/chatproject/bounded_daphne.py)
CHAT_DAPHNE = "chatproject.bounded_daphne"


def daphne_command(application: str, port: int, host: str = HOST) -> list[str]:
    """daphne runs the same as `daphne -b 127.0.0.1 -p PORT chatproject.asgi:application`
    in cwd. The chat's application runs under the chat's daphne (`python -m
    chatproject.bounded_daphne`, the same arguments), any other project's under daphne itself."""
    module = CHAT_DAPHNE if application.startswith("chatproject.") else "daphne"
    return [sys.executable, "-m", module, "-b", host, "-p", str(port), application]


def uvicorn_command(application: str, port: int, host: str = HOST) -> list[str]:
    """uvicorn runs with uvloop's event loop, the sans-I/O `websockets` protocol, and no
    per-message deflate (daphne never offers it either; it costs CPU on every frame).
    Channels has no lifespan handler, so lifespan is off. uvicorn imports the application
    before it listens, so an open port means a loaded project."""
    websocket = ["--ws", "websockets-sansio", "--ws-per-message-deflate", "false"]
    command = [sys.executable, "-m", "uvicorn", "--host", host, "--port", str(port)]
    return [*command, "--loop", "uvloop", *websocket, "--lifespan", "off", application]


def runserver_command(application: str, port: int, host: str = HOST) -> list[str]:
    """runserver runs as `python manage.py runserver 127.0.0.1:PORT` in cwd. With daphne in
    INSTALLED_APPS this is daphne's development server: it reloads on code changes and logs
    every WebSocket step (HANDSHAKING, CONNECT, ...) when DEBUG is on. It serves the
    application its settings name (ASGI_APPLICATION)."""
    return [sys.executable, "manage.py", "runserver", f"{host}:{port}"]


# The programs that serve a Django project, each with the one place its command is written
SERVER_COMMANDS: dict[str, Callable[[str, int, str], list[str]]] = {
    "daphne": daphne_command,
    "uvicorn": uvicorn_command,
    "runserver": runserver_command,
}


def project_server(
    program: str,
    application: str = CHAT_APPLICATION,
    port: int | None = None,
    redis_url: str | None = None,
    cwd: Path = CHATPROJECT_DIR,
    env: Mapping[str, str] | None = None,
    settings: str = CHAT_SETTINGS,
    migrate: bool | None = None,
    database: Path | str | None = NOTEBOOK_CHAT_DATABASE,
    host: str = HOST,
) -> ServerSpec:
    """A Django project (the chat by default) served by program on 127.0.0.1 and port (a
    free one by default), in cwd.

    Its environment is this process's with DJANGO_SETTINGS_MODULE, REDIS_URL (removed if
    redis_url is None), the variables of Jupyter's proxy where there is one, and env. The
    chat's tables are created before it starts (`manage.py migrate`) unless migrate is
    False; another project's only if migrate is True. The chat keeps its messages in
    database (the notebooks' own SQLite file by default; None for the settings' default,
    chatproject/db.sqlite3), unless DJANGO_SQLITE_PATH or DATABASE_URL says otherwise. host:
    another loopback address to listen on (127.0.0.2: a second "host" of a cluster on this
    machine).
    """
    port = port or free_port()
    # Behind Jupyter's proxy (Docker, JupyterHub, Binder) the chat learns its prefix there;
    # it still listens on 127.0.0.1 only, where kernel-side clients reach it directly
    extra = {"DJANGO_SETTINGS_MODULE": settings, **proxy_environment(port), **(env or {})}
    # The chat keeps its messages, so its tables must exist first (as `make chat` does);
    # other projects (the notebooks' own) migrate when their notebook says so
    if migrate is None:
        migrate = Path(cwd) == CHATPROJECT_DIR
    command = tuple(SERVER_COMMANDS[program](application, port, host))
    environment = chat_environment(redis_url, **extra)
    if database and Path(cwd) == CHATPROJECT_DIR:
        use_database(environment, Path(database))
    return ServerSpec(program, command, port, Path(cwd), environment, migrate, host)


def use_database(environment: MutableMapping[str, str], database: Path) -> None:
    """Keep the chat's messages in database, unless the environment names one already."""
    if not {"DJANGO_SQLITE_PATH", "DATABASE_URL"} & environment.keys():
        database.parent.mkdir(parents=True, exist_ok=True)
        environment["DJANGO_SQLITE_PATH"] = str(database)


def _starter(program: str, *bound: str) -> Callable[..., BackgroundServer]:
    """start_<program>(): project_server(program, *bound, ...), started.

    Its parameters are project_server()'s after those, written there once; its signature
    says so, for help() and Jupyter's Shift-Tab.
    """

    def start(*args: Any, **kwargs: Any) -> BackgroundServer:
        spec = project_server(program, *bound, *args, **kwargs)
        # No magic: the learner sees what runs, and can type it in a terminal
        print(spec.as_typed())
        return spec.start()

    parameters = list(inspect.signature(project_server).parameters.values())
    signature = inspect.Signature(parameters[1 + len(bound) :], return_annotation=BackgroundServer)
    start.__signature__ = signature
    start.__name__ = start.__qualname__ = f"start_{program}"
    summary = f"Start {program} serving the chat (by default) on 127.0.0.1 and a free port."
    details = inspect.cleandoc(project_server.__doc__).split("\n\n", 1)[1]
    start.__doc__ = (
        f"{summary}\n\n{inspect.cleandoc(SERVER_COMMANDS[program].__doc__)}\n\n{details}"
    )
    return start


start_daphne = _starter("daphne")
start_uvicorn = _starter("uvicorn")
# runserver serves the application its settings name, so it takes none
start_runserver = _starter("runserver", CHAT_APPLICATION)


# The databases this process has already migrated: a notebook starts several servers
_migrated: set[tuple[str, ...]] = set()


def migrate_once(cwd: Path, env: Mapping[str, str]) -> None:
    """Run `python manage.py migrate` in cwd, once per database and settings module."""
    names = ("DJANGO_SETTINGS_MODULE", "DJANGO_SQLITE_PATH", "DATABASE_URL")
    database = (str(cwd), *(env.get(name, "") for name in names))
    if database in _migrated:
        return
    command = [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"]
    result = subprocess.run(command, cwd=cwd, env=dict(env), capture_output=True, text=True)
    if result.returncode != 0:
        message = _(
            "manage.py migrate failed in {cwd}:\n{errors}", cwd=cwd, errors=result.stderr[-3000:]
        )
        raise RuntimeError(message)
    _migrated.add(database)
