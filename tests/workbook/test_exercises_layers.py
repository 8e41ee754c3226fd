"""The checks of notebook 05 accept the right answers and explain wrong ones."""

import asyncio
import json
import uuid

import pytest
import redis
from websockets.exceptions import ConnectionClosedError

from chat.rooms import group_name_for
from tests.helpers import assert_japanese
from workbook.checks import ExerciseFailed
from workbook.exercises.layers import (
    check_group_members,
    check_kept_messages,
    check_lobby_announcement,
)

TEXT = "Welcome to the lobby!"
EVENT = {"type": "chat.message", "message": TEXT, "time": "2025-01-01T00:00:00.000+00:00"}


class FakeSocket:
    """A client that hands out the given frames, then waits forever or reports a close."""

    def __init__(self, *messages: str, closes: bool = False) -> None:
        self.frames = [json.dumps({"type": "message", "message": m}) for m in messages]
        self.closes = closes
        self.reads = 0

    async def recv(self) -> str:
        self.reads += 1
        if self.frames:
            return self.frames.pop(0)
        if self.closes:
            raise ConnectionClosedError(None, None)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable: the check's timeout cancels the wait")


class TestLobbyAnnouncement:
    async def test_received_announcement_passes(self):
        """The announcement arriving at the lobby client passes."""
        assert await check_lobby_announcement(EVENT, FakeSocket(TEXT), TEXT, must_pass=True)

    async def test_earlier_frames_are_skipped(self):
        """Frames from earlier attempts before the announcement do not spoil it."""
        socket = FakeSocket("an old try", TEXT)
        assert await check_lobby_announcement(EVENT, socket, TEXT, must_pass=True)

    async def test_none_does_not_wait(self, capsys):
        """An answer left at None is 'not done yet', without reading from the client."""
        socket = FakeSocket()
        assert not await check_lobby_announcement(None, socket, TEXT)
        assert socket.reads == 0
        assert "still None" in capsys.readouterr().out

    async def test_nothing_received_names_the_group(self, capsys):
        """Silence is explained by the group name to send to."""
        assert not await check_lobby_announcement(EVENT, FakeSocket(), TEXT, timeout=0.1)
        assert "chat_lobby" in capsys.readouterr().out

    async def test_other_message_is_quoted(self, capsys):
        """A different text is shown next to the expected one."""
        assert not await check_lobby_announcement(EVENT, FakeSocket("hi"), TEXT, timeout=0.1)
        assert "received ['hi']" in capsys.readouterr().out

    async def test_closed_connection_explains_the_event(self):
        """A consumer that failed on the event is explained in a solution cell."""
        with pytest.raises(ExerciseFailed, match="needs"):
            await check_lobby_announcement(EVENT, FakeSocket(closes=True), TEXT, must_pass=True)

    @pytest.mark.parametrize(
        ("event", "socket"),
        [
            (None, FakeSocket()),
            (EVENT, FakeSocket(TEXT)),
            (EVENT, FakeSocket()),
            (EVENT, FakeSocket("hi")),
            (EVENT, FakeSocket(closes=True)),
        ],
        ids=["None", "right", "nothing", "other message", "closed"],
    )
    async def test_the_japanese_edition_explains_in_japanese(self, event, socket, japanese, capsys):
        """Every verdict on the announcement, right, wrong or not sent, is in Japanese."""
        await check_lobby_announcement(event, socket, TEXT, timeout=0.1)
        assert_japanese(capsys.readouterr().out)


@pytest.fixture
def room_group(redis_url):
    """A room whose group in Redis holds two channel names; yields (room, names)."""
    room = f"部屋 {uuid.uuid4().hex[:8]}"
    key = f"asgi:group:{group_name_for(room)}"
    names = [f"specific.test!{uuid.uuid4().hex}" for _ in range(2)]
    client = redis.Redis.from_url(redis_url)
    client.zadd(key, {name: index for index, name in enumerate(names)})
    yield room, names
    client.delete(key)
    client.close()


# Each kind of wrong list of names (made from the right one), and what its explanation says
WRONG_MEMBERS = {
    "bytes": (lambda names: [name.encode() for name in names], "bytes"),
    "pairs": (lambda names: [(name, 1.0) for name in names], "withscores"),
    "short": (lambda names: names[:1], "the group has 2 names, your list 1"),
    "others": (lambda names: ["specific.other!1", "specific.other!2"], "not the names"),
    "string": (lambda names: names[0], "not one string"),
}


class TestGroupMembers:
    def test_the_names_in_redis_pass(self, room_group, redis_url):
        """The list of names in the room's group passes, in any order."""
        room, names = room_group
        assert check_group_members(names[::-1], redis_url, room, must_pass=True)

    @pytest.mark.parametrize(("mangle", "says"), WRONG_MEMBERS.values(), ids=list(WRONG_MEMBERS))
    def test_wrong_answers_are_explained(self, room_group, redis_url, mangle, says, capsys):
        """Bytes, pairs, a short list, other names or a single string are explained."""
        room, names = room_group
        assert not check_group_members(mangle(names), redis_url, room)
        assert says in capsys.readouterr().out

    @pytest.mark.parametrize(
        "mangle",
        [lambda names: None, list, *(mangle for mangle, _says in WRONG_MEMBERS.values())],
        ids=["None", "right", *WRONG_MEMBERS],
    )
    def test_the_japanese_edition_explains_in_japanese(
        self, room_group, redis_url, mangle, japanese, capsys
    ):
        """Every verdict on the group's names is in Japanese."""
        room, names = room_group
        check_group_members(mangle(names), redis_url, room)
        assert_japanese(capsys.readouterr().out)


# Wrong lists of kept messages (capacity 5, 8 sent), and what their explanation says
WRONG_KEPT = [
    ([3, 4, 5, 6, 7], "newest"),
    ([], "empty"),
    ([0, 1, 2, 3, 4, 5], "holds no more"),
    ([0, 1, 2], "you received [0, 1, 2]"),
]


class TestKeptMessages:
    def test_the_first_ones_pass(self):
        """The first `capacity` messages are what a full channel keeps."""
        assert check_kept_messages([0, 1, 2, 3, 4], capacity=5, sent=8, must_pass=True)

    @pytest.mark.parametrize(("kept", "says"), WRONG_KEPT)
    def test_wrong_answers_are_explained(self, kept, says, capsys):
        """The newest ones, none, too many or too few are explained."""
        assert not check_kept_messages(kept, capacity=5, sent=8)
        assert says in capsys.readouterr().out

    @pytest.mark.parametrize("kept", [None, [0, 1, 2, 3, 4], *(kept for kept, _says in WRONG_KEPT)])
    def test_the_japanese_edition_explains_in_japanese(self, kept, japanese, capsys):
        """Every verdict on the kept messages is in Japanese."""
        check_kept_messages(kept, capacity=5, sent=8)
        assert_japanese(capsys.readouterr().out)
