"""A throwaway PostgreSQL server for a test run: a cluster of its own in a temporary folder,
on 127.0.0.1 and a free port, its UNIX socket in that folder, stopped when the run ends
(and, should the run end otherwise, when its Python exits).

PostgreSQL refuses to run as root, and tests often run as root (containers, CI). Then its
programs run as the user `postgres` that Debian's package creates: subprocess switches to
that user in the child, which needs neither runuser nor su, nor a user of our own. The
folder is then made in /tmp and given to that user, because pytest's own temporary folders
are private to root.

The cluster lives as long as the test run, so it need not survive the machine's crash
(fsync is off). It does survive its own: a test stops it as a crash would and starts it
again, and every commit it answered is still there (synchronous_commit stays on).
"""

import atexit
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import psycopg

from workbook import CHATPROJECT_DIR
from workbook.ports import HOST, free_port

PROGRAMS = ("initdb", "pg_ctl", "postgres")
# The user PostgreSQL's programs run as when the tests run as root (Debian's package makes it)
SERVER_USER = "postgres"
# The superuser the tests connect as, without a password (trust: on 127.0.0.1, anyone on
# this machine may connect while the run lasts, to a server that holds only test data)
SUPERUSER = "chat"
# The migrated database each test's database is a copy of (CREATE DATABASE … TEMPLATE)
TEMPLATE = "migrated"
# How long starting or stopping the server may take
START_SECONDS = 30
SETTINGS = """
listen_addresses = '{host}'
port = {port}
unix_socket_directories = '{sockets}'
fsync = off
full_page_writes = off
"""


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
    """Why PostgreSQL cannot run here as the tests run, or None if it can."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        return f"PostgreSQL refuses to run as root and there is no user {SERVER_USER!r}"
    return None


class PostgresServer:
    """A PostgreSQL server of this test run's own; `with` it, or start() and stop()."""

    def __init__(self, bin_folder: Path) -> None:
        self.bin = bin_folder
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="chat-postgres-"))
        self.data = self.folder / "data"
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def __enter__(self) -> "PostgresServer":
        # Should the run end without its teardown, its Python's exit still removes the server
        atexit.register(self.remove)
        try:
            self.create_cluster()
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()

    def create_cluster(self) -> None:
        """initdb into the folder, owned by whoever the server runs as."""
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self.run("initdb", "-D", self.data, "-U", SUPERUSER, "-A", "trust", "-E", "UTF8")
        settings = SETTINGS.format(host=HOST, port=self.port, sockets=self.folder)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(settings)

    def start(self) -> None:
        """Start the server; return once it accepts connections."""
        log = self.folder / "server.log"
        self.run("pg_ctl", "start", "-D", self.data, "-l", log, "-w", "-t", str(START_SECONDS))
        self.running = True

    def stop(self) -> None:
        """Stop the server at once, as a crash would: nothing of it needs keeping."""
        if self.running:
            self.run("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w")
            self.running = False

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        atexit.unregister(self.remove)
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def run(self, program: str, *args: object) -> None:
        """Run one of PostgreSQL's programs as the server's user; its output if it fails."""
        command = [str(self.bin / program), *map(str, args)]
        as_user = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.folder, **as_user)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")

    def migrate_template(self) -> None:
        """The chat's tables, made once with manage.py migrate, in the template database."""
        self.execute(f"CREATE DATABASE {TEMPLATE}")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=CHATPROJECT_DIR,
            env={**os.environ, "DATABASE_URL": self.url(TEMPLATE)},
            check=True,
        )

    def create_database(self, name: str) -> str:
        """A new database with the chat's tables (a copy of the template); its URL."""
        self.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)

    def execute(self, statement: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(statement)


@contextmanager
def server_down(server: PostgresServer):
    """The server is down (stopped as a crash would) until the block ends, then up again on
    the same port with the same data."""
    server.stop()
    try:
        yield
    finally:
        server.start()
