"""The chat through Jupyter's proxy, for real: a Jupyter server with jupyter-server-proxy,
the chat on a port of its own, and headless Chromium opening <Jupyter>/proxy/<port>/chat/….

Two setups: the Docker lab (Jupyter at http://127.0.0.1:<port>/, WORKBOOK_JUPYTER_URL) and a
JupyterHub user's server (base URL /user/alice/, JUPYTERHUB_SERVICE_PREFIX, reached by the
name hub.test, which Chromium resolves to 127.0.0.1). The workbook picks the link and the
chat's settings from the environment, as in a notebook.
"""

import importlib.util
import os
import re
import sys
from dataclasses import dataclass

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from tests.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    messages,
    require,
    require_chromium,
    say_in_page,
)
from workbook import BackgroundServer, browser_url, free_port

pytestmark = pytest.mark.browser

TOKEN = "workbook-proxy-test-token"
HUB_HOST = "hub.test"
# Never looked up: Playwright answers for it (and would it slip, it is 127.0.0.1)
HTTPS_HUB_HOST = "hub.example.org"


@dataclass
class Jupyter:
    server: BackgroundServer
    origin: str  # where the browser finds it: http://127.0.0.1:PORT or http://hub.test:PORT
    base_path: str  # "/" or "/user/alice/"

    def login(self, context: BrowserContext) -> None:
        """Log the context in as Jupyter would be: the token once, then Jupyter's cookie."""
        # Through the browser itself, which alone knows where hub.test is
        page = context.new_page()
        response = page.goto(f"{self.origin}{self.base_path}api/status?token={TOKEN}")
        assert response.ok, response.status
        page.close()

    def absolute(self, link: str) -> str:
        """A link the workbook printed, as the browser resolves it on Jupyter's pages."""
        return link if link.startswith("http") else self.origin + link

    def open(self, context: BrowserContext, link: str) -> Page:
        page = context.new_page()
        page.goto(self.absolute(link))
        return page


def start_jupyter(tmp_path, base_path: str, **options: str) -> BackgroundServer:
    """`jupyter server` with jupyter-server-proxy on a free port, configured by nothing else."""
    require(
        importlib.util.find_spec("jupyter_server_proxy") is not None,
        "jupyter-server-proxy is not installed (pip install -r requirements.txt)",
    )
    port = free_port()
    env = {**os.environ}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env[name] = str(tmp_path / name.lower())
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--ServerApp.base_url={base_path}",
        f"--ServerApp.root_dir={tmp_path}",
        f"--IdentityProvider.token={TOKEN}",
        # Enabled by its own config file in the environment; said here too, so that no
        # other configuration can turn it off
        "--ServerApp.jpserver_extensions=jupyter_server_proxy=True",
        *(f"--{name}={value}" for name, value in options.items()),
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    server = BackgroundServer(command, port, cwd=tmp_path, env=env, name="jupyter").start(60)
    server.wait_for_log("jupyter_server_proxy | extension was successfully loaded", 30)
    return server


