"""Saved messages, history, names and the rate limit, through the whole ASGI application.

Driven in-process like tests/chat/test_consumer.py: the application daphne serves, with the
in-memory channel layer and pytest-django's test database.
"""

import functools

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from chat import consumers, frames, history
from chat.authors import GUEST_COOKIE, Author, signed_guest_name
from chat.counters import counted
from chat.limits import BURST, MESSAGES_PER_SECOND, RateLimit
from chat.models import Message, Room
from chatproject.asgi import application
from tests.helpers import PAGE_HEADERS, FakeClock, say, socket_path, users

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]


@pytest.fixture
async def connect():
    """Open a socket to a room, with a query string, a session and a guest cookie if given.

    Every socket opened disconnects after the test, pass or fail.
    """
    opened = []

    async def open_socket(
        room: str, query: str = "", session_key: str | None = None, guest: str | None = None
    ):
        headers = [*PAGE_HEADERS]
        cookies = []
        if session_key is not None:
            cookies.append(f"{django_settings.SESSION_COOKIE_NAME}={session_key}")
        if guest is not None:
            cookies.append(f"{GUEST_COOKIE}={guest}")
        if cookies:
            headers.append((b"cookie", "; ".join(cookies).encode()))
        path = socket_path(room) + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect()
        assert connected, f"could not open {path!r}"
        opened.append(communicator)
        return communicator

    yield open_socket
    for communicator in opened:
        # A receive that timed out has already cancelled the application
        if not communicator.future.done():
            await communicator.disconnect()


@database_sync_to_async
def seed(room: str, count: int, author: str = "alice") -> list[int]:
    """Save count messages in a room as a guest author; return their ids, oldest first."""
    texts = [f"{room} #{n}" for n in range(count)]
    return [event["id"] for event in history.save_messages(room, Author(author), texts)]


@database_sync_to_async
def saved_rows() -> list[dict]:
    fields = ("id", "text", "author_name", "author_id", "room__name")
    return list(Message.objects.order_by("id").values(*fields))


async def receive(communicator: WebsocketCommunicator, kind: str) -> dict:
    """The next frame, which must be of the given type."""
    frame = await communicator.receive_json_from(timeout=2)
    assert frame["type"] == kind, f"expected a {kind} frame, got {frame}"
    return frame


def ids_of(frame: dict) -> list[int]:
    return [message["id"] for message in frame["messages"]]


async def assert_still_chats(communicator: WebsocketCommunicator) -> None:
    """The socket is open and in its room: its next message comes back to it."""
    await say(communicator, "still here")
    assert (await receive(communicator, "message"))["message"] == "still here"


class TestSavedMessages:
    async def test_saved_before_broadcast(self):
        """The broadcast carries the id of a row that already holds the text, author and room."""
        async with users("demoroom", "demoroom") as (alice, bob):
            await say(alice, "hogehoge")
            frame = await receive(bob, "message")
            rows = await saved_rows()
        assert rows == [
            {
                "id": frame["id"],
                "text": "hogehoge",
                "author_name": "guest",
                "author_id": None,
                "room__name": "demoroom",
            }
        ]
        assert frame["author"] == "guest"
        assert frame["guest"] is True

    async def test_ids_increase(self):
        """Each message gets a larger id than the one before, in the order they were sent."""
        async with users("demoroom") as (alice,):
            for text in ("one", "two", "three"):
                await say(alice, text)
            received = [await receive(alice, "message") for _ in range(3)]
        ids = [frame["id"] for frame in received]
        assert [frame["message"] for frame in received] == ["one", "two", "three"]
        assert ids == sorted(ids)
        assert len(set(ids)) == 3
        assert [row["id"] for row in await saved_rows()] == ids

    async def test_history_repeats_the_broadcast(self, connect):
        """A message read back from history is the frame the room saw live, field for field."""
        async with users("demoroom") as (alice,):
            await say(alice, "hogehoge")
            live = await receive(alice, "message")
        later = await connect("demoroom", "after=0")
        assert (await receive(later, "history"))["messages"] == [live]


@database_sync_to_async
def room_names() -> list[str]:
    return list(Room.objects.values_list("name", flat=True))


