"""Which pages may open a chat socket: those of the very site the socket connects to.

Browsers do not apply the same-origin policy to WebSockets: any page can open a socket to
any server, and the browser sends that server's cookies along. So the server checks the
handshake's ``Origin`` header, the origin of the page: it must be the origin the socket's
own request went to (scheme, host and port), as Django's CSRF check requires of a form, or
one of settings.CSRF_TRUSTED_ORIGINS; and the host must be one of ALLOWED_HOSTS.

Channels' AllowedHostsOriginValidator compares only the host with ALLOWED_HOSTS, so any
port and either scheme pass: a page on http://127.0.0.1:9999 or http://localhost:3000
could chat as you on http://127.0.0.1:8000.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": "80", "https": "443"}


def page_origin(scope: dict) -> str | None:
    """The origin a page must have to open this socket (None: the Host is not allowed)."""
    headers = dict(scope.get("headers", []))
    host = headers.get(b"host", b"").decode("latin1").lower()
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if is_secure(scope, headers) else "http"
    return normalized(f"{scheme}://{host}")


def is_secure(scope: dict, headers: dict[bytes, bytes]) -> bool:
    """wss, or https at a proxy that settings trust to say so (SECURE_PROXY_SSL_HEADER)."""
    if scope.get("scheme") == "wss":
        return True
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        header = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
        # As Django reads it: the first value of a list that proxies appended to
        forwarded = headers.get(header, b"").decode("latin1").split(",", 1)[0].strip()
        return forwarded == secure_value
    return False


def normalized(origin: str) -> str:
    """scheme://host[:port] in lower case, without the scheme's default port."""
    parts = urlsplit(origin.strip().lower())
    host, port = parts.hostname or "", parts.port
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address, as a URL writes it
    if port is None or str(port) == DEFAULT_PORTS.get(parts.scheme):
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def is_trusted(origin: str) -> bool:
    """Whether CSRF_TRUSTED_ORIGINS names origin, "https://*.example.com" as Django reads it."""
    scheme, _, netloc = origin.partition("://")
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        trusted_scheme, _, trusted_netloc = normalized(trusted).partition("://")
        if trusted_scheme == scheme and (
            trusted_netloc == netloc
            or (trusted_netloc.startswith("*.") and is_same_domain(netloc, trusted_netloc[1:]))
        ):
            return True
    return False


def origin_allowed(scope: dict) -> bool:
    origin = dict(scope.get("headers", [])).get(b"origin")
    expected = page_origin(scope)
    if not origin or expected is None:
        return False
    try:
        origin = normalized(origin.decode("latin1"))
    except ValueError:  # a port that is not a number, say
        return False
    return origin == expected or is_trusted(origin)


class SameOriginValidator:
    """Accept a WebSocket only from a page of the site it connects to; others get a 403."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket" or origin_allowed(scope):
            return await self.application(scope, receive, send)
        # Closed before it is accepted: the server refuses the handshake with HTTP 403
        await receive()
        await send({"type": "websocket.close"})
