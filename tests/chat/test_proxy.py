"""The chat behind Jupyter's proxy: settings, the ASGI middleware, and what a live server takes.

jupyter-server-proxy hands /proxy/<port>/chat/… on to 127.0.0.1:<port> as /chat/…, with the
browser's Host and Origin (Jupyter's own). CHAT_PROXY_PREFIX and CHAT_PROXY_HOSTS make the
chat accept exactly that; without them it accepts local hosts only, as before.
(tests/e2e/test_proxy_browser.py runs the whole way through a real Jupyter server.)
"""

import asyncio
import http.client
import socket

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chatproject.proxy import ProxyPrefix
from workbook import CHATPROJECT_DIR, start_daphne
from workbook.workspace import in_project

PREFIX = "/user/alice/proxy/8001"

SHOW_SETTINGS = """
from django.conf import settings
names = ["ALLOWED_HOSTS", "STATIC_URL", "SESSION_COOKIE_PATH", "CSRF_COOKIE_PATH",
         "SECURE_PROXY_SSL_HEADER"]
result = {name: getattr(settings, name) for name in names}
"""


def settings_with(**env: str) -> dict:
    """The settings that matter here, as a server started with env would have them."""
    # Empty is off: a CHAT_PROXY_* in the caller's environment changes nothing
    environment = {"CHAT_PROXY_PREFIX": "", "CHAT_PROXY_HOSTS": "", **env}
    return in_project(CHATPROJECT_DIR, SHOW_SETTINGS, "chatproject.settings", environment)


