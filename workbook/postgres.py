"""A PostgreSQL server of the workbook's own: a private cluster made with initdb, on a loopback
address and a free port, its UNIX socket in its folder. The tests start one for their run,
and the local cluster and notebooks start one on an address of their own.

Its folder is a new temporary one, deleted with the server, or a folder given (such as the
git-ignored build/cluster/postgres) where the data stays between stops and starts: the
cluster is made there only once, and its server runs until it is stopped, from this Python
or another. scripts/ensure-postgres (make postgres)
installs the server programs when they are missing.

PostgreSQL refuses to run as root, and tests often run as root (containers, CI). Then its
programs run as the user `postgres` that Debian's package creates: subprocess switches to
that user in the child, which needs neither runuser nor su, nor a user of our own. The
folder is then given to that user, and a temporary one is made in /tmp, because pytest's own
temporary folders are private to root.

Such a server holds workshop and test data only, so it need not survive the machine's crash
(fsync is off). It does survive its own: stopped as a crash would (stop("immediate")) and
started again, every commit it answered is still there (synchronous_commit stays on).
"""

import atexit
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from . import guard
from .i18n import _
from .paths import CHATPROJECT_DIR
from .ports import HOST, free_port

PROGRAMS = ("initdb", "pg_ctl", "postgres")
# The user PostgreSQL's programs run as when the workbook runs as root (Debian's package
# makes it)
SERVER_USER = "postgres"
# The superuser one connects as, without a password (trust: on a loopback address, anyone
# on this machine may connect, to a server that holds only workshop or test data)
SUPERUSER = "chat"
# How long starting or stopping the server may take, in seconds
START_SECONDS = 30
# pg_ctl's ways to stop: "fast" ends the sessions and writes a checkpoint; "immediate"
# stops at once, as a crash would, and the next start recovers from the log
STOP_MODES = ("smart", "fast", "immediate")
# Written once, when the cluster is made
SETTINGS = """
fsync = off
full_page_writes = off
include_if_exists = '{listen}'
"""
# Where the server listens, written at each start (the port may change between runs)
LISTEN_FILE = "listen.conf"
LISTEN = """listen_addresses = '{host}'
port = {port}
unix_socket_directories = '{sockets}'
"""


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot run here; the message says what to do about it."""


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs, as scripts/ensure-postgres finds it: on
    PATH, else Debian's newest version; None if there is none."""
    on_path = shutil.which("pg_ctl")
    folders = [Path(on_path).parent] if on_path else []
    folders += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for folder in folders:
        if all(os.access(folder / program, os.X_OK) for program in PROGRAMS):
            return folder
    return None


def version(folder: Path) -> tuple[int, ...]:
    """/usr/lib/postgresql/15/bin: (15,)."""
    return tuple(int(part) for part in folder.parent.name.split(".") if part.isdigit())


