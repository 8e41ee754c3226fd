"""Logging out closes the user's sockets on every daphne process, through Redis, in under a
second: real processes, real Redis, a real sign-up and log-out over HTTP."""

import asyncio
import http.cookiejar
import re
import time
import urllib.parse
import urllib.request

import pytest

from chat.frames import CLOSE_SIGNED_OUT, SIGNED_OUT
from workbook.chat_client import join, next_frame, say

pytestmark = pytest.mark.live

ROOM = "demoroom"
PASSWORD = "correct horse battery"


class Browser:
    """A cookie jar and the forms a person would fill in, over urllib."""

    def __init__(self, server) -> None:
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> str:
        with self.opener.open(f"{self.server.url}{path}", timeout=10) as response:
            return response.read().decode()

    def submit(self, page: str, action: str, **fields: str) -> None:
        """POST a form of page to action, with the page's CSRF token."""
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.get(page))[1]
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **fields}).encode()
        self.opener.open(f"{self.server.url}{action}", data, timeout=10).close()

    def cookie(self) -> str:
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.jar)


async def test_log_out_closes_the_users_sockets_on_every_process(start_chat_server):
    """Alice on two servers and a guest: her log-out closes both her sockets within 1 s,
    each with the reason and close code 4401; the guest chats on."""
    first, second = start_chat_server(), start_chat_server()
    alice = Browser(first)
    signup = {"username": "alice", "password1": PASSWORD, "password2": PASSWORD}
    await asyncio.to_thread(alice.submit, "/accounts/signup/", "/accounts/signup/", **signup)
    cookie = alice.cookie()
    assert "sessionid=" in cookie

    async with (
        join(first, ROOM, cookie=cookie) as on_first,
        join(second, ROOM, cookie=cookie) as on_second,
        join(second, ROOM) as guest,
    ):
        # Both of alice's sockets speak as alice
        await say(on_first, "hello")
        assert (await next_frame(on_second))["author"] == "alice"

        started = time.monotonic()
        await asyncio.to_thread(alice.submit, f"/chat/{ROOM}/", "/accounts/logout/")
        for socket in (on_first, on_second):
            frame = await next_frame(socket, "error", timeout=1)
            assert frame["code"] == SIGNED_OUT
            await asyncio.wait_for(socket.wait_closed(), 1)
            assert socket.close_code == CLOSE_SIGNED_OUT
        # From sending the log-out to both sockets closed, the POST's own time included
        elapsed = time.monotonic() - started
        assert elapsed < 1.0, f"{elapsed:.2f} s"

        await say(guest, "still here")
        assert (await next_frame(guest, message="still here"))["author"] == "guest"
