"""Real daphne processes, real Redis, real WebSocket clients over 127.0.0.1.

These show what in-process tests cannot: rooms shared across server processes through
Redis, the handshake's HTTP status, and what the server logs.
"""

import asyncio
import json
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from chat.frames import CLOSE_MESSAGE_TOO_BIG
from workbook import start_uvicorn
from workbook.chat_client import RECEIVE_TIMEOUT, join, next_frame, room_url, say

pytestmark = pytest.mark.live

ROOM = "demoroom"


def guest_cookie(server, room: str = ROOM) -> str:
    """Open the room page as a browser would: its session cookie carries a guest name."""
    with urllib.request.urlopen(f"{server.url}/chat/{room}/", timeout=RECEIVE_TIMEOUT) as page:
        cookies = [header.split(";", 1)[0] for header in page.headers.get_all("Set-Cookie")]
    return "; ".join(cookies)


async def wait_for_presence(websocket, condition) -> list[str]:
    """Read presence frames until condition(users) holds (each read has a timeout)."""
    while not condition(users := (await next_frame(websocket, "presence"))["users"]):
        pass
    return users


async def test_two_processes_share_a_room_through_redis(start_chat_server):
    """A client on one daphne receives what a client on another daphne sent."""
    first, second = start_chat_server(), start_chat_server()
    async with join(first, ROOM) as alice, join(second, ROOM) as bob:
        await say(alice, "hogehoge")
        assert (await next_frame(bob, kind=None))["message"] == "hogehoge"
        await say(bob, "fugafuga")
        assert (await next_frame(alice, kind=None))["message"] == "hogehoge"
        assert (await next_frame(alice, kind=None))["message"] == "fugafuga"


async def test_uvicorn_serves_the_chat_and_shares_rooms_with_daphne(start_chat_server):
    """Under uvicorn too a message comes back, uncompressed, and reaches a daphne's client."""
    on_uvicorn = start_chat_server(server=start_uvicorn)
    on_daphne = start_chat_server()
    async with join(on_uvicorn, ROOM) as alice, join(on_daphne, ROOM) as bob:
        # The client offered per-message deflate; this uvicorn turns it down
        assert "Sec-WebSocket-Extensions" not in alice.response.headers
        await say(alice, "hogehoge")
        assert (await next_frame(alice, kind=None))["message"] == "hogehoge"
        assert (await next_frame(bob, kind=None))["message"] == "hogehoge"
    assert "Traceback" not in on_uvicorn.log()


async def test_a_client_that_stops_reading_does_not_hold_up_the_room(start_chat_server):
    """uvicorn waits for a client's full buffer; the hub drops that client, the room goes on."""
    unlimited = {
        name: "1000000"
        for name in (
            "CHAT_MESSAGES_PER_SECOND",
            "CHAT_MESSAGE_BURST",
            "CHAT_CLIENT_MESSAGES_PER_SECOND",
            "CHAT_CLIENT_MESSAGE_BURST",
        )
    }
    server = start_chat_server(server=start_uvicorn, **unlimited)
    # A client that reads nothing (its library stops at one frame): the buffers fill up
    stalled_client = connect(room_url(server, ROOM), origin=server.url, max_queue=1)
    async with stalled_client as stalled, join(server, ROOM) as alice:
        sent, padding = 0, "x" * 3900
        # Up to 12 MB, in rounds of 100 messages, until the server gives up on the client
        while "fell behind" not in server.log() and sent < 3000:
            for number in range(sent, sent + 100):
                await say(alice, f"{number} {padding}")
            for number in range(sent, sent + 100):
                assert (await next_frame(alice, kind=None))["message"].split()[0] == str(number)
            sent += 100
        assert "fell behind" in server.log(), f"{sent} messages never filled the buffers"
        # The room goes on, and the stalled client, once it reads, is told to reconnect
        await say(alice, "still here")
        assert (await next_frame(alice, kind=None))["message"] == "still here"
        with pytest.raises(ConnectionClosedError) as closed:
            while True:
                last = json.loads(await asyncio.wait_for(stalled.recv(), RECEIVE_TIMEOUT))
        assert closed.value.rcvd.code == 4013
        assert last["type"] == "error" and last["retry"] is True
        assert (last["code"], last["retry_after"]) == ("fell_behind", 1.0)
    assert "Traceback" not in server.log()


async def test_in_memory_layer_cannot_cross_processes(start_chat_server):
    """Without Redis each process has its own rooms: the other process never hears."""
    first, second = start_chat_server(redis=None), start_chat_server(redis=None)
    async with join(first, ROOM) as alice, join(second, ROOM) as bob:
        await say(alice, "hogehoge")
        assert (await next_frame(alice, kind=None))["message"] == "hogehoge"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(bob.recv(), 1)
    assert "only this one process can chat" in first.log()


async def test_unicode_room_across_processes(start_chat_server):
    """A Japanese room name works over real sockets and through Redis."""
    first, second = start_chat_server(), start_chat_server()
    async with join(first, "雑談") as alice, join(second, "雑談") as bob:
        await say(alice, "こんにちは")
        assert (await next_frame(bob, kind=None))["message"] == "こんにちは"