def seqs_of(frame: dict) -> list[int]:
    return [message["seq"] for message in frame["messages"]]


class TestSeq:
    async def test_each_room_counts_from_one(self):
        """Messages get seq 1, 2, 3 … in each room, however the rooms' messages interleave."""
        async with users("room-a", "room-b") as (alice, bob):
            for sender in (alice, bob, alice, alice, bob):
                await say(sender, "hi")
            seqs_a = [(await receive(alice, "message"))["seq"] for _ in range(3)]
            seqs_b = [(await receive(bob, "message"))["seq"] for _ in range(2)]
        assert (seqs_a, seqs_b) == ([1, 2, 3], [1, 2])

    async def test_history_gives_the_seq_heard_live(self, connect):
        """History carries each message's seq, the same as its live frame."""
        async with users("demoroom") as (alice,):
            await say(alice, "one")
            await say(alice, "two")
            live = [await receive(alice, "message") for _ in range(2)]
        frame = await receive(await connect("demoroom", "recent=2"), "history")
        assert frame["messages"] == live
        assert seqs_of(frame) == [1, 2]

    async def test_after_seq_in_the_url(self, connect):
        """?after_seq=2 gets every message from seq 3 on."""
        await seed("demoroom", 5)
        frame = await receive(await connect("demoroom", "after_seq=2"), "history")
        assert seqs_of(frame) == [3, 4, 5]
        assert frame["more"] is False

    async def test_exactly_the_missing_range(self, connect):
        """after_seq 2 and before_seq 5 get seqs 3 and 4: a gap between two shown messages."""
        await seed("demoroom", 6)
        socket = await connect("demoroom")
        await socket.send_json_to({"type": "history", "after_seq": 2, "before_seq": 5})
        frame = await receive(socket, "history")
        assert seqs_of(frame) == [3, 4]
        assert frame["more"] is False

    async def test_pages_by_seq(self, connect, monkeypatch):
        """A long range comes in pages; the next page is asked after the last seq given."""
        monkeypatch.setattr(frames, "HISTORY_PAGE_SIZE", 3)
        await seed("demoroom", 8)
        socket = await connect("demoroom", "after_seq=0&before_seq=8")
        first = await receive(socket, "history")
        await socket.send_json_to({"type": "history", "after_seq": 3, "before_seq": 8})
        second = await receive(socket, "history")
        await socket.send_json_to({"type": "history", "after_seq": 6, "before_seq": 8})
        last = await receive(socket, "history")
        assert [seqs_of(page) for page in (first, second, last)] == [[1, 2, 3], [4, 5, 6], [7]]
        assert [page["more"] for page in (first, second, last)] == [True, True, False]

    async def test_a_bad_seq_gets_an_error_and_keeps_the_socket(self, connect):
        """A before_seq that is no whole number is answered with an error frame naming it."""
        socket = await connect("demoroom")
        await socket.send_json_to({"type": "history", "after_seq": 0, "before_seq": "x"})
        assert '"before_seq"' in (await receive(socket, "error"))["error"]
        await assert_still_chats(socket)


class TestRoomRows:
    async def test_a_handshake_makes_no_room(self, connect):
        """Opening sockets to a new name, and asking it for history, writes no room row."""
        socket = await connect("nobody-here", "recent=10")
        assert (await receive(socket, "history"))["messages"] == []
        await socket.send_json_to({"type": "history", "after_seq": 0})
        assert (await receive(socket, "history"))["messages"] == []
        assert await room_names() == []

    async def test_the_first_message_makes_the_room(self, connect):
        """The room's row appears with its first saved message, which has seq 1."""
        socket = await connect("somebody-here")
        await say(socket, "first")
        assert (await receive(socket, "message"))["seq"] == 1
        assert await room_names() == ["somebody-here"]


