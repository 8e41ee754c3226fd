"""Real daphne processes, real Redis, real WebSocket clients over 127.0.0.1.

These show what in-process tests cannot: rooms shared across server processes through
Redis, the handshake's HTTP status, and what the server logs.
"""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from chat.frames import CLOSE_MESSAGE_TOO_BIG

pytestmark = pytest.mark.live

RECEIVE_TIMEOUT = 5


def room_url(server, room: str = "demoroom") -> str:
    return f"ws://127.0.0.1:{server.port}/ws/chat/{room}/"


def join(server, room: str = "demoroom", origin: str | None = None):
    """A websockets client in the room, with the Origin a browser on that server would send."""
    return connect(room_url(server, room), origin=origin or server.url)


async def say(websocket, message: str) -> None:
    await websocket.send(json.dumps({"message": message}))


async def next_frame(websocket) -> dict:
    return json.loads(await asyncio.wait_for(websocket.recv(), RECEIVE_TIMEOUT))


async def test_two_processes_share_a_room_through_redis(start_chat_server):
    """A client on one daphne receives what a client on another daphne sent."""
    first, second = start_chat_server(), start_chat_server()
    async with join(first) as alice, join(second) as bob:
        await say(alice, "hogehoge")
        assert (await next_frame(bob))["message"] == "hogehoge"
        await say(bob, "fugafuga")
        assert (await next_frame(alice))["message"] == "hogehoge"
        assert (await next_frame(alice))["message"] == "fugafuga"


async def test_in_memory_layer_cannot_cross_processes(start_chat_server):
    """Without Redis each process has its own rooms: the other process never hears."""
    first, second = start_chat_server(redis=None), start_chat_server(redis=None)
    async with join(first) as alice, join(second) as bob:
        await say(alice, "hogehoge")
        assert (await next_frame(alice))["message"] == "hogehoge"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(bob.recv(), 1)
    assert "only this one process can chat" in first.log()


async def test_unicode_room_across_processes(start_chat_server):
    """A Japanese room name works over real sockets and through Redis."""
    first, second = start_chat_server(), start_chat_server()
    async with join(first, "雑談") as alice, join(second, "雑談") as bob:
        await say(alice, "こんにちは")
        assert (await next_frame(bob))["message"] == "こんにちは"


async def test_foreign_origin_is_refused_with_403(start_chat_server):
    """A page from another site cannot open a socket: the handshake answers 403."""
    server = start_chat_server()
    for origin in ("http://evil.example", None):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(room_url(server), origin=origin):
                pass
        assert refused.value.response.status_code == 403
    assert "WSREJECT /ws/chat/demoroom/" in server.log()


async def test_bad_frames_leave_the_server_and_the_room_unharmed(start_chat_server):
    """Bad frames get errors or closes, nothing is logged as a crash, and others chat on."""
    server = start_chat_server()
    async with join(server) as bystander:
        async with join(server) as sender:
            for frame in ("not json", "[1, 2]", "{}", '{"message": ""}'):
                await sender.send(frame)
                assert (await next_frame(sender))["type"] == "error"
            await sender.send(b"\x00binary")
            assert "binary" in (await next_frame(sender))["error"]

        async with join(server) as newcomer:
            await say(newcomer, "still working")
            assert (await next_frame(bystander))["message"] == "still working"

    log = server.log()
    assert "Traceback" not in log
    assert "ERROR" not in log
    assert server.is_running()


async def test_huge_frame_closes_with_message_too_big(start_chat_server):
    """Past the chat's frame limit: an error frame, a close with 4009, and no crash."""
    server = start_chat_server()
    async with join(server) as sender:
        await sender.send(json.dumps({"message": "x" * 100_000}))
        assert "frame too big" in (await next_frame(sender))["error"]
        with pytest.raises(ConnectionClosedError) as closed:
            await asyncio.wait_for(sender.recv(), RECEIVE_TIMEOUT)
        assert closed.value.rcvd.code == CLOSE_MESSAGE_TOO_BIG
    assert server.is_running()
    assert "Traceback" not in server.log()


def test_redis_layer_is_logged_at_start(start_chat_server, redis_url):
    """The server says which channel layer it uses, and where."""
    server = start_chat_server()
    assert f"Channel layer: RedisChannelLayer at {redis_url}" in server.log()