async def test_foreign_origin_is_refused_with_403(start_chat_server):
    """A page from another site cannot open a socket: the handshake answers 403."""
    server = start_chat_server()
    for origin in ("http://evil.example", None):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(room_url(server, ROOM), origin=origin):
                pass
        assert refused.value.response.status_code == 403
    assert "WSREJECT /ws/chat/demoroom/" in server.log()


async def test_bad_frames_leave_the_server_and_the_room_unharmed(start_chat_server):
    """Bad frames get errors or closes, nothing is logged as a crash, and others chat on."""
    server = start_chat_server()
    async with join(server, ROOM) as bystander:
        async with join(server, ROOM) as sender:
            # The last, under the size limit, once raised RecursionError in the consumer
            for frame in ("not json", "[1, 2]", "{}", '{"message": ""}', "[" * 60_000):
                await sender.send(frame)
                assert (await next_frame(sender, kind=None))["type"] == "error"
            await sender.send(b"\x00binary")
            assert "binary" in (await next_frame(sender, kind=None))["error"]

        async with join(server, ROOM) as newcomer:
            await say(newcomer, "still working")
            assert (await next_frame(bystander, kind=None))["message"] == "still working"

    log = server.log()
    assert "Traceback" not in log
    assert "ERROR" not in log
    assert server.is_running()


async def test_huge_frame_closes_with_message_too_big(start_chat_server):
    """Past the chat's frame limit: an error frame, a close with 4009, and no crash."""
    server = start_chat_server()
    async with join(server, ROOM) as sender:
        await sender.send(json.dumps({"message": "x" * 100_000}))
        assert "frame too big" in (await next_frame(sender, kind=None))["error"]
        with pytest.raises(ConnectionClosedError) as closed:
            await asyncio.wait_for(sender.recv(), RECEIVE_TIMEOUT)
        assert closed.value.rcvd.code == CLOSE_MESSAGE_TOO_BIG
    assert server.is_running()
    assert "Traceback" not in server.log()


def test_redis_layer_is_logged_at_start(start_chat_server, redis_url):
    """The server says which channel layer it uses, and where."""
    server = start_chat_server()
    assert f"Channel layer: RedisChannelLayer at {redis_url}" in server.log()


async def test_presence_across_processes_and_no_ghosts_after_a_crash(start_chat_server):
    """Both processes list both users; kill -9 one process and its user goes after the TTL."""
    first = start_chat_server(CHAT_PRESENCE_TTL="1.5")
    second = start_chat_server(CHAT_PRESENCE_TTL="1.5")
    alice_cookie, bob_cookie = guest_cookie(first), guest_cookie(second)
    assert alice_cookie != bob_cookie
    # A room of its own: servers other tests stopped leave their entries for a while
    room = "presence-across-processes"
    async with (
        join(first, room, query="presence=1", cookie=alice_cookie) as alice,
        join(second, room, query="presence=1", cookie=bob_cookie) as bob,
    ):
        both = await wait_for_presence(alice, lambda users: len(users) == 2)
        assert all(name.startswith("guest-") for name in both)
        assert await wait_for_presence(bob, lambda users: len(users) == 2) == both

        second.kill()  # no disconnect, no leave: only the expiry can remove bob
        alone = await wait_for_presence(alice, lambda users: len(users) == 1)
        assert alone[0] in both


async def test_an_idle_socket_stays_in_the_room(start_chat_server):
    """Quiet for longer than a layer's 5 s wait at Redis: no timeout, no close, still chats.

    redis-py 8 gives up on a reply after 5 s unless the settings say otherwise, and each
    receive() waits up to 5 s at Redis: without the settings' socket_timeout, idle consumers
    crash with TimeoutError every few seconds.
    """
    server = start_chat_server()
    async with join(server, "idle-room") as idle, join(server, "idle-room") as talker:
        # Eight quiet seconds: nothing arrives, and the socket is not closed either
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(idle.recv(), 8)
        await say(talker, "still there?")
        assert (await next_frame(idle, kind=None))["message"] == "still there?"
    assert "Timeout reading" not in server.log()
    assert "Redis is unreachable" not in server.log()


async def test_a_frame_past_daphnes_limit_drops_only_that_connection(start_chat_server):
    """Past daphne's own 1 MiB limit, daphne drops the TCP connection, as protocol.md says.

    No close frame is sent (the client sees 1006, abnormal closure); the room goes on.
    """
    server = start_chat_server()
    async with join(server, ROOM) as bystander:
        async with join(server, ROOM) as sender:
            with pytest.raises(ConnectionClosedError) as dropped:
                await sender.send("x" * (1024 * 1024 + 1))
                await asyncio.wait_for(sender.recv(), RECEIVE_TIMEOUT)
            assert dropped.value.rcvd is None  # dropped, not closed with a code
        async with join(server, ROOM) as newcomer:
            await say(newcomer, "still working")
            assert (await next_frame(bystander, kind=None))["message"] == "still working"
    assert server.is_running()
