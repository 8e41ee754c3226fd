"""Login attempts, throttled by django-axes: per user name and per client address.

Axes keeps the failures in the database, so every server process sees the same count, and
answers a locked-out attempt with 429 and registration/locked_out.html.
"""

from asgiref.sync import sync_to_async
from axes.backends import AxesStandaloneBackend

from chat.addresses import client_ip
from chat.counters import count
from chat.frames import LOGIN_LOCKED


class LoginThrottle(AxesStandaloneBackend):
    """Axes' check, for logins that come with a request: every web login does (LoginView,
    the admin). Code that checks a password without one (a shell, the test client's login)
    is not a client on the network, and Axes would refuse it outright."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)

    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        # Django's aauthenticate() and alogin() call this; Axes' backend has no async twin
        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)


def count_lockout(sender, request, **kwargs) -> None:
    """Axes' user_locked_out signal: a refused login is counted like any other refusal."""
    count(LOGIN_LOCKED)


def login_address(request) -> str | None:
    """The address Axes counts failures for: the client the chat's budgets see, so that
    behind a trusted proxy (CHAT_TRUSTED_PROXIES) each client is its own, not the proxy."""
    scope = getattr(request, "scope", None)
    if scope is None:  # a WSGI request (Django's test client): no ASGI scope to read
        return request.META.get("REMOTE_ADDR")
    return client_ip(scope)