@pytest.fixture(params=["docker", "hub"])
def jupyter(request, tmp_path, monkeypatch):
    """A Jupyter server as the Docker lab runs it, or as JupyterHub runs a user's server."""
    monkeypatch.delenv("WORKBOOK_JUPYTER_URL", raising=False)
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    monkeypatch.delenv("JUPYTERHUB_PUBLIC_URL", raising=False)
    if request.param == "docker":
        server = start_jupyter(tmp_path, "/")
        monkeypatch.setenv("WORKBOOK_JUPYTER_URL", f"{server.url}/")
        setup = Jupyter(server, server.url, "/")
    else:
        # A hub's users reach their servers by the hub's name, which the server accepts
        server = start_jupyter(
            tmp_path, "/user/alice/", **{"ServerApp.allow_remote_access": "True"}
        )
        monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
        setup = Jupyter(server, f"http://{HUB_HOST}:{server.port}", "/user/alice/")
    yield setup
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium that finds hub.test at 127.0.0.1, and nothing else anywhere new."""
    require_chromium()
    with sync_playwright() as playwright:
        rules = f"--host-resolver-rules=MAP {HUB_HOST} 127.0.0.1, MAP {HTTPS_HUB_HOST} 127.0.0.1"
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, rules]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def user(new_context, jupyter):
    """Make users: each a browser context logged in to Jupyter; all closed after the test."""

    def make() -> BrowserContext:
        context = new_context()
        jupyter.login(context)
        return context

    return make


def socket_urls(page: Page) -> list[str]:
    """The URLs of the WebSockets the page opens from now on."""
    urls: list[str] = []
    page.on("websocket", lambda websocket: urls.append(websocket.url))
    return urls


def test_two_users_chat_through_jupyters_proxy(jupyter, user, start_chat_server):
    """Two users open the workbook's link to demoroom, and a message reaches both."""
    server = start_chat_server()
    link = browser_url(server, "/chat/demoroom/")
    prefix = f"{jupyter.base_path}proxy/{server.port}"
    assert link.endswith(f"{prefix}/chat/demoroom/")

    alice = user().new_page()
    opened = socket_urls(alice)
    alice.goto(jupyter.absolute(link))
    bob = jupyter.open(user(), link)
    for page in (alice, bob):
        expect(page.locator("#chat-status")).to_have_attribute("data-state", "open")
    host = jupyter.origin.removeprefix("http://")
    assert opened[0].startswith(f"ws://{host}{prefix}/ws/chat/demoroom/?")

    say_in_page(alice, "hogehoge")
    expect(messages(alice)).to_have_text(["hogehoge"])
    expect(messages(bob)).to_have_text(["hogehoge"])
    # The socket came through Jupyter's proxy, not straight to the chat
    jupyter.server.wait_for_log(f"connection established to ws://localhost:{server.port}/ws/chat/")


def test_sign_up_and_log_out_through_jupyters_proxy(jupyter, user, start_chat_server):
    """Sign-up, its redirect back to the room, and log-out all stay under the proxy's prefix."""
    server = start_chat_server()
    room = jupyter.open(user(), browser_url(server, "/chat/demoroom/"))
    room_url = room.url

    room.get_by_role("link", name="Sign up").click()
    signup = jupyter.absolute(browser_url(server, "/accounts/signup/"))
    expect(room).to_have_url(re.compile(re.escape(signup) + r"\?next="))
    room.locator("#id_username").fill("alice")
    room.locator("#id_password1").fill("a long passphrase 雑談")
    room.locator("#id_password2").fill("a long passphrase 雑談")
    room.get_by_role("button", name="Sign up").click()

    expect(room).to_have_url(room_url)
    expect(room.locator("#chat-identity strong")).to_have_text("alice")
    expect(room.locator("#chat-status")).to_have_attribute("data-state", "open")
    say_in_page(room, "signed up behind a proxy")
    expect(room.locator("#chat-log li.message .author")).to_have_text(["alice"])

    room.get_by_role("button", name="Log out").click()
    expect(room).to_have_url(jupyter.absolute(browser_url(server, "/chat/")))
    expect(room.get_by_role("link", name="Log in")).to_be_visible()


def test_under_https_the_page_opens_wss_within_the_prefix(browser, start_chat_server):
    """On an https hub, the index form and the room's socket both stay under the prefix.

    The hub is played by Playwright: every request to https://hub.example.org/user/x/… is
    answered by the chat, as the proxy would, with the prefix stripped; the socket is
    answered by Playwright itself: its URL is what counts.
    """
    port = free_port()
    prefix = f"/user/x/proxy/{port}"
    server = start_chat_server(port=port, CHAT_PROXY_PREFIX=prefix)
    hub = f"https://{HTTPS_HUB_HOST}"
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)

    def proxy(route):
        path = route.request.url.removeprefix(hub + prefix)
        # Redirects go back to the browser, as a proxy passes them on
        route.fulfill(response=route.fetch(url=server.url + path, max_redirects=0))

    context.route(f"{hub}{prefix}/**", proxy)
    opened: list[str] = []
    context.route_web_socket(re.compile(r"^wss://"), lambda websocket: opened.append(websocket.url))
    try:
        page = context.new_page()
        page.goto(f"{hub}{prefix}/chat/")
        page.locator("#room-name-input").fill("雑談")
        page.locator("#room-name-submit").click()
        expect(page).to_have_url(f"{hub}{prefix}/chat/%E9%9B%91%E8%AB%87/")
        expect(page.locator("#chat-status")).to_have_text("Connected to 雑談")
        assert opened[0].startswith(f"wss://{HTTPS_HUB_HOST}{prefix}/ws/chat/%E9%9B%91%E8%AB%87/?")
    finally:
        context.close()