def missing_server_user() -> str | None:
    """Why PostgreSQL cannot run here as this process runs, or None if it can."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        return _(
            "PostgreSQL refuses to run as root and there is no user {user} to run it as",
            user=SERVER_USER,
        )
    return None


def no_programs_found() -> str:
    """What PostgresUnavailable says when the server programs are missing."""
    return _(
        "PostgreSQL's server programs ({programs}) are not installed. Install them with "
        "make postgres (scripts/ensure-postgres), or put the folder that holds them on PATH.",
        programs=", ".join(PROGRAMS),
    )


def quoted(value: object) -> str:
    """A string value for postgresql.conf."""
    return str(value).replace("'", "''")


class PostgresServer:
    """A PostgreSQL server of the workbook's own; `with` it, or start() and stop().

    folder: None for a new temporary folder, removed with the server, which stops when this
    Python exits at the latest. Or a folder whose cluster is kept, made there on first use:
    its server runs until stop(), this Python's exit or not, so that one command can start
    it and another stop it. host: a loopback address. port: None for one free on that host.
    """

    def __init__(
        self,
        folder: Path | str | None = None,
        host: str = HOST,
        port: int | None = None,
        bin_folder: Path | None = None,
    ) -> None:
        self.bin = bin_folder or postgres_bin()
        if self.bin is None:
            raise PostgresUnavailable(no_programs_found())
        if why_not := missing_server_user():
            raise PostgresUnavailable(why_not)
        self.host = host
        self.port = port or free_port(host)
        self.temporary = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="chat-postgres-") if folder is None else folder)
        self.folder = self.folder.resolve()
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"

    def __repr__(self) -> str:
        return f"<PostgresServer {self.host}:{self.port} {self.folder}>"

    def url(self, database: str = "postgres") -> str:
        """A DATABASE_URL for one of the server's databases."""
        return f"postgres://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def __enter__(self) -> "PostgresServer":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def has_cluster(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def create_cluster(self) -> None:
        """initdb into the folder, owned by whoever the server runs as."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self.run("initdb", "-D", self.data, "-U", SUPERUSER, "-A", "trust", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(SETTINGS.format(listen=LISTEN_FILE))

    def start(self) -> "PostgresServer":
        """Start the server, making its cluster first if the folder has none; return once it
        accepts connections. A server already running in the folder is taken as it is."""
        if self.temporary:
            # Should this Python end without removing it, its exit still does
            atexit.register(self.close)
        if not self.has_cluster():
            self.create_cluster()
        if self.is_running():
            self.adopt()
            return self
        listen = LISTEN.format(host=quoted(self.host), port=self.port, sockets=quoted(self.folder))
        (self.data / LISTEN_FILE).write_text(listen)
        self.run("pg_ctl", "start", "-D", self.data, "-l", self.log, "-w", "-t", START_SECONDS)
        if self.temporary:
            # Should this Python die without its exit handlers, the guard stops the server
            # and deletes the folder; a kept folder's server outlives it by design
            guard.watch_process(int(self.postmaster_pid()[0]))
            guard.remove_folder(self.folder)
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: "fast" ends its sessions and writes its data out; "immediate"
        stops it at once, as a crash would (the next start recovers)."""
        if mode not in STOP_MODES:
            raise ValueError(
                _("stop mode {mode}: choose one of {modes}", mode=mode, modes=", ".join(STOP_MODES))
            )
        if self.is_running():
            pid = int(self.postmaster_pid()[0])
            self.run("pg_ctl", "stop", "-D", self.data, "-m", mode, "-w", "-t", START_SECONDS)
            guard.forget(pid)

    def restart(self, mode: str = "fast") -> None:
        """Stop the server and start it again, on the same address and port."""
        self.stop(mode)
        self.start()

    def is_running(self) -> bool:
        """Whether a server runs in the folder (pg_ctl status)."""
        if not self.has_cluster():
            return False
        return self.run("pg_ctl", "status", "-D", self.data, check=False).returncode == 0

    @property
    def pid(self) -> int | None:
        """The postmaster's process id, or None when the server is not running."""
        return int(self.postmaster_pid()[0]) if self.is_running() else None

    def postmaster_pid(self) -> list[str]:
        """The lines of postmaster.pid: pid, folder, start time, port, socket folder, address…"""
        return (self.data / "postmaster.pid").read_text().splitlines()

    def adopt(self) -> None:
        """Take the address and port of the server already running in the folder."""
        lines = self.postmaster_pid()
        self.port = int(lines[3])
        self.host = lines[5].split(",")[0].strip() or self.host

    def close(self) -> None:
        """Stop the server; a temporary folder is deleted with it, a given one is kept."""
        atexit.unregister(self.close)
        if not self.temporary:
            self.stop()
            return
        try:
            # Nothing of a temporary cluster needs keeping
            self.stop("immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def run(self, program: str, *args: object, check: bool = True) -> subprocess.CompletedProcess:
        """Run one of PostgreSQL's programs as the server's user; its output if it fails."""
        command = [str(self.bin / program), *map(str, args)]
        as_user = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.folder, **as_user)
        if check and done.returncode:
            output = done.stdout + done.stderr
            raise PostgresUnavailable(
                _("{command} failed:\n{output}", command=" ".join(command), output=output)
            )
        return done

    def migrate(self, database: str = "chat") -> str:
        """The chat's tables in database (made if missing), by manage.py migrate; its URL."""
        if not self.fetch("SELECT 1 FROM pg_database WHERE datname = %s", (database,)):
            self.execute(f'CREATE DATABASE "{database}"')
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=CHATPROJECT_DIR,
            env={**os.environ, "DATABASE_URL": self.url(database)},
            check=True,
        )
        return self.url(database)

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database, a copy of template if given; its URL."""
        copy = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def execute(self, statement: str, params: tuple = (), database: str = "postgres") -> None:
        """Run one statement, committed at once."""
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            connection.execute(statement, params or None)

    def fetch(self, query: str, params: tuple = (), database: str = "postgres") -> list[tuple]:
        """The rows a query returns."""
        with psycopg.connect(self.url(database), autocommit=True) as connection:
            return connection.execute(query, params or None).fetchall()
