"""The workbook helpers: ports, Redis, background servers and their descriptions, make chat;
their errors in English, and in Japanese for the Japanese edition."""

import contextlib
import inspect
import os
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

import workbook.__main__ as workbook_command
import workbook.redis_server as wredis
from tests.helpers import assert_japanese, require
from workbook import (
    CHATPROJECT_DIR,
    REPO_DIR,
    BackgroundServer,
    RedisServer,
    RedisUnavailable,
    ServerSpec,
    free_port,
    project_server,
    start_daphne,
    start_runserver,
    start_uvicorn,
    wait_for_port,
)
from workbook.paths import NOTEBOOK_CHAT_DATABASE
from workbook.ports import is_listening
from workbook.servers import CHAT_APPLICATION, daphne_command, migrate_once, stop_all


class TestPorts:
    def test_free_port_is_free(self):
        """free_port returns a port nothing listens on."""
        assert not is_listening(free_port())

    def test_wait_for_port_times_out(self):
        """Waiting on a port nobody opens ends with TimeoutError, not a hang."""
        with pytest.raises(TimeoutError, match="nothing listens"):
            wait_for_port(free_port(), timeout=0.3)

    def test_the_timeout_in_japanese(self, japanese):
        with pytest.raises(TimeoutError) as raised:
            wait_for_port(free_port(), timeout=0.3)
        assert_japanese(str(raised.value))