class TestRecent:
    async def test_last_n_oldest_first(self, connect):
        """?recent=3 gets the three newest messages, oldest first, in one frame."""
        ids = await seed("demoroom", 5)
        frame = await receive(await connect("demoroom", "recent=3"), "history")
        assert ids_of(frame) == ids[-3:]
        assert [message["message"] for message in frame["messages"]] == [
            "demoroom #2",
            "demoroom #3",
            "demoroom #4",
        ]
        assert frame["more"] is False
        assert frame["room"] == "demoroom"
        assert {message["type"] for message in frame["messages"]} == {"message"}

    async def test_empty_room(self, connect):
        """A room nobody spoke in answers ?recent= with an empty history frame."""
        frame = await receive(await connect("demoroom", "recent=10"), "history")
        assert frame["messages"] == []
        assert frame["more"] is False

    @pytest.mark.parametrize(("asked", "given"), [("0", 1), ("1", 1), ("2", 2), ("50", 2)])
    async def test_clamped_to_1_and_max_recent(self, connect, monkeypatch, asked, given):
        """?recent=N gets at least one message and never more than MAX_RECENT."""
        monkeypatch.setattr(frames, "MAX_RECENT", 2)
        ids = await seed("demoroom", 4)
        frame = await receive(await connect("demoroom", f"recent={asked}"), "history")
        assert ids_of(frame) == ids[-given:]

    async def test_no_history_unless_asked(self, connect):
        """A socket without ?recent= or ?after= gets no history: its first frame is its own."""
        await seed("demoroom", 3)
        plain = await connect("demoroom")
        assert await plain.receive_nothing(timeout=0.2)
        await say(plain, "mine")
        frame = await receive(plain, "message")
        assert frame["message"] == "mine"


class TestAfter:
    async def test_exactly_the_later_messages(self, connect):
        """?after=<id> gets every message after that id and none from before it."""
        ids = await seed("demoroom", 5)
        frame = await receive(await connect("demoroom", f"after={ids[1]}"), "history")
        assert ids_of(frame) == ids[2:]
        assert frame["more"] is False

    async def test_after_the_newest(self, connect):
        """A client that has seen the newest message gets an empty history frame."""
        ids = await seed("demoroom", 3)
        frame = await receive(await connect("demoroom", f"after={ids[-1]}"), "history")
        assert frame["messages"] == []
        assert frame["more"] is False

    async def test_the_largest_id_is_an_id_with_nothing_after_it(self, connect):
        await seed("demoroom", 2)
        socket = await connect("demoroom", f"after={frames.MAX_MESSAGE_ID}")
        assert (await receive(socket, "history"))["messages"] == []
        await assert_still_chats(socket)

    async def test_id_past_the_database_range_is_refused(self, connect):
        """An id no database column can hold is a bad id, in the URL or in a frame."""
        socket = await connect("demoroom", "after=" + "9" * 30)
        assert '"after"' in (await receive(socket, "error"))["error"]
        await socket.send_json_to({"type": "history", "after": frames.MAX_MESSAGE_ID + 1})
        assert '"after"' in (await receive(socket, "error"))["error"]
        await assert_still_chats(socket)

    async def test_history_frame_on_a_plain_socket(self, connect):
        """A socket that asked for nothing in its URL may still ask with a history frame."""
        ids = await seed("demoroom", 3)
        plain = await connect("demoroom")
        await plain.send_json_to({"type": "history", "after": ids[0]})
        assert ids_of(await receive(plain, "history")) == ids[1:]

    async def test_history_goes_to_the_asker_only(self, connect):
        """Asking for history is not chatting: the others in the room hear nothing."""
        await seed("demoroom", 3)
        asker = await connect("demoroom")
        other = await connect("demoroom")
        await asker.send_json_to({"type": "history", "after": 0})
        assert len((await receive(asker, "history"))["messages"]) == 3
        assert await other.receive_nothing(timeout=0.2)


