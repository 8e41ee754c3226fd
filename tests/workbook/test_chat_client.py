"""The workbook's chat client against a real WebSocket server in the test's event loop."""

import asyncio
import json

import pytest
from websockets.asyncio.server import serve

from tests.helpers import assert_japanese, save_unheard
from workbook import free_port
from workbook.chat_client import GapFreeReader, join, next_frame, room_url, say


class Server:
    """Stands in for a started chat server: what join() reads of one is its address and url."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"


@pytest.fixture
async def frames_server():
    """A WebSocket server that records each handshake and sends the frames it is given."""
    handshakes, to_send = [], []

    async def handler(websocket):
        handshakes.append(websocket.request)
        for frame in to_send:
            await websocket.send(json.dumps(frame))
        await websocket.wait_closed()

    port = free_port()
    async with serve(handler, "127.0.0.1", port):
        yield Server(port), handshakes, to_send


def test_room_url_quotes_the_room_and_keeps_the_query():
    """Any room name is a valid URL path segment; the query string follows as given."""
    url = room_url(Server(8001), "雑談 room", "after=0&presence=1")
    assert url == "ws://127.0.0.1:8001/ws/chat/%E9%9B%91%E8%AB%87%20room/?after=0&presence=1"
    assert room_url(Server(8001), "demoroom") == "ws://127.0.0.1:8001/ws/chat/demoroom/"
    assert room_url(Server(8002, "127.0.0.3"), "a") == "ws://127.0.0.3:8002/ws/chat/a/"


async def test_join_sends_the_pages_origin_and_cookie(frames_server):
    """The server sees the Origin of its own pages and the session cookie given."""
    server, handshakes, _ = frames_server
    async with join(server, "demoroom", "presence=1", cookie="sessionid=abc"):
        pass
    request = handshakes[0]
    assert request.path == "/ws/chat/demoroom/?presence=1"
    assert request.headers["Origin"] == server.url
    assert request.headers["Cookie"] == "sessionid=abc"


async def test_next_frame_skips_other_types_and_values(frames_server):
    """Frames of other types, or without the values asked for, are read past."""
    server, _, to_send = frames_server
    to_send += [
        {"type": "presence", "users": ["alice"]},
        {"type": "message", "message": "one"},
        {"type": "presence", "users": ["alice", "bob"]},
        {"type": "message", "message": "two"},
    ]
    async with join(server, "demoroom") as websocket:
        assert (await next_frame(websocket))["message"] == "one"
        both = await next_frame(websocket, "presence", users=["alice", "bob"])
        assert both["users"] == ["alice", "bob"]
        assert (await next_frame(websocket, kind=None))["message"] == "two"


async def test_next_frame_gives_up_after_its_timeout(frames_server):
    """With nothing of that type coming, the read ends with TimeoutError, not a hang."""
    server, _, to_send = frames_server
    to_send.append({"type": "presence", "users": []})
    async with join(server, "demoroom") as websocket:
        with pytest.raises(TimeoutError, match="no frame with type='history' came within 0.2 s"):
            await asyncio.wait_for(next_frame(websocket, "history", timeout=0.2), 5)


async def test_what_a_timeout_says_in_japanese(frames_server, japanese):
    """Each read that gives up says in Japanese what it waited for."""
    server, _, _ = frames_server
    async with join(server, "demoroom") as websocket:
        waits = (
            next_frame(websocket, "presence", timeout=0.1, users=["alice"]),
            next_frame(websocket, None, timeout=0.1),
            GapFreeReader(websocket).next_message(timeout=0.1),
        )
        said = []
        for wait in waits:
            with pytest.raises(TimeoutError) as raised:
                await asyncio.wait_for(wait, 5)
            said.append(str(raised.value))
    for message in said:
        assert_japanese(message)
    assert "type='presence', users=['alice']" in said[0]
    assert "seq 1" in said[2]


@pytest.mark.live
class TestGapFreeReader:
    """GapFreeReader against a real chat server (daphne and Redis) and its database."""

    async def test_a_jump_in_seq_is_filled_on_the_same_socket(
        self, start_chat_server, chat_database
    ):
        """A message saved without a broadcast is fetched as soon as the next one jumps past
        it, and comes before it; the reader asks for exactly that one."""
        server = start_chat_server()
        async with join(server, "gaps") as writer, join(server, "gaps") as websocket:
            reader = GapFreeReader(websocket)
            await say(writer, "one")
            assert (await reader.next_message())["message"] == "one"

            save_unheard(chat_database, "gaps", ["two, never broadcast"])
            await say(writer, "three")
            read = [await reader.next_message() for _ in range(2)]
        assert [(m["seq"], m["message"]) for m in read] == [
            (2, "two, never broadcast"),
            (3, "three"),
        ]
        assert reader.asked == [{"type": "history", "after_seq": 1, "before_seq": 3}]
        assert (reader.last_seq, reader.early) == (3, {})

    async def test_repeats_are_dropped(self, start_chat_server):
        """A message that comes again (in a history frame) is not read twice."""
        server = start_chat_server()
        async with join(server, "repeats") as websocket:
            reader = GapFreeReader(websocket)
            await say(websocket, "one")
            assert (await reader.next_message())["seq"] == 1
            await websocket.send(json.dumps({"type": "history", "after_seq": 0}))
            await say(websocket, "two")
            assert (await reader.next_message())["message"] == "two"
        assert (reader.asked, reader.early) == ([], {})