@pytest.fixture
def no_local_redis(monkeypatch, tmp_path):
    """ensure_redis sees no REDIS_URL, nothing on the default port, and a fresh .redis/."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(wredis, "DEFAULT_LOCAL_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(wredis, "REDIS_STATE_DIR", tmp_path)
    monkeypatch.setattr(wredis, "_PROJECT_URL_FILE", tmp_path / "redis.url")


class TestRedis:
    def test_private_server_starts_and_stops(self, tmp_path):
        """RedisServer runs a real redis-server on 127.0.0.1 and stops it on exit."""
        require(wredis.server_binary() is not None, "no redis-server binary")
        with RedisServer(tmp_path) as server:
            assert wredis.server_version(server.url) >= wredis.MINIMUM_VERSION
        assert wredis.server_version(server.url) is None

    def test_redis_url_wins(self, monkeypatch, redis_url):
        """A reachable REDIS_URL is used as it is."""
        monkeypatch.setenv("REDIS_URL", redis_url)
        assert wredis.ensure_redis(log=lambda _: None) == redis_url

    def test_unreachable_redis_url_is_an_error(self, monkeypatch):
        """A REDIS_URL where nothing answers is reported, not silently replaced."""
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
        with pytest.raises(RedisUnavailable, match="no Redis answers"):
            wredis.ensure_redis(log=lambda _: None)

    def test_starts_the_project_server_once(self, no_local_redis):
        """With keep_running, ensure_redis starts the shared server, reuses it, stop ends it."""
        require(wredis.server_binary() is not None, "no redis-server binary")
        try:
            url = wredis.ensure_redis(keep_running=True, log=lambda _: None)
            assert wredis.server_version(url) is not None
            assert wredis.ensure_redis(log=lambda _: None) == url
        finally:
            assert wredis.stop_project_server()
        assert wredis.server_version(url) is None

    def test_a_server_started_for_a_process_stops_with_it(self, no_local_redis):
        """Without keep_running (a notebook), the server started ends with its process."""
        require(wredis.server_binary() is not None, "no redis-server binary")
        # The child sees no local Redis and no project server, like the test itself
        script = (
            "import workbook.redis_server as w\n"
            f"w.DEFAULT_LOCAL_URL = {wredis.DEFAULT_LOCAL_URL!r}\n"
            f"w._PROJECT_URL_FILE = w.Path({str(wredis._PROJECT_URL_FILE)!r})\n"
            "print(w.ensure_redis(log=lambda _: 0))"
        )
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        url = result.stdout.strip()
        assert url.startswith("redis://127.0.0.1:")
        assert wredis.server_version(url) is None

    def test_without_starting_says_how_to_get_redis(self, no_local_redis):
        """When it may not start a server, the error names the ways to get Redis."""
        with pytest.raises(RedisUnavailable, match="docker compose up -d redis"):
            wredis.ensure_redis(start=False, log=lambda _: None)

    def test_redis_unavailable_in_japanese(self, japanese, no_local_redis):
        """No Redis to be found: what happened and each way to get one, in Japanese; the
        commands as they are typed."""
        with pytest.raises(RedisUnavailable) as raised:
            wredis.ensure_redis(start=False, log=lambda _: None)
        assert_japanese(str(raised.value))
        assert "docker compose up -d redis" in str(raised.value)

    def test_an_unreachable_redis_url_in_japanese(self, japanese, monkeypatch):
        url = f"redis://127.0.0.1:{free_port()}/0"
        monkeypatch.setenv("REDIS_URL", url)
        with pytest.raises(RedisUnavailable) as raised:
            wredis.ensure_redis(log=lambda _: None)
        assert_japanese(str(raised.value))
        assert url in str(raised.value)

    def test_which_redis_in_japanese(self, japanese, monkeypatch, redis_url):
        """The line a notebook prints about the Redis it uses."""
        said = []
        monkeypatch.setenv("REDIS_URL", redis_url)
        wredis.ensure_redis(log=said.append)
        (line,) = said
        assert line.startswith("Redis: ")
        assert_japanese(line.removeprefix("Redis: "))

    def test_a_redis_that_does_not_start_in_japanese(self, japanese, tmp_path, monkeypatch):
        monkeypatch.setattr(wredis, "server_binary", lambda: "/bin/false")
        with pytest.raises(RedisUnavailable) as raised:
            RedisServer(tmp_path).start(timeout=5)
        assert_japanese(str(raised.value))
        assert str(tmp_path / "redis.log") in str(raised.value)

    def test_command_line_prints_only_the_url(self, redis_url):
        """`python -m workbook redis ensure` prints the URL alone on stdout, for $(...)."""
        result = subprocess.run(
            [sys.executable, "-m", "workbook", "redis", "ensure"],
            env={**os.environ, "REDIS_URL": redis_url},
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout == redis_url + "\n"
        assert "using REDIS_URL" in result.stderr


def http_server(port: int) -> BackgroundServer:
    command = [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    return BackgroundServer(command, port, name="http")


# A server that listens on the port given, says so, and exits a second later
SHORT_LIVED = (
    "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])));"
    " s.listen(); print('up'); time.sleep(1)"
)


class TestBackgroundServer:
    def test_start_log_and_stop(self):
        """A server starts on its port, its output is readable, and stop ends it."""
        port = free_port()
        with http_server(port) as server:
            assert server.is_running()
            assert "Serving HTTP" in server.log()
        assert not server.is_running()
        assert not is_listening(port)

    def test_new_log_lines_returns_only_what_is_new(self):
        """new_log_lines shows what happened since it was last called."""
        with http_server(free_port()) as server:
            assert any("Serving HTTP" in line for line in server.new_log_lines())
            assert server.new_log_lines() == []

    def test_new_log_lines_waits_for_what_an_action_causes(self):
        """With until=, new_log_lines waits for the line a request causes, then returns it."""
        with http_server(free_port()) as server:
            server.new_log_lines()
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(server.url + "/no-such-file")
            lines = server.new_log_lines(until="no-such-file")
            assert any('"GET /no-such-file HTTP/1.1" 404' in line for line in lines)

    def test_new_log_lines_times_out_when_nothing_comes(self):
        """Waiting for a line that never comes raises TimeoutError, not a silent empty list."""
        with http_server(free_port()) as server, pytest.raises(TimeoutError, match="never"):
            server.new_log_lines(until="never", timeout=0.3)

    def test_a_failing_command_raises_with_its_output(self):
        """A server that dies at start raises RuntimeError that shows its output."""
        command = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]
        with pytest.raises(RuntimeError, match="boom"):
            BackgroundServer(command, free_port(), name="broken").start(timeout=3)

    def test_a_command_that_exits_at_start_is_reported_at_once(self):
        """start() notices the exit while it waits: "exited at start", not, after the whole
        timeout, "did not start"."""
        command = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]
        with pytest.raises(RuntimeError, match="broken exited at start:\nboom"):
            BackgroundServer(command, free_port(), name="broken").start(timeout=120)

    def test_a_failing_command_in_japanese(self, japanese):
        """The explanation in Japanese; the server's own log after it as it was written."""
        command = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]
        with pytest.raises(RuntimeError) as raised:
            BackgroundServer(command, free_port(), name="broken").start(timeout=3)
        explanation, *log = str(raised.value).splitlines()
        assert_japanese(explanation)
        assert "broken" in explanation
        assert log == ["boom"]

    def test_a_busy_port_is_refused(self):
        """Another program on the port would answer in the server's place: the server does
        not start, and the error says why and what to do."""
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            server = http_server(port)
            with pytest.raises(RuntimeError, match=f"port {port} is busy"):
                server.start()
        assert server.process is None

    def test_a_busy_port_in_japanese(self, japanese):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            with pytest.raises(RuntimeError) as raised:
                http_server(busy.getsockname()[1]).start()
        assert_japanese(str(raised.value))

    def test_a_log_line_that_never_comes_in_japanese(self, japanese):
        with http_server(free_port()) as server, pytest.raises(TimeoutError) as raised:
            server.new_log_lines(until="never", timeout=0.3)
        assert_japanese(str(raised.value))
        assert "'never'" in str(raised.value)

    def test_a_server_that_stopped_in_japanese(self, japanese):
        """Waiting on the log of a server that has died says so, with its log."""
        port = free_port()
        command = [sys.executable, "-u", "-c", SHORT_LIVED, str(port)]
        server = BackgroundServer(command, port, name="short")
        with server, pytest.raises(RuntimeError) as raised:
            server.wait_for_log("never", timeout=10)
        explanation, *log = str(raised.value).splitlines()
        assert_japanese(explanation)
        assert log == ["up"]

    def test_a_failing_migrate_in_japanese(self, japanese, tmp_path):
        """A folder without manage.py: the explanation in Japanese, Python's error after it."""
        with pytest.raises(RuntimeError) as raised:
            migrate_once(tmp_path, dict(os.environ))
        explanation, *errors = str(raised.value).splitlines()
        assert_japanese(explanation)
        assert "manage.py" in "".join(errors)

    def test_stop_all_stops_forgotten_servers(self):
        """The atexit guard stops every server that was never stopped."""
        server = http_server(free_port()).start()
        stop_all()
        assert not server.is_running()

    def test_logs_go_when_the_process_that_started_the_servers_exits(self, tmp_path):
        """A server's log is readable while its process runs, and goes with that process,
        after its servers have stopped: nothing piles up in the temporary folder."""
        script = (
            "import sys, time\n"
            "from workbook import BackgroundServer, free_port\n"
            "port = free_port()\n"
            "command = [sys.executable, '-u', '-m', 'http.server', '-b', '127.0.0.1', str(port)]\n"
            "server = BackgroundServer(command, port, name='http').start()\n"
            "while 'Serving HTTP' not in server.log(): time.sleep(0.05)\n"
            "print(server.log_path, server.pid, flush=True)\n"
        )
        finished = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO_DIR,
            env={**os.environ, "TMPDIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert finished.returncode == 0, finished.stderr
        log_path, pid = finished.stdout.split()
        assert Path(log_path).parent.parent == tmp_path
        assert not psutil.pid_exists(int(pid))
        assert list(tmp_path.iterdir()) == []

    def test_kill_is_a_crash(self):
        """kill() ends the server at once with SIGKILL, as a crash would."""
        server = http_server(free_port()).start()
        server.kill()
        assert not server.is_running()
        # Shown in a cell, a URL would become a link to "/": the repr names no page
        assert repr(server) == f"<http on 127.0.0.1:{server.port} pid={server.pid} stopped>"
        assert server.process.returncode == -signal.SIGKILL


ARGUMENTS_8001 = "-b 127.0.0.1 -p 8001 chatproject.asgi:application"


class TestServerSpec:
    def test_daphne_command_line_is_readable(self):
        """A described server shows its command as a shell would take it; the chat runs
        under its own daphne (daphne's arguments, with its bounds)."""
        server = project_server("daphne", port=8001)
        python = shlex.quote(sys.executable)
        assert server.command_line == f"{python} -m chatproject.bounded_daphne {ARGUMENTS_8001}"
        assert "daphne" in repr(server)
        assert "PATH" not in repr(server), "the environment stays out of the repr"

    def test_other_projects_run_under_daphne_itself(self):
        """A project of the notebooks' (not the chat) has no bounded daphne: plain daphne."""
        command = daphne_command("asgi_test.asgi:application", 8001)
        assert command[1:3] == ["-m", "daphne"]

    def test_environment_names_the_project_and_only_the_redis_asked_for(self, monkeypatch):
        """The caller's REDIS_URL never leaks in: redis_url=None means no Redis."""
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
        server = project_server("uvicorn", redis_url=None, env={"CHAT_ROOM_HUB": "0"})
        assert "REDIS_URL" not in server.env
        assert server.env["CHAT_ROOM_HUB"] == "0"
        assert server.env["DJANGO_SETTINGS_MODULE"] == "chatproject.settings"
        assert server.env["PYTHONUNBUFFERED"] == "1"
        assert (
            project_server("daphne", redis_url="redis://x:1/0").env["REDIS_URL"] == "redis://x:1/0"
        )

    def test_the_command_is_shown_as_typed(self, monkeypatch):
        """as_typed(): the folder, the variables added (a password hidden), the command."""
        monkeypatch.delenv("REDIS_URL", raising=False)
        server = project_server("daphne", port=8001, redis_url="redis://:hush@127.0.0.1:1/0")
        typed = server.as_typed()
        assert typed.startswith(f"cd {CHATPROJECT_DIR} && ")
        assert "REDIS_URL=redis://:***@127.0.0.1:1/0" in typed
        assert "hush" not in typed and "PYTHONUNBUFFERED" not in typed
        assert typed.endswith(f" {server.command_line}")

    def test_a_secret_variable_is_never_shown(self, monkeypatch):
        """A secret key, a password or a token in the environment: its name, not its value."""
        monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
        secrets = {"DJANGO_SECRET_KEY": "k3y", "PGPASSWORD": "pa55", "API_TOKEN": "t0k"}
        typed = project_server("daphne", env=secrets).as_typed()
        assert all(f"{name}=***" in typed for name in secrets)
        assert not {"k3y", "pa55", "t0k"} & set(typed.replace("=", " ").split())

    def test_the_notebooks_chat_keeps_its_own_database(self, monkeypatch):
        """The notebooks' chat writes workspace/chat.sqlite3, make chat's (database=None) the
        settings' chatproject/db.sqlite3, and a database named in the environment wins."""
        monkeypatch.delenv("DJANGO_SQLITE_PATH", raising=False)
        monkeypatch.delenv("DATABASE_URL", raising=False)
        notebooks = project_server("daphne").env["DJANGO_SQLITE_PATH"]
        assert notebooks == str(NOTEBOOK_CHAT_DATABASE)
        assert "DJANGO_SQLITE_PATH" not in project_server("daphne", database=None).env
        mine = project_server("daphne", env={"DATABASE_URL": "postgres://h/chat"}).env
        assert "DJANGO_SQLITE_PATH" not in mine
        monkeypatch.setenv("DJANGO_SQLITE_PATH", "/elsewhere.sqlite3")
        assert project_server("daphne").env["DJANGO_SQLITE_PATH"] == "/elsewhere.sqlite3"

    def test_a_database_may_be_named_as_text(self, monkeypatch, tmp_path):
        """database="…" works as a Path does: what a learner types in a cell."""
        monkeypatch.delenv("DJANGO_SQLITE_PATH", raising=False)
        monkeypatch.delenv("DATABASE_URL", raising=False)
        named = str(tmp_path / "mine" / "chat.sqlite3")
        assert project_server("daphne", database=named).env["DJANGO_SQLITE_PATH"] == named
        assert (tmp_path / "mine").is_dir()

    def test_only_the_chat_migrates_unless_told(self, tmp_path):
        """The chat's tables are made first; another project's only when asked."""
        assert project_server("daphne").migrate
        assert not project_server("daphne", migrate=False).migrate
        assert not project_server("daphne", cwd=tmp_path).migrate
        assert project_server("runserver", cwd=tmp_path, migrate=True).migrate

    def test_start_functions_take_project_servers_parameters(self):
        """start_daphne() and start_uvicorn() take project_server()'s parameters after the
        program; start_runserver() no application, since its settings name it."""
        described = list(inspect.signature(project_server).parameters.values())
        for start, skipped in ((start_daphne, 1), (start_uvicorn, 1), (start_runserver, 2)):
            assert list(inspect.signature(start).parameters.values()) == described[skipped:]
            assert start.__name__ in repr(start)
        assert "runserver 127.0.0.1:PORT" in start_runserver.__doc__

    def test_a_started_server_keeps_its_command(self, tmp_path):
        """What a BackgroundServer runs is the description's command."""
        port = free_port()
        command = (sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", str(port))
        server = ServerSpec("http", command, port, tmp_path, dict(os.environ)).start()
        try:
            assert server.command == list(command)
            assert server.cwd == tmp_path
            assert server.is_running()
        finally:
            server.stop()


class Became(Exception):
    """Raised by a stand-in for ServerSpec.exec(): the process would be the server now."""


class TestChatCommand:
    """`python -m workbook chat PORT`, which `make chat` runs."""

    @pytest.fixture
    def became(self, monkeypatch):
        """The server the command would turn into, instead of turning into it."""
        became = []

        def exec_(server):
            became.append(server)
            raise Became

        monkeypatch.setattr(ServerSpec, "exec", exec_)
        monkeypatch.setattr(ServerSpec, "create_tables", lambda server: None)
        monkeypatch.delenv("WORKBOOK_JUPYTER_URL", raising=False)
        monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
        return became

    def test_becomes_daphne_serving_the_chat_with_redis(self, monkeypatch, capsys, became):
        """With Redis: daphne's command line as start_daphne() builds it, REDIS_URL set."""
        monkeypatch.setattr(workbook_command, "ensure_redis", lambda **_: "redis://127.0.0.1:1/0")
        with pytest.raises(Became):
            workbook_command.main(["chat", "8001"])
        (server,) = became
        assert server.command == tuple(daphne_command(CHAT_APPLICATION, 8001))
        assert server.cwd == CHATPROJECT_DIR
        assert server.env["REDIS_URL"] == "redis://127.0.0.1:1/0"
        assert (
            "The chat is at http://127.0.0.1:8001/chat/ (Ctrl-C stops it)"
            in capsys.readouterr().out
        )

    def test_without_redis_the_chat_runs_on_the_in_memory_layer(self, monkeypatch, capsys, became):
        """No Redis: the reason, a line saying so, and no REDIS_URL for the chat."""
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")

        def no_redis(**_):
            raise RedisUnavailable("no Redis here")

        monkeypatch.setattr(workbook_command, "ensure_redis", no_redis)
        with pytest.raises(Became):
            workbook_command.main(["chat", "8001"])
        assert "REDIS_URL" not in became[0].env
        said = capsys.readouterr()
        assert "no Redis here" in said.err
        assert "==> No Redis: the chat runs with the in-memory layer" in said.out

    def test_what_it_says_in_japanese(self, japanese, monkeypatch, capsys, became):
        """No Redis, then the chat's link: each line in Japanese."""

        def no_redis(**_):
            raise RedisUnavailable("no Redis here")

        monkeypatch.setattr(workbook_command, "ensure_redis", no_redis)
        with pytest.raises(Became):
            workbook_command.main(["chat", "8001"])
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 2
        for line in lines:
            assert line.startswith("==> ")
            assert_japanese(line.removeprefix("==> "))
        assert "http://127.0.0.1:8001/chat/" in lines[1]

    def test_redis_stop_in_japanese(self, japanese, no_local_redis, capsys):
        """`python -m workbook redis stop` (make stop) with nothing to stop."""
        assert workbook_command.main(["redis", "stop"]) == 0
        said = capsys.readouterr().err.strip()
        assert said.startswith("Redis: ")
        assert_japanese(said.removeprefix("Redis: "))

    @pytest.mark.live
    def test_serves_in_the_foreground_and_stops_on_ctrl_c(self, redis_url, tmp_path):
        """The command's own process becomes daphne; it serves the chat; SIGINT stops it."""
        port = free_port()
        clean = {
            name: value
            for name, value in os.environ.items()
            if name not in ("WORKBOOK_JUPYTER_URL", "JUPYTERHUB_SERVICE_PREFIX")
        }
        environment = {**clean, "REDIS_URL": redis_url, "DJANGO_SQLITE_PATH": str(tmp_path / "db")}
        command = [sys.executable, "-m", "workbook", "chat", str(port)]
        chat = subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            wait_for_port(port, timeout=60)
            assert "chatproject.bounded_daphne" in psutil.Process(chat.pid).cmdline()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/chat/", timeout=10) as page:
                assert page.status == 200
            chat.send_signal(signal.SIGINT)
            # TimeoutExpired if Ctrl-C did not stop it
            chat.wait(timeout=20)
            assert f"The chat is at http://127.0.0.1:{port}/chat/" in chat.stdout.read()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(chat.pid, signal.SIGKILL)
            chat.wait()
        assert not is_listening(port)


@pytest.mark.live
class TestChatServers:
    def test_the_chat_gets_its_tables_before_it_serves(self, tmp_path, capsys):
        """start_daphne() prints the command it runs and migrates a new chat database
        first: a room page can be served."""
        database = tmp_path / "new.sqlite3"
        server = start_daphne(env={"DJANGO_SQLITE_PATH": str(database)})
        shown = capsys.readouterr().out
        assert f"DJANGO_SQLITE_PATH={database}" in shown
        assert f" -p {server.port} chatproject.asgi:application" in shown
        try:
            with urllib.request.urlopen(server.url + "/chat/demoroom/") as response:
                assert response.status == 200
        finally:
            server.stop()
        with sqlite3.connect(database) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert {"chat_room", "chat_message", "django_session"} <= tables

    def test_migrate_false_leaves_the_database_alone(self, tmp_path):
        database = tmp_path / "untouched.sqlite3"
        start_daphne(env={"DJANGO_SQLITE_PATH": str(database)}, migrate=False).stop()
        assert not database.exists() or database.stat().st_size == 0


class TestSetupDjango:
    def run(self, code: str, **env: str) -> subprocess.CompletedProcess:
        environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env={**environment, **env}
        )

    def test_a_fresh_process_gets_the_chat_project_and_its_redis_layer(self):
        """setup_django imports chatproject like manage.py would, with the Redis layer asked for."""
        result = self.run(
            "from workbook import setup_django; setup_django(redis_url='redis://127.0.0.1:1/0');"
            "from django.conf import settings; import chat;"
            "print(settings.CHANNEL_LAYERS['default']['BACKEND'])"
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "chatproject.layers.ChatRedisLayer"

    def test_other_settings_after_setup_say_restart(self):
        """Switching projects inside one process is refused with a clear message."""
        result = self.run(
            "from workbook import setup_django; setup_django(); setup_django('other.settings')"
        )
        assert "restart the kernel" in result.stderr

    @pytest.mark.parametrize(
        ("language", "says"), [("en", "This field is required"), ("ja", "このフィールドは必須です")]
    )
    def test_djangos_own_messages_speak_the_notebooks_language(self, language, says):
        """A form's errors shown in a cell are in the edition's language, as its page's are."""
        result = self.run(
            "from workbook import setup_django; setup_django();"
            "from accounts.forms import SignUpForm; print(SignUpForm(data={}).errors)",
            WORKBOOK_LANGUAGE=language,
        )
        assert result.returncode == 0, result.stderr
        assert says in result.stdout

    def test_other_settings_after_setup_say_restart_in_japanese(self):
        result = self.run(
            "from workbook import setup_django; setup_django(); setup_django('other.settings')",
            WORKBOOK_LANGUAGE="ja",
        )
        assert "カーネルを再起動してください" in result.stderr.splitlines()[-1]