class TestPages:
    async def test_pages_until_more_is_false(self, connect, monkeypatch):
        """7 messages in pages of 3: 3, 3 and 1; every id exactly once, in order."""
        monkeypatch.setattr(frames, "HISTORY_PAGE_SIZE", 3)
        ids = await seed("demoroom", 7)
        socket = await connect("demoroom", "after=0")
        pages = [await receive(socket, "history")]
        while pages[-1]["more"]:
            await socket.send_json_to({"type": "history", "after": ids_of(pages[-1])[-1]})
            pages.append(await receive(socket, "history"))
            assert len(pages) <= 3, "more pages than 7 messages fill"
        assert [len(page["messages"]) for page in pages] == [3, 3, 1]
        assert [page["more"] for page in pages] == [True, True, False]
        assert [i for page in pages for i in ids_of(page)] == ids
        assert await socket.receive_nothing(timeout=0.2)

    async def test_no_empty_last_page(self, connect, monkeypatch):
        """When the messages fill whole pages, the last full page already says more=false."""
        monkeypatch.setattr(frames, "HISTORY_PAGE_SIZE", 3)
        ids = await seed("demoroom", 6)
        socket = await connect("demoroom", "after=0")
        first = await receive(socket, "history")
        await socket.send_json_to({"type": "history", "after": ids_of(first)[-1]})
        second = await receive(socket, "history")
        assert (first["more"], second["more"]) == (True, False)
        assert ids_of(first) + ids_of(second) == ids

    async def test_recent_is_one_page(self, connect, monkeypatch):
        """?recent= is not paged: it answers with up to MAX_RECENT messages and more=false."""
        monkeypatch.setattr(frames, "HISTORY_PAGE_SIZE", 3)
        ids = await seed("demoroom", 5)
        frame = await receive(await connect("demoroom", "recent=5"), "history")
        assert ids_of(frame) == ids
        assert frame["more"] is False


class TestRoomsApart:
    async def test_history_never_mixes_rooms(self, connect):
        """Each room's history holds its own messages only, although ids are shared."""
        ids_a = await seed("room-a", 3)
        ids_b = await seed("room-b", 3)
        ids_a += await seed("room-a", 2)
        after_a = await receive(await connect("room-a", "after=0"), "history")
        recent_b = await receive(await connect("room-b", "recent=100"), "history")
        assert ids_of(after_a) == ids_a
        assert ids_of(recent_b) == ids_b
        assert {message["room"] for message in after_a["messages"]} == {"room-a"}
        assert {message["room"] for message in recent_b["messages"]} == {"room-b"}

    async def test_unicode_room_keeps_its_history(self, connect):
        """A message said in 雑談 comes back in 雑談's history, and nowhere else."""
        speaker = await connect("雑談")
        await say(speaker, "こんにちは")
        said = await receive(speaker, "message")
        frame = await receive(await connect("雑談", "recent=10"), "history")
        assert frame["room"] == "雑談"
        assert frame["messages"] == [said]
        other = await receive(await connect("雑談x", "recent=10"), "history")
        assert other["messages"] == []

    async def test_one_room_however_the_name_is_encoded(self, connect):
        """'café' typed with a combining accent is the same room, with the same history."""
        ids = await seed("café", 2)
        await seed("cafe", 1)
        frame = await receive(await connect("cafe\u0301", "after=0"), "history")
        assert ids_of(frame) == ids
        assert frame["room"] == "café"


BAD_QUERIES = ["after=abc", "after=-1", "after=1.5", "after=%EF%BC%91", "recent=abc", "recent=-5"]

BAD_HISTORY_FRAMES = {
    "string": {"type": "history", "after": "x"},
    "missing": {"type": "history"},
    "negative": {"type": "history", "after": -1},
    "fraction": {"type": "history", "after": 1.5},
    "boolean": {"type": "history", "after": True},
}


class TestBadHistoryRequests:
    @pytest.mark.parametrize("query", BAD_QUERIES)
    async def test_bad_query_gets_an_error_and_keeps_the_socket(self, connect, query):
        """A socket URL with a bad ?after= or ?recent= gets an error frame, then chats on."""
        await seed("demoroom", 2)
        socket = await connect("demoroom", query)
        error = await receive(socket, "error")
        assert query.partition("=")[0] in error["error"]
        await assert_still_chats(socket)

    @pytest.mark.parametrize("frame", BAD_HISTORY_FRAMES.values(), ids=BAD_HISTORY_FRAMES)
    async def test_bad_history_frame_gets_an_error_and_keeps_the_socket(self, connect, frame):
        """A history frame without a whole-number id gets an error frame, then chats on."""
        socket = await connect("demoroom")
        other = await connect("demoroom")
        await socket.send_json_to(frame)
        assert '"after"' in (await receive(socket, "error"))["error"]
        assert await other.receive_nothing(timeout=0.2)
        await assert_still_chats(socket)

    @pytest.mark.parametrize("query", ["after=", "recent="])
    async def test_empty_value_gets_an_error(self, connect, query):
        """?after= or ?recent= without a value is a bad value, answered with an error frame."""
        socket = await connect("demoroom", query)
        assert not await socket.receive_nothing(timeout=0.3), "no answer at all"
        await receive(socket, "error")


