"""workbook/postgres.py: a PostgreSQL server of the workbook's own, on the address asked for,
in a folder whose data outlives the server when the folder is given, stopped and restarted
without losing what it committed."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import assert_japanese, require
from workbook import REPO_DIR, postgres
from workbook.ports import is_listening
from workbook.postgres import PostgresServer, PostgresUnavailable

# Another loopback address than the workbook's usual 127.0.0.1, as a host of the local cluster
OTHER_HOST = "127.0.0.5"


@pytest.fixture(scope="module")
def bin_folder() -> Path:
    folder = postgres.postgres_bin()
    require(folder is not None, "no PostgreSQL server programs (make postgres)")
    why_not = postgres.missing_server_user()
    require(why_not is None, str(why_not))
    return folder


@pytest.fixture
def kept_folder():
    """A folder for a cluster that is kept, not yet made, as build/cluster/postgres is on
    first use. Under /tmp and open to others, so that the user `postgres` reaches it when
    the tests run as root (pytest's own temporary folders are private to root)."""
    parent = Path(tempfile.mkdtemp(prefix="chat-postgres-kept-"))
    parent.chmod(0o755)
    yield parent / "cluster" / "postgres"
    PostgresServer(parent / "cluster" / "postgres").stop("immediate")
    shutil.rmtree(parent)


def test_a_kept_folder_keeps_its_rows_across_stop_and_start(bin_folder, kept_folder):
    """A row committed before a stop is there after a start in the same folder, by another
    PostgresServer on another port: the cluster is made only once."""
    with PostgresServer(kept_folder, bin_folder=bin_folder) as first:
        first.execute("CREATE TABLE notes (text text)")
        first.execute("INSERT INTO notes VALUES (%s)", ("kept",))
        made = (kept_folder / "data" / "PG_VERSION").stat().st_mtime_ns
    assert not first.is_running()
    assert (kept_folder / "data").is_dir(), "a given folder is not deleted"

    with PostgresServer(kept_folder, bin_folder=bin_folder) as second:
        assert second.fetch("SELECT text FROM notes") == [("kept",)]
    assert (kept_folder / "data" / "PG_VERSION").stat().st_mtime_ns == made


def test_a_temporary_folder_goes_with_its_server(bin_folder):
    """Without a folder the server makes a temporary one and deletes it when it stops."""
    with PostgresServer(bin_folder=bin_folder) as server:
        assert server.fetch("SELECT 1") == [(1,)]
    assert not server.folder.exists()


def test_the_server_listens_on_the_host_it_is_given(bin_folder):
    """On 127.0.0.5 the server listens there, on a port free there, and not on 127.0.0.1."""
    with PostgresServer(host=OTHER_HOST, bin_folder=bin_folder) as server:
        assert server.url().startswith(f"postgres://chat@{OTHER_HOST}:{server.port}/")
        assert is_listening(server.port, OTHER_HOST)
        assert not is_listening(server.port, "127.0.0.1")
        assert server.fetch("SELECT host(inet_server_addr())") == [(OTHER_HOST,)]


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_restart_keeps_the_port_and_the_committed_rows(bin_folder, mode):
    """A restart, clean or as after a crash, is a new postmaster on the same port with every
    committed row."""
    with PostgresServer(bin_folder=bin_folder) as server:
        server.execute("CREATE TABLE notes (text text)")
        server.execute("INSERT INTO notes VALUES ('committed')")
        before, port = server.pid, server.port
        server.restart(mode)
        assert server.is_running()
        assert server.pid != before and server.port == port
        assert server.fetch("SELECT text FROM notes") == [("committed",)]


def test_a_stopped_server_has_no_pid(bin_folder):
    with PostgresServer(bin_folder=bin_folder) as server:
        assert server.pid and os.path.exists(f"/proc/{server.pid}")
        server.stop()
        assert not server.is_running()
        assert server.pid is None


def test_a_server_running_in_the_folder_is_taken_as_it_is(bin_folder, kept_folder):
    """Another PostgresServer on the same folder (make cluster-stop, a notebook's new
    kernel) finds the running server's port, and can stop it."""
    with PostgresServer(kept_folder, host=OTHER_HOST, bin_folder=bin_folder) as running:
        other = PostgresServer(kept_folder, bin_folder=bin_folder).start()
        assert (other.host, other.port, other.pid) == (OTHER_HOST, running.port, running.pid)
        other.stop()
        assert not running.is_running()


def test_a_kept_folders_server_outlives_the_python_that_started_it(bin_folder, kept_folder):
    """One command starts it (make cluster), another stops it (make cluster-stop)."""
    start = (
        "import sys; from workbook.postgres import PostgresServer; "
        "PostgresServer(sys.argv[1], host=sys.argv[2]).start()"
    )
    subprocess.run([sys.executable, "-c", start, kept_folder, OTHER_HOST], check=True, timeout=60)
    server = PostgresServer(kept_folder, bin_folder=bin_folder).start()
    assert server.host == OTHER_HOST and server.fetch("SELECT 1") == [(1,)]
    server.stop()
    assert not server.is_running()


def test_migrate_makes_the_chats_tables(bin_folder):
    """migrate() makes the database if it is missing and runs manage.py migrate in it."""
    with PostgresServer(bin_folder=bin_folder) as server:
        url = server.migrate("chat")
        assert url == server.url("chat")
        tables = server.fetch("SELECT tablename FROM pg_tables", database="chat")
        assert ("chat_room",) in tables and ("django_migrations",) in tables


def test_an_unknown_stop_mode_is_refused(bin_folder):
    with PostgresServer(bin_folder=bin_folder) as server, pytest.raises(ValueError, match="fast"):
        server.stop("gentle")


@pytest.fixture
def no_programs(monkeypatch):
    monkeypatch.setattr(postgres, "postgres_bin", lambda: None)


def test_missing_programs_say_how_to_install_them(no_programs):
    """Without initdb, pg_ctl and postgres the error names them and make postgres."""
    with pytest.raises(PostgresUnavailable, match="make postgres") as raised:
        PostgresServer()
    assert "initdb, pg_ctl, postgres" in str(raised.value)


def test_missing_programs_in_japanese(no_programs, japanese):
    with pytest.raises(PostgresUnavailable, match="make postgres") as raised:
        PostgresServer()
    assert_japanese(str(raised.value))


def test_a_failing_program_shows_its_output(bin_folder, japanese):
    """A program that fails says which, with its own output (PostgreSQL's, in English)."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        server = PostgresServer(port=taken.getsockname()[1], bin_folder=bin_folder)
        try:
            with pytest.raises(PostgresUnavailable, match="pg_ctl start") as raised:
                server.start()
        finally:
            server.close()
    assert_japanese(str(raised.value).splitlines()[0])
    assert not server.folder.exists()


def test_root_without_the_postgres_user_is_explained_in_japanese(monkeypatch, japanese):
    """As root, PostgreSQL needs the user Debian's package makes; without it, the error
    says so instead of initdb's own refusal."""
    monkeypatch.setattr(postgres.os, "geteuid", lambda: 0)

    def no_such_user(name: str):
        raise KeyError(name)

    monkeypatch.setattr(postgres.pwd, "getpwnam", no_such_user)
    with pytest.raises(PostgresUnavailable, match=postgres.SERVER_USER) as raised:
        PostgresServer(bin_folder=Path("/nonexistent"))
    assert_japanese(str(raised.value))


def test_a_temporary_server_goes_with_a_python_that_is_killed(bin_folder):
    """kill -9 of the Python that started a temporary server: its guard stops PostgreSQL
    and deletes the folder, as close() would have."""
    script = (
        "import os, signal\n"
        "from workbook.postgres import PostgresServer\n"
        "server = PostgresServer().start()\n"
        "print(server.pid, server.port, server.folder, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_DIR, capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == -signal.SIGKILL, finished.stderr
    pid, port, folder = finished.stdout.split()
    # Within seconds: a PostgreSQL whose folder is deleted under it notices only at its
    # lock file's check, once a minute
    deadline = time.monotonic() + 10
    while psutil.pid_exists(int(pid)) or Path(folder).exists():
        assert time.monotonic() < deadline, "the temporary PostgreSQL outlived its Python"
        time.sleep(0.1)
    assert not is_listening(int(port))
