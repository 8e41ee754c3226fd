"""Faults with real processes: daphne killed with SIGKILL, Redis stopped mid-conversation.

The client here does what the room page does: it sends numbered messages and counts one as
acknowledged when the room gives it back with an id; when the socket drops it reconnects
with ``?after=<last id seen>`` and backoff, and resends only what was never acknowledged.
The promise under test: every acknowledged message is in the room exactly once, afterwards.
"""

import asyncio
import json
import re

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from chat.outage import CLOSE_TRY_AGAIN_LATER, OUTAGE_RETRY_AFTER, UNAVAILABLE
from workbook import RedisServer

pytestmark = pytest.mark.live

# Whole-test bounds: a fault test that cannot finish fails instead of hanging
SCENARIO_TIMEOUT = 60
ACK_TIMEOUT = 5


class ReconnectingClient:
    """A chat client that survives drops, as the room page does (backoff, ?after=, ids)."""

    def __init__(self, url: str, origin: str) -> None:
        self.url = url
        self.origin = origin
        self.websocket = None
        self.seen: dict[int, str] = {}  # id -> text, each id once
        self.duplicates = 0
        self.reconnects = 0
        self.errors: list[str] = []
        self.close_codes: list[int] = []

    @property
    def last_id(self) -> int:
        return max(self.seen, default=0)

    async def connect(self) -> None:
        """Connect (again), with backoff, and read the history of what was missed."""
        delay = 0.05
        while True:
            self.reconnects += self.websocket is not None
            try:
                url = f"{self.url}?after={self.last_id}"
                self.websocket = await connect(url, origin=self.origin)
                # The first frame is the history page, or an error and a close
                if (await self.read_frame())["type"] == "history":
                    return
            except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError):
                pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def read_frame(self) -> dict:
        try:
            frame = json.loads(await asyncio.wait_for(self.websocket.recv(), ACK_TIMEOUT))
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                self.close_codes.append(closed.rcvd.code)
            raise
        if frame["type"] == "history":
            for message in frame["messages"]:
                self.remember(message)
            if frame["more"]:
                await self.websocket.send(json.dumps({"type": "history", "after": self.last_id}))
        elif frame["type"] == "message":
            self.remember(frame)
        elif frame["type"] == "error":
            self.errors.append(frame["error"])
        return frame

    def remember(self, message: dict) -> None:
        if message["id"] in self.seen:
            self.duplicates += 1
        self.seen[message["id"]] = message["message"]

    def acknowledged(self, text: str) -> bool:
        return text in self.seen.values()

    async def send_until_acknowledged(self, text: str) -> None:
        """Send text until the room has it; a resend only when it was never saved."""
        while not self.acknowledged(text):
            try:
                await self.websocket.send(json.dumps({"message": text}))
                while not self.acknowledged(text):
                    await self.read_frame()
            except (ConnectionClosed, TimeoutError):
                await self.connect()

    async def close(self) -> None:
        if self.websocket is not None:
            await self.websocket.close()


def numbered(count: int, start: int = 1) -> list[str]:
    return [f"message {n:03d}" for n in range(start, start + count)]


def client_in(server, room: str) -> tuple[str, ReconnectingClient]:
    """The room's socket URL on server, and a reconnecting client for it (not yet connected)."""
    url = f"ws://127.0.0.1:{server.port}/ws/chat/{room}/"
    return url, ReconnectingClient(url, server.url)


async def say_numbered(client: ReconnectingClient, count: int, start: int = 1) -> None:
    """Send numbered messages one by one, each only once the room has acknowledged the last."""
    for text in numbered(count, start):
        await client.send_until_acknowledged(text)


async def everything_in_the_room(server, room_url: str) -> ReconnectingClient:
    """A fresh client's view of the whole room, read from history."""
    reader = ReconnectingClient(room_url, server.url)
    await reader.connect()
    await reader.close()
    return reader


def assert_each_once(reader: ReconnectingClient, texts: list[str]) -> None:
    said = [text for text in reader.seen.values() if re.fullmatch(r"message \d{3}", text)]
    assert sorted(said) == sorted(texts), "a message was lost or stored twice"
    assert reader.duplicates == 0


async def test_daphne_killed_and_restarted_loses_nothing(start_chat_server):
    """kill -9 daphne mid-conversation; a new daphne on the same port; all ids once."""
    server = start_chat_server()
    url, client = client_in(server, "faults-kill")

    async def conversation():
        await client.connect()
        await say_numbered(client, 10)
        server.kill()
        restarted = start_chat_server(port=server.port)
        await say_numbered(client, 10, start=11)
        await client.close()
        return restarted

    restarted = await asyncio.wait_for(conversation(), SCENARIO_TIMEOUT)
    assert client.reconnects >= 1, "the client never noticed the kill"
    assert client.duplicates == 0
    assert_each_once(await everything_in_the_room(restarted, url), numbered(20))


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own, to stop and start (the session's Redis stays up)."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


async def test_redis_stopped_and_started_again(start_chat_server, own_redis):
    """Redis goes away: clients hear why and are closed; once it is back, all is there."""
    server = start_chat_server(redis=own_redis.url)
    url, client = client_in(server, "faults-redis")

    async def conversation():
        await client.connect()
        await say_numbered(client, 5)
        own_redis.stop()
        # The open socket is told, then closed with "try again later"
        with pytest.raises(ConnectionClosed):
            while True:
                await client.read_frame()
        # While Redis is down every connection is told the same and closed
        attempt = await connect(f"{url}?after={client.last_id}", origin=server.url)
        error = json.loads(await asyncio.wait_for(attempt.recv(), ACK_TIMEOUT))
        assert (error["code"], error["retry_after"]) == ("unavailable", OUTAGE_RETRY_AFTER)
        await attempt.wait_closed()
        assert attempt.close_code == CLOSE_TRY_AGAIN_LATER

        own_redis.start()
        await say_numbered(client, 5, start=6)
        await client.close()

    await asyncio.wait_for(conversation(), SCENARIO_TIMEOUT)
    assert UNAVAILABLE in client.errors
    assert CLOSE_TRY_AGAIN_LATER in client.close_codes
    assert_each_once(await everything_in_the_room(server, url), numbered(10))

    # The server stayed up, said it once per outage, and noticed the recovery
    assert server.is_running()
    log = server.log()
    assert log.count("Redis is unreachable") == 1, log
    assert "Redis is back" in log
    assert "Traceback" not in log