OVERLONG_ID = "9" * 5000


class TestOverlongIds:
    @pytest.mark.parametrize("asked_by", ["query", "frame"])
    async def test_overlong_id_gets_an_error_and_keeps_the_socket(self, connect, asked_by):
        """An 'id' of thousands of digits gets an error frame; the socket chats on."""
        if asked_by == "query":
            socket = await connect("demoroom", f"after={OVERLONG_ID}")
        else:
            socket = await connect("demoroom")
            await socket.send_json_to({"type": "history", "after": OVERLONG_ID})
        assert '"after"' in (await receive(socket, "error"))["error"]
        await assert_still_chats(socket)


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    """Every connection's rate limit reads this clock instead of time.monotonic."""
    fake = FakeClock()
    monkeypatch.setattr(consumers, "RateLimit", functools.partial(RateLimit, clock=fake))
    return fake


async def flood(sender: WebsocketCommunicator, count: int) -> tuple[list[str], list[str]]:
    """Send count messages back to back; the texts the sender got back, and the errors."""
    for n in range(count):
        await say(sender, f"flood {n}")
    frames_back = [await sender.receive_json_from(timeout=2) for _ in range(count)]
    assert await sender.receive_nothing(timeout=0.2)
    texts = [frame["message"] for frame in frames_back if frame["type"] == "message"]
    errors = [frame for frame in frames_back if frame["type"] == "error"]
    return texts, [error["error"] for error in errors if error["code"] == "rate_limited"]


class TestRateLimit:
    async def test_burst_passes_and_the_next_is_refused(self, clock):
        """BURST + 1 messages at once: BURST reach the room and are saved; one error, counted."""
        refused_before = counted("rate_limited")
        async with users("demoroom", "demoroom") as (alice, bob):
            texts, errors = await flood(alice, BURST + 1)
            heard = [(await receive(bob, "message"))["message"] for _ in range(BURST)]
            assert await bob.receive_nothing(timeout=0.2)
        sent = [f"flood {n}" for n in range(BURST)]
        assert texts == heard == sent
        assert len(errors) == 1
        assert counted("rate_limited") == refused_before + 1
        assert "too many messages" in errors[0]
        assert f"{MESSAGES_PER_SECOND:g} messages a second" in errors[0]
        assert [row["text"] for row in await saved_rows()] == sent

    async def test_other_connections_keep_their_own_limit(self, clock):
        """One user hitting the limit leaves another user's connection free to chat."""
        async with users("demoroom", "demoroom") as (alice, bob):
            await flood(alice, BURST + 1)
            for _ in range(BURST):
                await receive(bob, "message")
            await say(bob, "my turn")
            assert (await receive(bob, "message"))["message"] == "my turn"
            assert (await receive(alice, "message"))["message"] == "my turn"
        assert (await saved_rows())[-1]["text"] == "my turn"

    async def test_refill_allows_one_more(self, clock):
        """1/rate seconds after the burst, exactly one more message goes through."""
        async with users("demoroom") as (alice,):
            await flood(alice, BURST)
            clock.now += 1 / MESSAGES_PER_SECOND
            texts, errors = await flood(alice, 2)
        assert texts == ["flood 0"]
        assert len(errors) == 1
        assert len(await saved_rows()) == BURST + 1

    async def test_history_is_not_limited_by_messages(self, clock, connect):
        """A limited sender still gets the history pages it asks for (the page asks by itself)."""
        socket = await connect("demoroom")
        await flood(socket, BURST + 1)
        await socket.send_json_to({"type": "history", "after": 0})
        assert len((await receive(socket, "history"))["messages"]) == BURST

    async def test_history_requests_have_a_limit_of_their_own(self, clock, connect):
        """Each history request reads the database: a flood of them gets error frames."""
        socket = await connect("demoroom")
        for _ in range(BURST + 1):
            await socket.send_json_to({"type": "history", "after": 0})
        answers = [await socket.receive_json_from(timeout=2) for _ in range(BURST + 1)]
        assert [frame["type"] for frame in answers].count("history") == BURST
        assert "too many history requests" in answers[-1]["error"]
        await assert_still_chats(socket)


