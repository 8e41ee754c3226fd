"""The chat beyond one machine, on this one (workbook/cluster.py): `make cluster` and `make
cluster-stop` from the command line, leaving nothing behind; the Redis primary killed under
three workers; the same services as deploy/compose.yaml; nginx spreading sockets over the
workers. Each test prints what it measured (pytest -s shows it)."""

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import suppress
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import psutil
import pytest

from tests.helpers import require, resume_after_failover
from tests.topology import TOPOLOGY, compose_services
from workbook import REPO_DIR
from workbook.chat_client import (
    join,
    next_frame,
    say,
)
from workbook.cluster import UP_SECONDS, LocalCluster, missing_programs, state_file
from workbook.links import proxy_environment
from workbook.nginx import TEMPLATE, access_entry, served_by
from workbook.sentinel import replication, wait_until

pytestmark = pytest.mark.live

MAKEFILE = REPO_DIR / "Makefile"
# Where the Compose file's workers get their secret key
CHAT_ENV_EXAMPLE = REPO_DIR / "deploy" / "chat.env.example"
# A command of the cluster's finishes within this, or the test fails (up waits UP_SECONDS)
COMMAND_SECONDS = UP_SECONDS + 30
# From the kill of the Redis primary to a message going from one socket to another again
RESUME_SECONDS = 10
# The failover test as a whole: one that cannot finish fails instead of hanging
FAILOVER_SCENARIO_SECONDS = 60
# Sockets opened at once through nginx: two for each worker, as least_conn hands them out
SPREAD_SOCKETS = 6
# The variables a chat worker gets in both places (their values differ: hosts, secrets)
SHARED_VARIABLES = {
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "CHAT_TRUSTED_PROXIES",
    "DJANGO_STATIC_ROOT",
}
# The local cluster's own: a short drain, so that a rolling restart takes seconds
LOCAL_ONLY_VARIABLES = {"CHAT_DRAIN_SECONDS"}


def require_cluster_programs() -> None:
    missing = missing_programs()
    require(not missing, "; ".join(missing) + " (make nginx postgres)")


def recipe(target: str) -> list[str]:
    """The Makefile's command lines for target (its first rule), without the tab."""
    lines = MAKEFILE.read_text().splitlines()
    start = next(n for n, line in enumerate(lines) if re.match(rf"{re.escape(target)}:", line))
    commands = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        commands.append(line[1:])
    return commands


def test_make_cluster_and_cluster_stop_run_the_command_line():
    """make cluster is `python -m workbook cluster up`, make cluster-stop its `down`: what
    the tests below run is what the targets run."""
    assert recipe("cluster") == ["@$(PY) -m workbook cluster up"]
    assert recipe("cluster-stop") == ["@$(PY) -m workbook cluster down"]


# The command line, as make runs it, in a folder of the module's own


@pytest.fixture(scope="module")
def cluster_folder():
    """A folder for `cluster up` (WORKBOOK_CLUSTER_DIR), reachable by PostgreSQL's user when
    the tests run as root; whatever runs there is stopped afterwards, and it is removed."""
    require_cluster_programs()
    folder = Path(tempfile.mkdtemp(prefix="cluster-cli-"))
    folder.chmod(0o711)
    try:
        yield folder
    finally:
        with suppress(subprocess.TimeoutExpired):
            command(folder, "down")
        shutil.rmtree(folder, ignore_errors=True)


