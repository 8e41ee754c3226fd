"""Links to a server's pages that open in the attendee's browser, wherever the kernel runs.

Kernel-side clients always talk to 127.0.0.1 directly. A browser may not be on this machine:

- locally (``make lab``): ``http://127.0.0.1:<port>/…``, the server itself;
- in Docker: through JupyterLab's proxy (jupyter-server-proxy), at WORKBOOK_JUPYTER_URL, the
  lab's address on the host (docker-compose.yml sets ``http://127.0.0.1:8888/``), followed
  by ``proxy/<port>/…``;
- on JupyterHub or Binder: through the proxy of the user's own server,
  ``$JUPYTERHUB_SERVICE_PREFIX`` (``/user/alice/``) followed by ``proxy/<port>/…``, on the
  hub's host (JUPYTERHUB_PUBLIC_URL, when the hub sets it).

A server started by the workbook in such a session is told its prefix and the hosts its
pages come from (proxy_environment): chatproject/chatproject/settings.py says what it does.
"""

import html
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit

from .ports import HOST

# The Jupyter server's address as the attendee's browser opens it, such as
# http://127.0.0.1:8888/: set where the browser cannot reach 127.0.0.1 of the kernel
JUPYTER_URL_VARIABLE = "WORKBOOK_JUPYTER_URL"


class Listening(Protocol):
    """A server, started or described: all a link needs is its port."""

    @property
    def port(self) -> int: ...


@dataclass(frozen=True)
class JupyterProxy:
    """Where the browser finds Jupyter's proxy: origin + base_path + "proxy/<port>/…"."""

    # "http://127.0.0.1:8888", or "" when unknown: a link relative to the page's own host
    origin: str
    # Jupyter's base URL, "/" or "/user/alice/", as written in URLs
    base_path: str
    # The host names the browser uses for Jupyter; "*" when the session cannot know them
    hosts: tuple[str, ...]


def jupyter_proxy(environ: Mapping[str, str] = os.environ) -> JupyterProxy | None:
    """The Jupyter proxy the browser goes through, or None when it reaches 127.0.0.1 itself."""
    if explicit := environ.get(JUPYTER_URL_VARIABLE):
        url = urlsplit(explicit)
        return JupyterProxy(f"{url.scheme}://{url.netloc}", _folder(url.path), (url.hostname,))
    if prefix := environ.get("JUPYTERHUB_SERVICE_PREFIX"):
        # The hub's address, if it was configured (JupyterHub 5's public_url); Binder's
        # hubs do not say, and a link without one opens on the notebook's own host
        public = urlsplit(environ.get("JUPYTERHUB_PUBLIC_URL", ""))
        if public.hostname:
            return JupyterProxy(
                f"{public.scheme}://{public.netloc}", _folder(prefix), (public.hostname,)
            )
        return JupyterProxy("", _folder(prefix), ("*",))
    return None


def _folder(path: str) -> str:
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


def proxy_environment(port: int, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The variables that serve a chat on port behind Jupyter's proxy; {} if there is none."""
    proxy = jupyter_proxy(environ)
    if proxy is None:
        return {}
    # Django compares paths unquoted (a JupyterHub user name may be quoted in the prefix)
    prefix = unquote(f"{proxy.base_path}proxy/{port}")
    return {"CHAT_PROXY_PREFIX": prefix, "CHAT_PROXY_HOSTS": ",".join(proxy.hosts)}


def browser_url(
    server: Listening | int, path: str = "/", environ: Mapping[str, str] = os.environ
) -> str:
    """The URL of path on a started server (or a port) for the attendee's browser."""
    port = getattr(server, "port", server)
    path = quote(path, safe="/?&=#%:@")
    proxy = jupyter_proxy(environ)
    if proxy is None:
        return f"http://{HOST}:{port}{path}"
    return f"{proxy.origin}{proxy.base_path}proxy/{port}{path}"


@dataclass(frozen=True)
class BrowserLink:
    """A link that JupyterLab shows as clickable, opening in a new browser tab."""

    url: str
    text: str

    def _repr_html_(self) -> str:
        href = html.escape(self.url)
        return f'<a href="{href}" target="_blank" rel="noopener">{html.escape(self.text)}</a>'

    def __repr__(self) -> str:
        return self.url

    def __str__(self) -> str:
        return self.url


def browser_link(
    server: Listening | int, path: str = "/chat/", text: str | None = None
) -> BrowserLink:
    """A clickable link to path on a started server, for wherever this kernel runs."""
    url = browser_url(server, path)
    return BrowserLink(url, text or url)