@pytest.fixture
def user_client(transactional_db) -> Client:
    """A test client logged in as the user 'alice'."""
    client = Client()
    client.force_login(get_user_model().objects.create_user("alice", password="unused-here"))
    return client


def session_key_of(client: Client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


class TestAuthors:
    async def test_guest_named_by_cookie(self, connect):
        """A socket with the room page's guest cookie speaks under the cookie's guest name."""
        socket = await connect("demoroom", guest=signed_guest_name("guest-4f7k2m"))
        await say(socket, "hello")
        frame = await receive(socket, "message")
        assert (frame["author"], frame["guest"]) == ("guest-4f7k2m", True)
        row = (await saved_rows())[0]
        assert (row["author_name"], row["author_id"]) == ("guest-4f7k2m", None)

    @pytest.mark.parametrize(
        "cookie", ["guest-4f7k2m", "alice:1tx:forged", signed_guest_name("alice")]
    )
    async def test_a_cookie_the_server_did_not_sign_is_plain_guest(self, connect, cookie):
        """A cookie written by hand, or signed but not a guest's name, names nobody."""
        socket = await connect("demoroom", guest=cookie)
        await say(socket, "hello")
        assert (await receive(socket, "message"))["author"] == "guest"

    async def test_no_cookie_is_plain_guest(self, connect):
        """A socket without a session cookie still chats, as 'guest'."""
        socket = await connect("demoroom")
        await say(socket, "hello")
        frame = await receive(socket, "message")
        assert (frame["author"], frame["guest"]) == ("guest", True)

    async def test_unknown_session_is_plain_guest(self, connect):
        """A session cookie the server never issued counts as no session."""
        socket = await connect("demoroom", session_key="x" * 32)
        await say(socket, "hello")
        assert (await receive(socket, "message"))["author"] == "guest"

    async def test_room_page_names_the_guest_the_socket_uses(self, connect, client):
        """The guest name the room page picks is the name the room shows for the socket."""
        page = await database_sync_to_async(client.get)(reverse("chat:room", args=["demoroom"]))
        cookie = client.cookies[GUEST_COOKIE].value
        socket = await connect("demoroom", guest=cookie)
        await say(socket, "hello")
        name = (await receive(socket, "message"))["author"]
        assert name.startswith("guest-")
        assert f"<strong>{name}</strong>" in page.content.decode()

    async def test_logged_in_user_by_username(self, connect, user_client):
        """A logged-in user speaks under their username, not as a guest, and owns the row."""
        socket = await connect("demoroom", session_key=session_key_of(user_client))
        await say(socket, "hello")
        frame = await receive(socket, "message")
        assert (frame["author"], frame["guest"]) == ("alice", False)
        user = await database_sync_to_async(get_user_model().objects.get)(username="alice")
        row = (await saved_rows())[0]
        assert (row["author_name"], row["author_id"]) == ("alice", user.pk)

        # History says the same
        later = await connect("demoroom", "recent=1")
        assert (await receive(later, "history"))["messages"] == [frame]

    async def test_username_wins_over_an_earlier_guest_name(self, connect, client):
        """A guest who logs in keeps the guest cookie, but speaks as the user."""
        await database_sync_to_async(client.get)(reverse("chat:room", args=["demoroom"]))
        user = await database_sync_to_async(get_user_model().objects.create_user)("bob")
        await database_sync_to_async(client.force_login)(user)
        guest = client.cookies[GUEST_COOKIE].value
        socket = await connect("demoroom", session_key=session_key_of(client), guest=guest)
        await say(socket, "hello")
        frame = await receive(socket, "message")
        assert (frame["author"], frame["guest"]) == ("bob", False)
