"""The chat behind a real nginx (deploy/nginx/chat.conf.template, run by workbook/nginx.py):
three real daphne workers, each on its own loopback address as if on its own host, sharing
a real Redis and one database; pages, sockets, client addresses, request bodies and static
files through nginx, and its access log saying which worker served whom."""

import http.client
import re
import shutil
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest
from daphne.cli import CommandLineInterface
from django.conf import settings
from websockets.asyncio.client import connect

from chat import frames
from tests.helpers import require
from workbook import start_daphne
from workbook.chat_client import RECEIVE_TIMEOUT, next_frame, say
from workbook.nginx import (
    MAX_REQUEST_BODY,
    NginxServer,
    access_entry,
    chat_config,
    collect_static,
    nginx_binary,
    render_template,
    served_by,
)

pytestmark = pytest.mark.live

# Each worker a "host" of its own; nginx reaches them from an address of its own, the one
# they trust; the test's clients come from others still, so every hop is told apart
WORKER_HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
NGINX_SOURCE = "127.0.0.10"
ALICE, BOB, CAROL = "127.0.0.7", "127.0.0.8", "127.0.0.9"

ROOM = "lobby"


def require_nginx() -> None:
    require(nginx_binary() is not None, "no nginx (make nginx, or set NGINX)")


def worker_environment(database: str, static_root, **extra: str) -> dict[str, str]:
    """A worker as deployed: debug off (it serves no static file), nginx trusted."""
    return {
        "DJANGO_SQLITE_PATH": database,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "a key for the nginx tests only, long enough to pass checks",
        "DJANGO_STATIC_ROOT": str(static_root),
        "CHAT_TRUSTED_PROXIES": NGINX_SOURCE,
        **extra,
    }


def address(server) -> str:
    return f"{server.host}:{server.port}"


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """The chat's static files, gathered by collectstatic as a deployment does."""
    return collect_static(tmp_path_factory.mktemp("static"))


@pytest.fixture(scope="module")
def cluster(redis_url, migrated_database, static_root, tmp_path_factory):
    """nginx in front of three workers; all stopped when the module's tests are done."""
    require_nginx()
    folder = tmp_path_factory.mktemp("cluster")
    database = folder / "chat.sqlite3"
    shutil.copyfile(migrated_database, database)
    workers = []
    try:
        for host in WORKER_HOSTS:
            env = worker_environment(str(database), static_root)
            workers.append(start_daphne(redis_url=redis_url, env=env, migrate=False, host=host))
        addresses = [address(worker) for worker in workers]
        with NginxServer(addresses, folder / "nginx", static_root, source=NGINX_SOURCE) as nginx:
            yield nginx, workers
    finally:
        for worker in workers:
            worker.stop()


def join_from(server, source: str, room: str = ROOM, **options) -> connect:
    """A socket to room on server (nginx or a worker), as a page of that server opens it,
    from the loopback address source."""
    url = f"ws://{server.host}:{server.port}/ws/chat/{quote(room)}/"
    return connect(url, origin=server.url, local_addr=(source, 0), **options)


def fetch(url: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=RECEIVE_TIMEOUT) as answer:
        return answer.status, answer.read()


