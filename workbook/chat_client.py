"""A small client of the finished chat, for notebook cells and tests: join a room on a
started server as its own page would, and read the next frame of a given type.

It is `websockets.connect` with the chat's URL, Origin and cookie filled in, and a read that
never waits forever.
"""

import asyncio
import json
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect

from .servers import BackgroundServer

# How long one read waits for a frame before it gives up
RECEIVE_TIMEOUT = 5.0


def room_url(server: BackgroundServer, room: str, query: str = "") -> str:
    """The WebSocket URL of a room on a started chat server (any room name: 雑談 too)."""
    url = f"ws://127.0.0.1:{server.port}/ws/chat/{quote(room)}/"
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


async def next_frame(
    websocket: ClientConnection,
    kind: str | None = "message",
    timeout: float = RECEIVE_TIMEOUT,
    **expected: object,
) -> dict:
    """The next frame of that type (None: of any type) and with those values; frames of
    other types are skipped. Each read waits at most timeout seconds (TimeoutError)."""
    while True:
        frame = json.loads(await asyncio.wait_for(websocket.recv(), timeout))
        matches = all(frame.get(key) == value for key, value in expected.items())
        if kind in (None, frame["type"]) and matches:
            return frame


async def say(websocket: ClientConnection, message: str) -> None:
    """Send a chat message: the tutorial's {"message": …} frame."""
    await websocket.send(json.dumps({"message": message}))
