"""A small client of the finished chat, for notebook cells and tests: join a room on a
started server as its own page would, read the next frame of a given type, or read the
room's messages in seq order with the gaps filled (GapFreeReader), and stay in a room
whatever happens to the server as the room page does (ReconnectingClient).

It is `websockets.connect` with the chat's URL, Origin and cookie filled in, and a read that
never waits forever.
"""

import asyncio
import json
import random
import time
import urllib.request
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from .i18n import _
from .servers import BackgroundServer

# How long one read waits for a frame before it gives up
RECEIVE_TIMEOUT = 5.0


def room_url(server: BackgroundServer, room: str, query: str = "") -> str:
    """The WebSocket URL of a room on a started chat server (any room name: 雑談 too)."""
    url = f"ws://{server.host}:{server.port}/ws/chat/{quote(room)}/"
    return f"{url}?{query}" if query else url


def join(
    server: BackgroundServer,
    room: str,
    query: str = "",
    cookie: str | None = None,
    origin: str | None = None,
) -> connect:
    """Open a socket to room, as a page served by that server would: with its Origin
    (the chat refuses others) and, if given, the page's session cookie. Await it, or use
    it in ``async with``."""
    headers = {"Cookie": cookie} if cookie else None
    return connect(
        room_url(server, room, query), origin=origin or server.url, additional_headers=headers
    )


async def receive(websocket: ClientConnection, timeout: float, nothing_came: str) -> dict:
    """The next frame, parsed; TimeoutError(nothing_came) after timeout seconds."""
    try:
        return json.loads(await asyncio.wait_for(websocket.recv(), timeout))
    except TimeoutError:
        raise TimeoutError(nothing_came) from None


async def next_frame(
    websocket: ClientConnection,
    kind: str | None = "message",
    timeout: float = RECEIVE_TIMEOUT,
    **expected: object,
) -> dict:
    """The next frame of that type (None: of any type) and with those values; frames of
    other types are skipped. Each read waits at most timeout seconds (TimeoutError)."""
    wanted = ({"type": kind} if kind else {}) | expected
    fields = ", ".join(f"{key}={value!r}" for key, value in wanted.items())
    seconds = f"{timeout:g}"
    if fields:
        nothing_came = _(
            "no frame with {fields} came within {seconds} s", fields=fields, seconds=seconds
        )
    else:
        nothing_came = _("no frame came within {seconds} s", seconds=seconds)
    while True:
        frame = await receive(websocket, timeout, nothing_came)
        matches = all(frame.get(key) == value for key, value in expected.items())
        if kind in (None, frame["type"]) and matches:
            return frame


async def say(websocket: ClientConnection, message: str) -> None:
    """Send a chat message: the tutorial's {"message": …} frame."""
    await websocket.send(json.dumps({"message": message}))


def guest_cookie(server, room: str) -> str:
    """Open the room's page as a browser would: its session cookie carries a guest name,
    the same one on each socket opened with it."""
    url = f"{server.url}/chat/{quote(room)}/"
    with urllib.request.urlopen(url, timeout=RECEIVE_TIMEOUT) as page:
        cookies = [header.split(";", 1)[0] for header in page.headers.get_all("Set-Cookie")]
    return "; ".join(cookies)


async def join_when_ready(server, room: str, cookie: str | None, deadline: float):
    """A socket in room with presence. While Redis is out of reach the chat answers with an
    error and closes (and a proxy may find no server): knock again, as the room page does,
    until the chat welcomes the socket; TimeoutError at deadline (time.monotonic())."""
    while True:
        try:
            websocket = await join(server, room, query="presence=1", cookie=cookie)
        except (OSError, InvalidHandshake):
            websocket = None
        if websocket is not None:
            try:
                if (await next_frame(websocket, kind=None))["type"] != "error":
                    return websocket
            except ConnectionClosed:
                pass
            await websocket.close()
        if time.monotonic() > deadline:
            raise TimeoutError(_("the chat did not take sockets again in time"))
        await asyncio.sleep(RETRY_SECONDS)


async def wait_for_presence(websocket: ClientConnection, count: int) -> list[str]:
    """Read presence frames until one lists count people; their names (each read has a
    timeout)."""
    while len(users := (await next_frame(websocket, "presence"))["users"]) != count:
        pass
    return users