def post(server, path: str, length: int) -> int:
    """The status of a POST of length bytes to path on server."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=RECEIVE_TIMEOUT)
    try:
        connection.request("POST", path, body=b"x" * length)
        return connection.getresponse().status
    finally:
        connection.close()


class TestTheConfiguration:
    """The template as nginx gets it, without starting anything."""

    def config(self, tmp_path) -> str:
        return chat_config(["127.0.0.2:8001"], "127.0.0.1:8080", tmp_path / "a.log", tmp_path)

    def test_a_line_naming_two_workers_reads_whole(self):
        """nginx tried a worker that refused, then another: both are in the line, the one
        that answered last."""
        line = (
            'client=127.0.0.7 upstream="127.0.0.3:8002, 127.0.0.2:8001" status=101 '
            'upstream_status="502, 101" time=2026-12-02T05:00:00+00:00 request_time=1.0 '
            'bytes=10 request="GET /ws/chat/lobby/ HTTP/1.1" user_agent="Python/3.11"'
        )
        entry = access_entry(line)
        assert entry["upstream"] == "127.0.0.3:8002, 127.0.0.2:8001"
        assert entry["upstream_status"] == "502, 101"
        assert entry["request"] == "GET /ws/chat/lobby/ HTTP/1.1"
        assert served_by(entry) == "127.0.0.2:8001"
        assert served_by(access_entry('client=127.0.0.7 upstream="-" status=413')) == "-"

    def test_every_placeholder_is_filled(self, tmp_path):
        """The rendered file has no ${NAME} left; a missing value is an error, not a gap."""
        assert "${" not in self.config(tmp_path)
        with pytest.raises(KeyError, match="CHAT_UPSTREAM_SERVERS"):
            render_template({"NGINX_LISTEN": "80"})

    def test_sockets_outlive_daphnes_ping_interval(self, tmp_path):
        """nginx waits longer for a quiet socket than daphne takes to ping it (20 s)."""
        ping_interval = CommandLineInterface().parser.get_default("ping_interval")
        timeout = re.search(r"proxy_read_timeout (\d+)s;", self.config(tmp_path))[1]
        assert int(timeout) > ping_interval

    def test_the_body_limit_is_the_chats_own(self):
        """nginx refuses what the workers would refuse, and nothing they accept."""
        assert settings.CHAT_MAX_REQUEST_BODY == MAX_REQUEST_BODY


def test_a_room_page_and_its_static_files_through_nginx(cluster, static_root):
    """The page comes from a worker; its CSS comes from nginx, from collectstatic's folder,
    which no worker serves (debug is off)."""
    nginx, workers = cluster
    status, page = fetch(f"{nginx.url}/chat/{ROOM}/")
    assert status == 200
    for element in ("chat-log", "chat-message-input", "chat-message-submit"):
        assert f'id="{element}"' in page.decode()
    assert "/static/chat/chat.css" in page.decode()

    status, css = fetch(f"{nginx.url}/static/chat/chat.css")
    assert (status, css) == (200, (static_root / "chat" / "chat.css").read_bytes())
    entry = nginx.wait_for_access(request="GET /static/chat/chat.css HTTP/1.1")
    assert entry["upstream"] == "-"
    # Asked of a worker directly, with the Host nginx passes on
    with pytest.raises(urllib.error.HTTPError) as refused:
        fetch(f"{workers[0].url}/static/chat/chat.css", Host=f"{nginx.host}:{nginx.port}")
    assert refused.value.code == 404


async def test_a_message_crosses_workers_and_the_log_names_them(cluster):
    """Two sockets through nginx land on two workers (least connections); what one says
    the other hears through Redis, and nginx's log says which worker served whom."""
    nginx, workers = cluster
    async with join_from(nginx, ALICE) as alice, join_from(nginx, BOB) as bob:
        await say(alice, "across workers")
        await next_frame(bob, message="across workers")
    request = f"GET /ws/chat/{ROOM}/ HTTP/1.1"
    served_alice = nginx.wait_for_access(client=ALICE, request=request)
    served_bob = nginx.wait_for_access(client=BOB, request=request)
    assert served_alice["status"] == served_bob["status"] == "101"
    print(f"alice on {served_alice['upstream']}, bob on {served_bob['upstream']}")
    assert served_alice["upstream"] != served_bob["upstream"]
    # Each of those workers logged the socket, from nginx's address
    by_address = {address(worker): worker for worker in workers}
    for served in (served_alice, served_bob):
        by_address[served["upstream"]].wait_for_log(f"WSCONNECT /ws/chat/{ROOM}/")
        assert f"{NGINX_SOURCE}:" in by_address[served["upstream"]].log()


async def test_bodies_over_the_limit_stop_at_nginx(cluster):
    """A body one byte over the chat's limit gets 413 from nginx, no worker involved; one
    at the limit goes on to a worker (which refuses the form for its own reasons)."""
    nginx, workers = cluster
    assert post(nginx, "/chat/?over", MAX_REQUEST_BODY + 1) == 413
    refused = nginx.wait_for_access(request="POST /chat/?over HTTP/1.1")
    assert (refused["status"], refused["upstream"]) == ("413", "-")
    assert post(nginx, "/chat/?at", MAX_REQUEST_BODY) != 413
    passed = nginx.wait_for_access(request="POST /chat/?at HTTP/1.1")
    assert passed["upstream"] in {address(worker) for worker in workers}


async def expect_refused(websocket) -> None:
    """The chat counted this socket against a client that has its one socket already."""
    frame = await next_frame(websocket, "error")
    assert frame["code"] == frames.CLIENT_CAP


async def expect_accepted(websocket, text: str) -> None:
    await say(websocket, text)
    await next_frame(websocket, message=text)


async def test_the_chat_sees_clients_through_nginx_only(
    redis_url, chat_database, static_root, tmp_path
):
    """Behind nginx every peer is nginx, yet one socket per client means per client:
    the chat reads the client from X-Forwarded-For because nginx's address is trusted, and
    believes neither the client's own claim nor the header from anyone else."""
    require_nginx()
    host = "127.0.0.5"
    env = worker_environment(
        chat_database,
        static_root,
        CHAT_CLIENT_SOCKETS="1",
        DJANGO_ALLOWED_HOSTS=f"127.0.0.1,{host}",
    )
    worker = start_daphne(redis_url=redis_url, env=env, migrate=False, host=host)
    claim = {"X-Forwarded-For": "198.51.100.7"}
    try:
        with NginxServer([address(worker)], tmp_path, static_root, source=NGINX_SOURCE) as nginx:
            async with join_from(nginx, ALICE) as alice, join_from(nginx, BOB) as bob:
                await expect_accepted(alice, "alice, through nginx")
                await expect_accepted(bob, "bob, a client of its own")
                # Alice's second socket, claiming to come from elsewhere: nginx appends
                # her real address, and the chat reads that one
                async with join_from(nginx, ALICE, additional_headers=claim) as again:
                    await expect_refused(again)
                # Straight to the worker, not through nginx: the header is not believed
                async with join_from(worker, BOB, additional_headers=claim) as direct:
                    await expect_refused(direct)
    finally:
        worker.stop()