class TestSettings:
    def test_without_a_prefix_only_local_hosts(self):
        """CHAT_PROXY_HOSTS alone opens nothing: it counts only behind a proxy."""
        settings = settings_with(CHAT_PROXY_HOSTS="hub.example.org,*")
        assert settings["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]
        assert settings["STATIC_URL"] == "/static/"
        assert settings["SESSION_COOKIE_PATH"] == settings["CSRF_COOKIE_PATH"] == "/"
        assert settings["SECURE_PROXY_SSL_HEADER"] is None

    def test_behind_a_proxy(self):
        """The proxy's hosts join the local ones; static files and cookies stay under it."""
        settings = settings_with(CHAT_PROXY_PREFIX=PREFIX + "/", CHAT_PROXY_HOSTS="hub.example.org")
        assert settings["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]", "hub.example.org"]
        assert settings["STATIC_URL"] == f"{PREFIX}/static/"
        assert settings["SESSION_COOKIE_PATH"] == settings["CSRF_COOKIE_PATH"] == f"{PREFIX}/"
        assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


class Recorder:
    """An ASGI app that keeps the scope it got and answers with a given status and headers."""

    def __init__(self, status: int = 200, headers: list | None = None) -> None:
        self.scope = None
        self.status, self.headers = status, headers or []

    async def __call__(self, scope, receive, send):
        self.scope = scope
        if scope["type"] == "http":
            await send(
                {"type": "http.response.start", "status": self.status, "headers": self.headers}
            )
            await send({"type": "http.response.body", "body": b""})
        elif scope["type"] == "websocket":
            await send({"type": "websocket.accept"})


async def call(app, scope) -> list[dict]:
    """Call app with scope and return what it sent."""
    sent = []
    # A client that connects, then goes away
    incoming = iter([{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}])

    async def receive():
        return next(incoming)

    async def send(message):
        sent.append(message)

    await app({"headers": [], **scope}, receive, send)
    return sent


class TestProxyPrefix:
    @pytest.mark.parametrize("kind", ["http", "websocket"])
    @pytest.mark.parametrize(
        "path", ["/chat/a/", f"{PREFIX}/chat/a/"], ids=["stripped", "already-prefixed"]
    )
    async def test_puts_the_prefix_in_root_path_and_path(self, kind, path):
        """Django and Channels see root_path=prefix and the full path, however it arrived."""
        app = Recorder()
        await call(ProxyPrefix(app, PREFIX + "/"), {"type": kind, "path": path, "raw_path": b"/"})
        assert app.scope["root_path"] == PREFIX
        assert app.scope["path"] == f"{PREFIX}/chat/a/"
        assert "raw_path" not in app.scope

    async def test_other_scopes_pass_unchanged(self):
        app = Recorder()
        await call(ProxyPrefix(app, PREFIX), {"type": "lifespan"})
        assert "root_path" not in app.scope

    @pytest.mark.parametrize(
        ("path", "location", "expected"),
        [
            (
                "/accounts/login/",
                f"{PREFIX}/chat/a/",
                b"../../../../../../user/alice/proxy/8001/chat/a/",
            ),
            (
                "/chat/a",
                f"{PREFIX}/chat/a/?x=1",
                b"../../../../../user/alice/proxy/8001/chat/a/?x=1",
            ),
            ("/chat/", "https://elsewhere.example/", b"https://elsewhere.example/"),
            ("/chat/", "/outside/", b"/outside/"),
        ],
    )
    async def test_redirects_under_the_prefix_become_relative(self, path, location, expected):
        """The proxy would prefix "/user/…" once more; "../…" it leaves to the browser."""
        app = Recorder(302, [(b"Location", location.encode()), (b"X-Other", b"kept")])
        sent = await call(ProxyPrefix(app, PREFIX), {"type": "http", "path": path})
        assert sent[0]["headers"] == [(b"Location", expected), (b"X-Other", b"kept")]

    async def test_a_prefix_with_an_at_sign_is_matched_as_django_writes_it(self):
        """reverse() leaves "@" of a JupyterHub user name unquoted, and so does the match."""
        app = Recorder(302, [(b"Location", b"/user/a@b.org/proxy/1/chat/")])
        sent = await call(ProxyPrefix(app, "/user/a@b.org/proxy/1"), {"type": "http", "path": "/"})
        assert sent[0]["headers"] == [(b"Location", b"../../../../user/a@b.org/proxy/1/chat/")]

    async def test_other_responses_keep_their_headers(self):
        app = Recorder(200, [(b"location", f"{PREFIX}/x/".encode())])
        sent = await call(ProxyPrefix(app, PREFIX), {"type": "http", "path": "/"})
        assert sent[0]["headers"] == [(b"location", f"{PREFIX}/x/".encode())]


# A live daphne: what reaches Django is what jupyter-server-proxy passes on

PROXY_HOST = "hub.example.org"


@pytest.fixture
def start_chat(chat_database):
    servers = []

    def start(**env: str):
        server = start_daphne(env={"DJANGO_SQLITE_PATH": chat_database, **env}, migrate=False)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def get(server, path: str, host: str) -> http.client.HTTPResponse:
    """GET path from the server with the Host header a proxy would pass on."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


# What a hub's front proxy adds when the browser used https (the chat trusts it behind
# Jupyter's proxy: settings.SECURE_PROXY_SSL_HEADER)
HTTPS_HUB = {"X-Forwarded-Proto": "https"}


def socket_status(server, origin: str, host: str, headers: dict | None = None) -> int:
    """101 if the room's socket opens with these Origin and Host headers, else the status."""

    async def attempt() -> int:
        # The URL names the host (the Host header); the socket goes to the server itself
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        url = f"ws://{host}/ws/chat/demoroom/"
        try:
            async with connect(url, origin=origin, sock=sock, additional_headers=headers):
                return 101
        except InvalidStatus as error:
            return error.response.status_code

    return asyncio.run(attempt())


@pytest.mark.live
def test_default_server_refuses_the_proxys_host_and_origin(start_chat):
    """Without the proxy's variables, a page or socket of Jupyter's hub is refused."""
    server = start_chat()
    assert get(server, "/chat/", PROXY_HOST).status == 400
    assert socket_status(server, f"https://{PROXY_HOST}", PROXY_HOST) == 403
    assert get(server, "/chat/", f"127.0.0.1:{server.port}").status == 200


@pytest.mark.live
def test_proxied_server_accepts_exactly_the_proxys_host(start_chat):
    """Behind the proxy: its host's pages and same-site sockets, nothing else."""
    server = start_chat(CHAT_PROXY_PREFIX=PREFIX, CHAT_PROXY_HOSTS=PROXY_HOST)
    assert get(server, "/chat/", PROXY_HOST).status == 200
    assert get(server, "/chat/", "evil.example").status == 400
    assert socket_status(server, f"https://{PROXY_HOST}", PROXY_HOST, HTTPS_HUB) == 101
    assert socket_status(server, f"http://{PROXY_HOST}", PROXY_HOST, HTTPS_HUB) == 403
    assert socket_status(server, "http://evil.example", PROXY_HOST) == 403
    assert socket_status(server, "http://evil.example", "evil.example") == 403
    # Kernel-side clients still talk to 127.0.0.1 directly, without the prefix
    assert socket_status(server, server.url, f"127.0.0.1:{server.port}") == 101


@pytest.mark.live
def test_proxied_server_on_an_unknown_hub_host_wants_same_site_sockets(start_chat):
    """With "*" (a Binder hub's name is unknown), any Host, but Origin must match it."""
    server = start_chat(CHAT_PROXY_PREFIX=PREFIX, CHAT_PROXY_HOSTS="*")
    assert get(server, "/chat/", "hub.binder.example").status == 200
    assert (
        socket_status(server, "https://hub.binder.example", "hub.binder.example", HTTPS_HUB) == 101
    )
    assert socket_status(server, "http://evil.example", "hub.binder.example") == 403


@pytest.mark.live
def test_proxied_pages_link_and_redirect_under_the_prefix(start_chat):
    """Links, static files and the socket path all stay under the prefix."""
    server = start_chat(CHAT_PROXY_PREFIX=PREFIX, CHAT_PROXY_HOSTS=PROXY_HOST)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/chat/demoroom/", headers={"Host": PROXY_HOST})
    page = connection.getresponse().read().decode()
    connection.close()
    assert f'href="{PREFIX}/static/chat/chat.css"' in page
    assert f'href="{PREFIX}/accounts/login/?next={PREFIX}/chat/demoroom/"' in page
    assert '"../../ws/chat/demoroom/"' in page
    assert get(server, "/static/chat/room.js", PROXY_HOST).status == 200
    redirect = get(server, "/", PROXY_HOST)
    assert redirect.status == 302
    assert redirect.getheader("Location") == "../../../../user/alice/proxy/8001/chat/"