class GapFreeReader:
    """Reads a room's messages in seq order, each once, as the room page does: when a live
    message's seq jumps, it asks at once, on the same socket, for exactly the ones between.

    Messages that come early (past a gap) wait in ``early`` until the gap is filled; every
    history request it sends is kept in ``asked``.
    """

    def __init__(self, websocket: ClientConnection, last_seq: int = 0) -> None:
        self.websocket = websocket
        # Every message up to this seq has been read
        self.last_seq = last_seq
        self.early: dict[int, dict] = {}
        self.asked: list[dict] = []

    async def next_message(self, timeout: float = RECEIVE_TIMEOUT) -> dict:
        """The message after last_seq; frames of other types are skipped. Each read waits at
        most timeout seconds (TimeoutError)."""
        while self.last_seq + 1 not in self.early:
            nothing_came = _(
                "message seq {seq} did not come within {seconds} s",
                seq=self.last_seq + 1,
                seconds=f"{timeout:g}",
            )
            frame = await receive(self.websocket, timeout, nothing_came)
            if frame["type"] == "message":
                await self.ask_for_gap_before(frame["seq"])
                self.keep([frame])
            elif frame["type"] == "history":
                self.keep(frame["messages"])
                if frame["more"]:
                    await self.ask_for_next_page(frame)
        self.last_seq += 1
        return self.early.pop(self.last_seq)

    def keep(self, messages: list[dict]) -> None:
        # A repeat of a message read already is dropped; one waiting already is the same
        self.early.update((m["seq"], m) for m in messages if m["seq"] > self.last_seq)

    async def ask_for_gap_before(self, seq: int) -> None:
        """A live message's seq is past the highest held + 1: ask for the ones in between."""
        highest = max(self.early, default=self.last_seq)
        if seq > highest + 1:
            await self.ask(highest, seq)

    async def ask_for_next_page(self, page: dict) -> None:
        """A history page said "more": ask on after its last message, up to the next held."""
        after_seq = page["messages"][-1]["seq"]
        await self.ask(after_seq, min((s for s in self.early if s > after_seq), default=None))

    async def ask(self, after_seq: int, before_seq: int | None) -> None:
        request = {"type": "history", "after_seq": after_seq}
        if before_seq is not None:
            request["before_seq"] = before_seq
        self.asked.append(request)
        await self.websocket.send(json.dumps(request))


# What the page waits at most before reconnecting after 1012 (room.js RESTART_SPREAD_MS), and
# between two attempts while no server takes it
RESTART_SPREAD = 1.0
RETRY_SECONDS = 0.2


class ReconnectingClient:
    """A client that stays in a room as the room page does, through nginx or one server:
    when its socket closes (1012 from a draining worker, a worker killed, a proxy gone), it
    reconnects after a random moment under a second with ``?after_seq=`` the last seq it
    read, and it reads the room in seq order, each message once, gaps filled.

        client = ReconnectingClient(nginx, "lobby")
        await client.connect()
        reading = asyncio.create_task(client.read_all_along())   # into client.read
        await client.say("hello")                                 # sent once, even mid-move
    """

    def __init__(self, server, room: str, cookie: str | None = None) -> None:
        self.server = server
        self.room = room
        self.cookie = cookie
        self.last_seq = 0
        self.websocket: ClientConnection | None = None
        self.reader: GapFreeReader | None = None
        # The messages read, in order; how each socket it had was closed (None: no close
        # frame came, as when its server was killed); the address it came back at
        self.read: list[str] = []
        self.frames: list[dict] = []
        self.close_codes: list[int | None] = []

    async def connect(self) -> None:
        """Open a socket to the room, asking for what came after the last message read;
        while no server takes it, try again shortly."""
        while True:
            try:
                query = f"after_seq={self.last_seq}"
                self.websocket = await join(self.server, self.room, query, cookie=self.cookie)
                break
            except (OSError, InvalidHandshake):
                await asyncio.sleep(RETRY_SECONDS)
        self.reader = GapFreeReader(self.websocket, self.last_seq)

    async def read_all_along(self, timeout: float = 60.0) -> None:
        """Read the room into self.read until cancelled, reconnecting whenever the socket
        closes."""
        while True:
            try:
                message = await self.reader.next_message(timeout=timeout)
            except ConnectionClosed as closed:
                self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
                await asyncio.sleep(random.random() * RESTART_SPREAD)
                await self.connect()
                continue
            self.last_seq = message["seq"]
            self.frames.append(message)
            self.read.append(message["message"])

    async def say(self, text: str) -> None:
        """Send text once; if the socket is closing, on the next one."""
        while True:
            websocket = self.websocket
            try:
                await say(websocket, text)
                return
            except ConnectionClosed:
                while self.websocket is websocket:
                    await asyncio.sleep(0.02)

    async def read_up_to(self, count: int) -> None:
        """Return once count messages have been read (wrap it in a timeout)."""
        while len(self.read) < count:
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        if self.websocket is not None:
            await self.websocket.close()
