"""The chat consumer, driven in-process through the whole ASGI application.

The application is the one daphne serves (Origin validator, auth, URL router included),
with the in-memory channel layer; tests/e2e/test_live.py covers Redis and real processes.
"""

import json
import logging

import pytest
from channels.testing import WebsocketCommunicator

from chat.frames import CLOSE_MESSAGE_TOO_BIG, MAX_FRAME_LENGTH
from chatproject.asgi import application
from tests.helpers import PAGE_HEADERS, say, socket_path, users

# Consumers use the database from a worker thread (database_sync_to_async, which also tidies
# stale connections there), which needs a transactional test database; every test runs with
# the room's hub and with a channel per consumer
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("each_way")]


class TestChat:
    async def test_same_room_receives(self):
        """A message sent in a room reaches everyone in it, the sender included."""
        async with users("demoroom", "demoroom") as (alice, bob):
            await say(alice, "hogehoge")
            for user in (alice, bob):
                frame = await user.receive_json_from(timeout=2)
                assert frame["message"] == "hogehoge"
                assert frame["type"] == "message"
                assert frame["room"] == "demoroom"
                assert frame["time"].endswith("+00:00")

    async def test_other_room_does_not_receive(self):
        """A message in one room never reaches a user in another."""
        async with users("demoroom", "otherroom") as (alice, carol):
            await say(alice, "hogehoge")
            assert (await alice.receive_json_from(timeout=2))["message"] == "hogehoge"
            assert await carol.receive_nothing(timeout=0.3)

    @pytest.mark.parametrize("room", ["雑談", "チャット", "café", "a room with spaces!", "x" * 100])
    async def test_unicode_and_long_room_names(self, room):
        """Rooms named in any script, with spaces or at the 100-character limit, work."""
        async with users(room, room) as (alice, bob):
            await say(alice, "こんにちは")
            assert (await bob.receive_json_from(timeout=2))["message"] == "こんにちは"

    async def test_similar_unicode_rooms_are_apart(self):
        """'café' and 'cafe' are different rooms, although their ASCII forms look alike."""
        async with users("café", "cafe") as (accent, plain):
            await say(accent, "bonjour")
            assert (await accent.receive_json_from(timeout=2))["message"] == "bonjour"
            assert await plain.receive_nothing(timeout=0.3)


class TestRefusedHandshakes:
    @pytest.mark.parametrize(
        "path", ["/ws/chat/" + "x" * 101 + "/", "/ws/chat//", "/ws/chat/a%2Fb/", "/ws/nowhere/"]
    )
    async def test_bad_room_paths_are_refused(self, path):
        """Invalid room names and unknown paths refuse the handshake instead of crashing."""
        communicator = WebsocketCommunicator(application, path, headers=[*PAGE_HEADERS])
        connected, _ = await communicator.connect()
        assert not connected

    @pytest.mark.parametrize(
        "headers",
        [
            [(b"origin", b"http://evil.example")],
            [(b"origin", b"http://127.0.0.1.evil.example")],
            [],
        ],
        ids=["foreign", "lookalike", "missing"],
    )
    async def test_foreign_or_missing_origin_is_refused(self, headers):
        """Only pages served from ALLOWED_HOSTS may open a chat socket."""
        communicator = WebsocketCommunicator(application, socket_path("demoroom"), headers=headers)
        connected, _ = await communicator.connect()
        assert not connected


BAD_TEXT_FRAMES = {
    "not JSON": "hello",
    "JSON array": '["hello"]',
    'no "message"': '{"text": "hello"}',
    "must be a string": '{"message": ["hello"]}',
    "empty": '{"message": ""}',
    "too long": json.dumps({"message": "x" * 4001}),
    # Odd frames under the size limit: each gets its error frame, none a traceback or 1011
    "nested too deeply": "[" * 60_000,
    "frame is nested too deeply": '{"message": ' + "[" * 30_000,
    "unknown frame type": json.dumps({"type": {"key": "x" * 10_000}}),
    "frame is not JSON": '{"message": 1' + "0" * 5_000 + "}",
    "must be a message id": json.dumps({"type": "history", "after": 1e308}),
}


BAD_FRAMES = {key: {"text_data": frame} for key, frame in BAD_TEXT_FRAMES.items()}
BAD_FRAMES["binary"] = {"bytes_data": b"\x00\x01"}


class TestBadFrames:
    @pytest.mark.parametrize(("reason", "frame"), BAD_FRAMES.items(), ids=BAD_FRAMES)
    async def test_error_frame_to_the_sender_only(self, reason, frame, caplog):
        """A bad frame gets an error frame; the socket stays open; others notice nothing."""
        async with users("demoroom", "demoroom") as (sender, other):
            with caplog.at_level(logging.INFO):
                await sender.send_to(**frame)
                error = await sender.receive_json_from(timeout=2)
            assert error["type"] == "error"
            assert reason in error["error"]
            assert await other.receive_nothing(timeout=0.2)
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]

            # The sender is still in the room and can chat
            await say(sender, "still here")
            assert (await other.receive_json_from(timeout=2))["message"] == "still here"

    async def test_huge_frame_closes_only_the_sender(self):
        """A huge frame closes the sender's socket with 'message too big', nobody else's."""
        async with users("demoroom", "demoroom") as (sender, other):
            await sender.send_to(text_data="x" * (MAX_FRAME_LENGTH + 1))
            assert "frame too big" in (await sender.receive_json_from(timeout=2))["error"]
            closed = await sender.receive_output(timeout=2)
            assert closed["type"] == "websocket.close"
            assert closed["code"] == CLOSE_MESSAGE_TOO_BIG

            async with users("demoroom") as (third,):
                await say(third, "the room goes on")
                assert (await other.receive_json_from(timeout=2))["message"] == "the room goes on"


class TestFanOut:
    async def test_no_handler_waits_for_a_thread_to_tidy(self, monkeypatch):
        """Handlers skip Channels' tidying hop; the message is still saved and heard by all."""
        import channels.consumer

        from chat.models import Message

        tidied = []

        async def count_tidying():
            tidied.append(1)

        async with users("demoroom", "demoroom", "demoroom") as (alice, bob, carol):
            monkeypatch.setattr(channels.consumer, "aclose_old_connections", count_tidying)
            await say(alice, "hogehoge")
            for user in (alice, bob, carol):
                assert (await user.receive_json_from(timeout=2))["message"] == "hogehoge"
            assert tidied == []
        assert await Message.objects.filter(text="hogehoge").acount() == 1
