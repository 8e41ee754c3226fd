"""Links for the attendee's browser: local, in Docker, and on JupyterHub or Binder."""

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from workbook import project_server
from workbook.links import JupyterProxy, browser_link, browser_url, jupyter_proxy, proxy_environment

LOCAL: dict[str, str] = {}
DOCKER = {"WORKBOOK_JUPYTER_URL": "http://127.0.0.1:8888/"}
BINDER = {"JUPYTERHUB_SERVICE_PREFIX": "/user/alice-abc123/"}
HUB = {
    "JUPYTERHUB_SERVICE_PREFIX": "/jupyter/user/a%40b.org/",
    "JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/jupyter/",
}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (LOCAL, "http://127.0.0.1:8001/chat/demoroom/"),
        (DOCKER, "http://127.0.0.1:8888/proxy/8001/chat/demoroom/"),
        (BINDER, "/user/alice-abc123/proxy/8001/chat/demoroom/"),
        (HUB, "https://hub.example.org/jupyter/user/a%40b.org/proxy/8001/chat/demoroom/"),
    ],
    ids=["local", "docker", "binder", "hub"],
)
def test_browser_url_for_each_environment(environ, expected):
    """The page's URL is the server itself locally, and Jupyter's proxy elsewhere."""
    assert browser_url(8001, "/chat/demoroom/", environ) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (LOCAL, {}),
        (DOCKER, {"CHAT_PROXY_PREFIX": "/proxy/8001", "CHAT_PROXY_HOSTS": "127.0.0.1"}),
        (BINDER, {"CHAT_PROXY_PREFIX": "/user/alice-abc123/proxy/8001", "CHAT_PROXY_HOSTS": "*"}),
        (
            HUB,
            {
                "CHAT_PROXY_PREFIX": "/jupyter/user/a@b.org/proxy/8001",
                "CHAT_PROXY_HOSTS": "hub.example.org",
            },
        ),
    ],
    ids=["local", "docker", "binder", "hub"],
)
def test_proxy_environment_for_each_environment(environ, expected):
    """A proxied server learns its unquoted prefix and the hosts its pages come from."""
    assert proxy_environment(8001, environ) == expected


def test_an_explicit_jupyter_url_wins_over_the_hub():
    """WORKBOOK_JUPYTER_URL, set by whoever knows the browser's address, is used as given."""
    environ = {**BINDER, "WORKBOOK_JUPYTER_URL": "https://lab.example.org/user/alice-abc123"}
    assert jupyter_proxy(environ) == JupyterProxy(
        "https://lab.example.org", "/user/alice-abc123/", ("lab.example.org",)
    )


def test_room_names_are_quoted():
    """A Japanese room name is percent-encoded, as the browser's address bar shows it."""
    assert browser_url(8001, "/chat/雑談/", DOCKER).endswith("/proxy/8001/chat/%E9%9B%91%E8%AB%87/")


@pytest.fixture
def in_docker(monkeypatch):
    """This process's environment, as a kernel in the Docker lab has it."""
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    monkeypatch.setenv("WORKBOOK_JUPYTER_URL", DOCKER["WORKBOOK_JUPYTER_URL"])


def test_link_displays_as_a_clickable_html_link(in_docker):
    """The link is HTML for JupyterLab (a new tab) and the plain URL everywhere else."""
    server = SimpleNamespace(port=8001)  # a started server, as far as links go
    link = browser_link(server, "/chat/a&b/")
    assert str(link) == repr(link) == "http://127.0.0.1:8888/proxy/8001/chat/a&b/"
    assert link._repr_html_() == (
        '<a href="http://127.0.0.1:8888/proxy/8001/chat/a&amp;b/" target="_blank" '
        'rel="noopener">http://127.0.0.1:8888/proxy/8001/chat/a&amp;b/</a>'
    )
    assert browser_link(server, text="the chat")._repr_html_().endswith(">the chat</a>")


def test_a_described_server_has_its_link_and_learns_the_proxy(in_docker):
    """A server described but not started yet already knows its link and its prefix."""
    server = project_server("daphne", port=8001)
    assert browser_url(server, "/chat/") == "http://127.0.0.1:8888/proxy/8001/chat/"
    assert server.env["CHAT_PROXY_PREFIX"] == "/proxy/8001"


def test_started_servers_learn_the_proxy(in_docker, monkeypatch):
    """start_daphne() and friends pass the proxy's variables on; the caller's env wins."""
    from workbook import servers

    started = {}

    def fake_start(self, timeout=30.0):
        started.update(self.env)
        return self

    monkeypatch.setattr(servers.BackgroundServer, "start", fake_start)
    servers.start_daphne(port=8001, migrate=False)
    assert started["CHAT_PROXY_PREFIX"] == "/proxy/8001"
    servers.start_daphne(port=8001, migrate=False, env={"CHAT_PROXY_PREFIX": "/mine"})
    assert started["CHAT_PROXY_PREFIX"] == "/mine"


@pytest.mark.parametrize(
    ("environ", "link", "variables"),
    [
        (LOCAL, "http://127.0.0.1:8001/chat/", ""),
        (
            DOCKER,
            "http://127.0.0.1:8888/proxy/8001/chat/",
            "CHAT_PROXY_PREFIX=/proxy/8001\nCHAT_PROXY_HOSTS=127.0.0.1\n",
        ),
    ],
    ids=["local", "docker"],
)
def test_the_command_line_prints_a_chats_link_and_proxy_variables(environ, link, variables):
    """`python -m workbook link` and `proxy-env` print what a chat started by hand needs."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if name not in ("WORKBOOK_JUPYTER_URL", "JUPYTERHUB_SERVICE_PREFIX")
    }

    def workbook(*args: str) -> str:
        command = [sys.executable, "-m", "workbook", *args]
        done = subprocess.run(
            command, env={**clean, **environ}, capture_output=True, text=True, check=True
        )
        return done.stdout

    assert workbook("link", "8001", "/chat/") == link + "\n"
    assert workbook("proxy-env", "8001") == variables