def command(folder: Path, action: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m workbook cluster ACTION` with WORKBOOK_CLUSTER_DIR=folder, as the
    Makefile runs it; stdout and stderr together, as a terminal shows them."""
    environment = {**os.environ, "WORKBOOK_CLUSTER_DIR": str(folder), **env}
    return subprocess.run(
        [sys.executable, "-m", "workbook", "cluster", action],
        cwd=REPO_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=COMMAND_SECONDS,
    )


def timed(folder: Path, action: str, **env: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = command(folder, action, **env)
    return result, time.monotonic() - started


def addresses(text: str) -> dict[str, str]:
    """The "name  host:port" lines that up and status print."""
    return dict(re.findall(r"^\s*([a-z][\w-]*)\s+(\d+\.\d+\.\d+\.\d+:\d+)\s*$", text, re.M))


def leftovers(folder: Path, services: dict[str, str], session: int) -> list[str]:
    """Processes that belong to a cluster in folder: started in the supervisor's session,
    or whose command line names the folder or one of the services' addresses. A zombie
    (exited, waiting for a parent that does not reap it, as PID 1 in a container may) is
    no longer running."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        with suppress(psutil.Error, OSError):
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            arguments = process.info["cmdline"] or []
            line = " ".join(arguments)
            mentions = str(folder) in line or any(
                address in line or address.split(":") == arguments[i : i + 3 : 2]
                for address in services.values()
                for i in range(len(arguments))
            )
            if mentions or os.getsid(process.info["pid"]) == session:
                found.append(f"{process.info['pid']}: {line}")
    return found


def mentioned_pids(folder: Path, services: dict[str, str], session: int) -> set[int]:
    return {int(entry.split(":", 1)[0]) for entry in leftovers(folder, services, session)}


def refuses(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def at(url: str) -> SimpleNamespace:
    """What join() needs of a server, for the cluster's nginx at url."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    return SimpleNamespace(host=host, port=int(port), url=f"http://{host}:{port}")


def logged(access_log: Path, timeout: float = 10.0, **fields: str) -> dict[str, str]:
    """The first entry of nginx's access log with those values; nginx writes it once the
    response has gone, so it may come a moment after the client has read it."""
    deadline = time.monotonic() + timeout
    while True:
        for entry in map(access_entry, access_log.read_text().splitlines()):
            if all(entry.get(name) == value for name, value in fields.items()):
                return entry
        assert time.monotonic() < deadline, f"nginx logged no access with {fields}"
        time.sleep(0.05)


def fetch(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get_content_type(), response.read().decode()


async def send_and_see_saved(nginx, room: str, text: str) -> None:
    """Say text in room; return once the chat echoed it saved (with its seq)."""
    async with join(nginx, room) as websocket:
        await say(websocket, text)
        assert (await next_frame(websocket, message=text)).get("seq")


async def history(nginx, room: str) -> list[str]:
    async with join(nginx, room, query="recent=50") as websocket:
        frame = await next_frame(websocket, "history")
    return [message["message"] for message in frame["messages"]]


def test_cluster_up_status_down_from_the_command_line(cluster_folder):
    """up starts every service and prints where; status says the same; a second up starts
    nothing; down stops everything; the messages outlive it in PostgreSQL. A supervisor
    killed with SIGKILL leaves nothing of what it started running but PostgreSQL."""
    folder = cluster_folder
    up, up_seconds = timed(folder, "up")
    assert up.returncode == 0, up.stdout
    state = state_file(folder).read_text()
    services = addresses(up.stdout)
    assert list(services) == [name for names in TOPOLOGY.values() for name in names], up.stdout
    url = re.search(r"http://\S+/chat/", up.stdout)[0]
    assert url in state

    status = command(folder, "status")
    assert status.returncode == 0, status.stdout
    assert addresses(status.stdout) == services
    assert url in status.stdout

    # The room page and its style sheet, through nginx (which serves static files itself)
    code, kind, page = fetch(f"{url}cluster-cli/")
    assert (code, kind) == (200, "text/html")
    css = re.search(r'href="(/static/[^"]+\.css)"', page)[1]
    nginx_address = services["nginx"]
    assert fetch(f"http://{nginx_address}{css}")[:2] == (200, "text/css")
    entry = logged(folder / "nginx" / "access.log", request=f"GET {css} HTTP/1.1")
    assert (served_by(entry), entry["status"]) == ("-", "200"), "nginx served it alone"

    # A second up reports the running cluster and starts nothing
    supervisor = psutil.Process(int(re.search(r'"pid": (\d+)', state)[1]))
    running = mentioned_pids(folder, services, supervisor.pid)
    again = command(folder, "up")
    assert again.returncode == 0, again.stdout
    assert "already running" in again.stdout and url in again.stdout
    assert state_file(folder).read_text() == state
    assert supervisor.is_running()
    assert mentioned_pids(folder, services, supervisor.pid) == running

    nginx = at(url)
    asyncio.run(send_and_see_saved(nginx, "cluster-cli", "kept in PostgreSQL"))

    down, down_seconds = timed(folder, "down")
    assert down.returncode == 0, down.stdout
    assert not state_file(folder).exists()
    assert not leftovers(folder, services, supervisor.pid)
    assert all(refuses(address) for address in services.values())
    second_down = command(folder, "down")
    assert second_down.returncode == 0
    assert "No cluster is running" in second_down.stdout

    # The folder keeps PostgreSQL's data: the message is there after the next up
    up_again, again_seconds = timed(folder, "up")
    assert up_again.returncode == 0, up_again.stdout
    nginx = at(re.search(r"http://\S+/chat/", up_again.stdout)[0])
    assert "kept in PostgreSQL" in asyncio.run(history(nginx, "cluster-cli"))
    services = addresses(up_again.stdout)
    session = int(re.search(r'"pid": (\d+)', state_file(folder).read_text())[1])

    # The supervisor killed (kill -9, no handler runs): its guard stops every part it started.
    # PostgreSQL, which pg_ctl runs apart by design, is stopped by the next up or here
    os.kill(session, signal.SIGKILL)
    others = [address for name, address in services.items() if name != "postgres"]
    wait_until(lambda: all(refuses(address) for address in others), 30, "parts outlived it")
    assert "No cluster is running" in command(folder, "down").stdout
    LocalCluster.stop_leftover(folder)
    assert not leftovers(folder, services, session)
    print(f"\nup {up_seconds:.1f} s, down {down_seconds:.1f} s, up again {again_seconds:.1f} s")


def test_an_up_that_fails_says_why_and_leaves_nothing(cluster_folder):
    """Redis cannot start (the redis-server on PATH exits at once): up fails once
    PostgreSQL runs, prints the supervisor's log with the reason, and stops PostgreSQL."""
    folder = cluster_folder
    # Whatever an earlier test left running
    assert command(folder, "down").returncode == 0
    broken = folder / "broken-bin"
    broken.mkdir(exist_ok=True)
    stand_in = broken / "redis-server"
    stand_in.write_text("#!/bin/sh\necho 'redis-server: out of order' >&2\nexit 1\n")
    stand_in.chmod(0o755)
    path = f"{broken}{os.pathsep}{os.environ.get('PATH', '')}"
    failed, seconds = timed(folder, "up", PATH=path)
    assert failed.returncode != 0
    # What had started, then why it stopped
    started = re.search(r"PostgreSQL: (127\.0\.0\.\d+:\d+)", failed.stdout)
    assert started, failed.stdout
    assert "redis-server: out of order" in failed.stdout
    assert "The cluster could not start: redis-server exited" in failed.stdout, failed.stdout
    supervisor = json.loads(state_file(folder).read_text())["pid"]
    assert not leftovers(folder, {"postgres": started[1]}, supervisor)
    assert refuses(started[1])
    assert command(folder, "status").returncode == 1
    print(f"\nup failed after {seconds:.1f} s")


# A running cluster of the module's own (the local_cluster fixture)


def test_the_cluster_runs_the_services_of_the_compose_file(local_cluster):
    """The same services by name, the same chat variables (names, not values: hosts and
    secrets differ), and nginx's configuration from the same template."""
    assert sorted(local_cluster.services()) == sorted(n for ns in TOPOLOGY.values() for n in ns)

    compose = compose_services()
    local = local_cluster.worker_environment()
    for name in TOPOLOGY["chat"]:
        # What the Compose file sets itself, and the secret key from chat.env
        deployed = set(compose[name]["environment"]) | {"DJANGO_SECRET_KEY"}
        assert deployed == SHARED_VARIABLES
        assert "DJANGO_SECRET_KEY=" in CHAT_ENV_EXAMPLE.read_text().splitlines()
        # Behind Jupyter's proxy (Docker, Binder) the pages' prefix too, as for any server
        behind_proxy = set(proxy_environment(local_cluster.nginx.port))
        assert set(local) - LOCAL_ONLY_VARIABLES - behind_proxy == SHARED_VARIABLES
        assert compose[name]["environment"]["DJANGO_DEBUG"] == local["DJANGO_DEBUG"] == "0"
        deployed_url = urlsplit(compose[name]["environment"]["REDIS_URL"])
        local_url = urlsplit(local["REDIS_URL"])
        assert local_url.scheme == deployed_url.scheme == "redis+sentinel"
        # The same master name, and a Sentinel for each sentinel service
        assert local_url.path == deployed_url.path
        assert len(local_url.netloc.split(",")) == len(TOPOLOGY["sentinel"])
    assert local["REDIS_URL"] == local_cluster.redis.url
    assert local["DATABASE_URL"].startswith("postgres://")

    # nginx's chat.conf is the template the Compose file mounts (tests/setup/test_deploy.py),
    # filled in: every line without a placeholder is there as it is
    written = (local_cluster.nginx.folder / "chat.conf").read_text().splitlines()
    fixed = [line for line in TEMPLATE.read_text().splitlines() if "${" not in line]
    remaining = iter(written)
    assert all(line in remaining for line in fixed), "chat.conf is not the template's"


def test_nginx_spreads_sockets_over_the_three_workers(local_cluster):
    """Sockets opened together through nginx land on all three workers (least_conn), and a
    message said on one reaches the listeners on the others."""
    nginx = local_cluster.nginx
    room = "spread"

    async def scenario() -> None:
        sockets = []
        try:
            for number in range(SPREAD_SOCKETS):
                sockets.append(await join(nginx, room, query=f"probe=spread-{number}"))
            await say(sockets[0], "to every worker")
            for listener in sockets:
                await next_frame(listener, message="to every worker")
        finally:
            for websocket in sockets:
                await websocket.close()

    asyncio.run(scenario())
    # nginx writes a socket's entry when it closes
    served = [
        nginx.wait_for_access(request=f"GET /ws/chat/{room}/?probe=spread-{number} HTTP/1.1")
        for number in range(SPREAD_SOCKETS)
    ]
    workers = [local_cluster.worker_at(entry["upstream"]) for entry in served]
    print(f"\nsockets by worker: {sorted(workers)}")
    assert set(workers) == set(TOPOLOGY["chat"])


def test_the_chat_resumes_when_the_redis_primary_is_killed(local_cluster):
    """kill -9 the primary: Sentinel promotes the replica and, within 10 s, a message said
    through nginx reaches another socket again, with no worker restarted; a newcomer shows
    in presence. The killed server comes back as a replica, for the module's next tests."""
    cluster = local_cluster
    nginx = cluster.nginx
    room = "failover"
    pids = {name: worker.pid for name, worker in cluster.workers.items()}
    old = cluster.redis.primary_address()
    # Each worker tells its sockets to come back later, and closes them
    scenario = resume_after_failover(
        nginx, room, cluster.redis, lambda socket: socket.wait_closed(), RESUME_SECONDS
    )

    try:
        _, new, promoted, resumed = asyncio.run(
            asyncio.wait_for(scenario, FAILOVER_SCENARIO_SECONDS)
        )
    finally:
        rejoin_as_replica(cluster.redis, old)
    print(f"\nprimary {old} killed; Sentinel promoted {new} within {promoted:.1f} s;")
    print(f"a message went through nginx again {resumed:.1f} s after the kill")
    assert new != old
    assert resumed < RESUME_SECONDS
    assert {name: worker.pid for name, worker in cluster.workers.items()} == pids
    assert all(worker.is_running() for worker in cluster.workers.values())


def rejoin_as_replica(group, old: tuple[str, int]) -> None:
    """Start the killed server again on its address, as a replica of whatever the Sentinels
    now name the primary, and wait until it has copied it."""
    new = group.wait_for_failover(old)
    server = group.server_at(old)
    server.options = ["--replicaof", new[0], str(new[1])]
    server.start()
    wait_until(
        lambda: replication(old)["master_link_status"] == "up",
        15,
        f"{old} did not follow the new primary {new}",
    )
    wait_until(group.ready, 15, "the Sentinels did not see the group whole again")
