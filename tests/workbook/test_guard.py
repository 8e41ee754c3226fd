"""The guard: servers stop even when the Python that started them dies without exit handlers
(kill -9, the out-of-memory killer, Jupyter force-killing a kernel)."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from tests.helpers import require
from workbook import REPO_DIR
from workbook import guard as guard_module
from workbook.guard import guard
from workbook.lab import JUPYTER_SETTINGS_DIR
from workbook.ports import is_listening
from workbook.redis_server import server_binary

# A Python that starts an HTTP server (and Redis if asked), says what it started, then is
# killed with SIGKILL: no atexit handler runs
KILLED_WITH_SERVERS = """
import json, os, signal, sys, time, tempfile
from pathlib import Path
from workbook import BackgroundServer, RedisServer, free_port
from workbook.servers import logs_folder
port = free_port()
command = [sys.executable, '-u', '-m', 'http.server', '-b', '127.0.0.1', str(port)]
server = BackgroundServer(command, port, name='http').start()
started = {"http": server.pid, "port": port, "logs": str(logs_folder())}
if sys.argv[1] == "redis":
    redis = RedisServer(Path(tempfile.mkdtemp())).start()
    started.update(redis=redis.process.pid, redis_port=redis.port)
print(json.dumps(started), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def run_killed(with_redis: bool) -> dict:
    finished = subprocess.run(
        [sys.executable, "-c", KILLED_WITH_SERVERS, "redis" if with_redis else "http"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == -signal.SIGKILL, finished.stderr
    return json.loads(finished.stdout)


def guards_of(marker: str) -> list[psutil.Process]:
    """Guard processes still running whose environment carries GUARD_TEST=marker."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            command = process.info["cmdline"] or ()
            is_guard = any(part.endswith("workbook/guard.py") for part in command)
            if is_guard and process.environ().get("GUARD_TEST") == marker:
                found.append(process)
        except psutil.Error:
            continue
    return found


def test_servers_stop_when_their_python_is_killed():
    """kill -9 of the Python that started a server: the guard stops the server and removes the
    logs folder, then exits itself."""
    started = run_killed(with_redis=False)
    wait_until(lambda: not psutil.pid_exists(started["http"]), 20, "the server outlived its Python")
    assert not is_listening(started["port"])
    wait_until(lambda: not Path(started["logs"]).exists(), 10, "the logs folder was left")


def test_a_kernel_jupyter_kills_takes_its_chat_server_with_it(tmp_path):
    """The lab's kernel starts the chat's daphne, as the notebooks do; Jupyter then kills the
    kernel (SIGKILL to its process group, as when it does not answer a shutdown request):
    daphne stops too."""
    specs = KernelSpecManager(kernel_dirs=[str(JUPYTER_SETTINGS_DIR / "kernels")])
    kernel = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    kernel.start_kernel(cwd=str(REPO_DIR))
    client = kernel.client()
    printed = []
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        code = (
            "from pathlib import Path\nfrom workbook import start_daphne\n"
            f"server = start_daphne(database=Path({str(tmp_path / 'chat.sqlite3')!r}))\n"
            "print('started', server.pid, server.port)\n"
        )

        def keep_output(message):
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])

        reply = client.execute_interactive(code, timeout=120, output_hook=keep_output)
        assert reply["content"]["status"] == "ok", reply["content"]
        pid, port = map(int, re.search(r"started (\d+) (\d+)", "".join(printed)).groups())
        assert is_listening(port)
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
    wait_until(lambda: not psutil.pid_exists(pid), 20, "daphne outlived its kernel")
    assert not is_listening(port)


def test_a_redis_started_by_a_killed_python_stops_too():
    """A RedisServer shares its Python's process group: the guard stops that process alone."""
    require(server_binary() is not None, "no redis-server binary")
    started = run_killed(with_redis=True)
    wait_until(lambda: not psutil.pid_exists(started["redis"]), 20, "Redis outlived its Python")
    assert not is_listening(started["redis_port"])
    wait_until(lambda: not psutil.pid_exists(started["http"]), 20, "the server outlived its Python")


def test_the_guard_leaves_with_a_python_that_exits_normally():
    """A Python that stops its servers and exits takes its guard with it at once."""
    script = (
        "import sys\n"
        "from workbook import BackgroundServer, free_port\n"
        "port = free_port()\n"
        "command = [sys.executable, '-m', 'http.server', '-b', '127.0.0.1', str(port)]\n"
        "BackgroundServer(command, port, name='http').start()\n"
    )
    marker = str(os.getpid())
    finished = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_DIR,
        env={**os.environ, "GUARD_TEST": marker},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    wait_until(lambda: not guards_of(marker), 10, "the guard outlived its Python")


def in_own_session(*command: str) -> subprocess.Popen:
    return subprocess.Popen(command, start_new_session=True)


def test_the_guard_stops_what_is_listed_and_not_what_was_forgotten(tmp_path):
    """At the end of its lines: listed groups and processes get SIGTERM, forgotten ones
    nothing; listed folders go."""
    listed = in_own_session("sleep", "60")
    alone = in_own_session("sleep", "60")
    forgotten = in_own_session("sleep", "60")
    folder = tmp_path / "logs"
    folder.mkdir()
    try:
        guard(
            [
                f"group {listed.pid}\n",
                f"process {alone.pid}\n",
                f"group {forgotten.pid}\n",
                f"folder {folder}\n",
                f"forget {forgotten.pid}\n",
            ]
        )
        assert listed.wait(5) == -signal.SIGTERM
        assert alone.wait(5) == -signal.SIGTERM
        assert forgotten.poll() is None
        assert not folder.exists()
    finally:
        for process in (listed, alone, forgotten):
            process.kill()
            process.wait()


def test_a_server_deaf_to_sigterm_is_killed_after_the_grace(monkeypatch):
    """A group that ignores SIGTERM gets SIGKILL once the grace has passed."""
    monkeypatch.setattr(guard_module, "GRACE_SECONDS", 0.5)
    deaf = in_own_session("sh", "-c", "trap '' TERM; sleep 60 & wait")
    try:
        # The shell has set its trap once it has started its child
        wait_until(lambda: psutil.Process(deaf.pid).children(), 10, "the shell did not start")
        started = time.monotonic()
        guard([f"group {deaf.pid}\n"])
        assert deaf.wait(5) == -signal.SIGKILL
        assert time.monotonic() - started >= 0.5
    finally:
        deaf.kill()
        deaf.wait()


@pytest.fixture
def fresh_guard(monkeypatch):
    """This module's own guard state, so that the test's guard is not the suite's."""
    monkeypatch.setattr(guard_module, "_guard", None)
    monkeypatch.setattr(guard_module, "_listed", {})
    yield guard_module
    if guard_module._guard is not None:
        guard_module._guard.stdin.close()
        guard_module._guard.wait(10)


def test_a_guard_that_has_gone_is_started_again_and_told_everything(fresh_guard, tmp_path):
    """Should the guard be killed, the next server starts a new one, which knows the servers
    listed before too."""
    first = in_own_session("sleep", "60")
    second = in_own_session("sleep", "60")
    try:
        fresh_guard.watch_group(first.pid)
        old = fresh_guard._guard
        old.kill()
        old.wait()
        fresh_guard.watch_group(second.pid)
        assert fresh_guard._guard is not old and fresh_guard._guard.poll() is None
        # Closing its pipe is what this Python's death does
        fresh_guard._guard.stdin.close()
        assert fresh_guard._guard.wait(15) == 0
        assert first.wait(5) == -signal.SIGTERM
        assert second.wait(5) == -signal.SIGTERM
    finally:
        for process in (first, second):
            process.kill()
            process.wait()


def test_a_forked_child_has_a_guard_of_its_own(fresh_guard):
    """A child forked after a server started does not tell the parent's guard anything,
    and its exit stops none of the parent's servers."""
    sleeper = in_own_session("sleep", "60")
    try:
        fresh_guard.watch_group(sleeper.pid)
        parents_guard = fresh_guard._guard
        read, write = os.pipe()
        child = os.fork()
        if child == 0:
            seen = f"{fresh_guard._guard is None} {len(fresh_guard._listed)}"
            os.write(write, seen.encode())
            os._exit(0)
        os.close(write)
        os.waitpid(child, 0)
        assert os.read(read, 100) == b"True 0"
        os.close(read)
        assert fresh_guard._guard is parents_guard and parents_guard.poll() is None
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()
