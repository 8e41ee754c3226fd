"""Which pages may open a chat socket: the site's own (scheme, host and port), or trusted ones."""

import pytest

from chatproject.origin import SameOriginValidator, normalized, origin_allowed


def scope(origin: str | None, host: str | None, scheme: str = "ws", **headers: str) -> dict:
    pairs = {"origin": origin, "host": host, **headers}
    encoded = [(name.encode(), value.encode()) for name, value in pairs.items() if value]
    return {"type": "websocket", "scheme": scheme, "path": "/", "headers": encoded}


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "allowed"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws", True),
        ("http://localhost:8000", "localhost:8000", "ws", True),
        ("http://[::1]:8000", "[::1]:8000", "ws", True),
        ("HTTP://LocalHost:8000", "localhost:8000", "ws", True),
        ("https://localhost", "localhost:443", "wss", True),  # the default port, written out
        # The same host is not enough: another port or scheme is another site
        ("http://127.0.0.1:9999", "127.0.0.1:8000", "ws", False),
        ("http://localhost:3000", "localhost:8000", "ws", False),
        ("https://127.0.0.1:8000", "127.0.0.1:8000", "ws", False),
        ("http://127.0.0.1:8000", "127.0.0.1:8000", "wss", False),
        ("http://evil.example", "127.0.0.1:8000", "ws", False),
        ("http://127.0.0.1.evil.example:8000", "127.0.0.1:8000", "ws", False),
        # A page that names itself: DNS rebinding makes Origin and Host agree; ALLOWED_HOSTS not
        ("http://evil.example:8000", "evil.example:8000", "ws", False),
        (None, "127.0.0.1:8000", "ws", False),
        ("null", "127.0.0.1:8000", "ws", False),
        ("http://127.0.0.1:8000", None, "ws", False),
        ("http://127.0.0.1:notaport", "127.0.0.1:8000", "ws", False),
    ],
)
def test_only_the_sites_own_pages(origin, host, scheme, allowed):
    assert origin_allowed(scope(origin, host, scheme)) is allowed


def test_https_at_a_trusted_proxy(settings):
    """Behind a proxy that ends TLS the socket arrives as ws; the proxy says it was https."""
    settings.ALLOWED_HOSTS = ["chat.example.org"]
    page = "https://chat.example.org"
    assert not origin_allowed(scope(page, "chat.example.org", x_forwarded_proto="https"))
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert origin_allowed(scope(page, "chat.example.org", **{"x-forwarded-proto": "https"}))
    # As Django reads it: the first of the values proxies appended
    assert origin_allowed(scope(page, "chat.example.org", **{"x-forwarded-proto": "https,http"}))
    assert not origin_allowed(scope(page, "chat.example.org"))


def test_trusted_origins_of_other_sites(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.org", "https://*.example.net"]
    host = "127.0.0.1:8000"
    assert origin_allowed(scope("https://app.example.org", host))
    assert origin_allowed(scope("https://eu.example.net", host))
    assert not origin_allowed(scope("http://app.example.org", host))
    assert not origin_allowed(scope("https://example.org", host))


def test_normalized():
    assert normalized("HTTPS://Chat.Example.org:443") == "https://chat.example.org"
    assert normalized("http://127.0.0.1:8000") == "http://127.0.0.1:8000"


class Accepting:
    async def __call__(self, scope, receive, send):
        await send({"type": "websocket.accept"})


async def handshake(application, scope: dict) -> str:
    sent = []

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    return sent[0]["type"]


async def test_the_validator_refuses_before_the_application_sees_it():
    validator = SameOriginValidator(Accepting())
    page = scope("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert await handshake(validator, page) == "websocket.accept"
    other = scope("http://127.0.0.1:9999", "127.0.0.1:8000")
    assert await handshake(validator, other) == "websocket.close"
