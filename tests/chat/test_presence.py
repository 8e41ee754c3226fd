"""Who is in the room, and who is typing: the stores, and the consumer in-process.

tests/e2e/test_live.py checks presence across two real daphne processes sharing one Redis.
"""

import asyncio
from functools import partial

import pytest
from channels.testing import WebsocketCommunicator

from chat import consumers
from chat.authors import GUEST_COOKIE, signed_guest_name
from chat.presence import TYPING_SECONDS, LocalPresence, RedisPresence
from chatproject.asgi import application
from tests.helpers import PAGE_HEADERS, FakeClock, each_joined, next_of_type, say, socket_path

pytestmark = pytest.mark.django_db(transaction=True)


class TestLocalPresence:
    async def test_join_refresh_leave(self):
        """Joining and leaving change the room and its version; a refresh changes nothing."""
        store = LocalPresence(ttl=30)
        joined = await store.join("room", "socket-a", "alice")
        assert (joined.names, joined.changed) == (["alice"], True)
        refreshed = await store.refresh("room", "socket-a", "alice")
        assert (refreshed.names, refreshed.changed) == (None, False)
        assert refreshed.version == joined.version
        left = await store.leave("room", "socket-a", "alice")
        assert (left.names, left.changed) == ([], True)
        assert left.version > joined.version

    async def test_two_tabs_are_one_person_until_both_close(self):
        store = LocalPresence(ttl=30)
        await store.join("room", "tab-1", "alice")
        assert (await store.join("room", "tab-2", "alice")).names == ["alice"]
        assert (await store.leave("room", "tab-1", "alice")).names == ["alice"]
        assert (await store.leave("room", "tab-2", "alice")).names == []

    async def test_an_entry_nobody_refreshes_expires(self):
        """A crashed server's sockets vanish one TTL after their last refresh."""
        clock = FakeClock()
        store = LocalPresence(ttl=30, clock=clock)
        await store.join("room", "ghost", "casper")
        await store.join("room", "socket-a", "alice")
        clock.now += 20
        await store.refresh("room", "socket-a", "alice")
        clock.now += 15
        snapshot = await store.refresh("room", "socket-a", "alice")
        assert (snapshot.names, snapshot.changed) == (["alice"], True)

    async def test_rooms_are_apart(self):
        store = LocalPresence(ttl=30)
        await store.join("room-1", "socket-a", "alice")
        assert (await store.join("room-2", "socket-b", "bob")).names == ["bob"]


@pytest.mark.live
class TestRedisPresence:
    """The same store in a real Redis, where every server process sees it."""

    @pytest.fixture
    def store(self, redis_url):
        return RedisPresence({"address": redis_url}, ttl=30)

    async def test_join_refresh_leave(self, store):
        joined = await store.join("presence-test-1", "socket-a", "雑談好き")
        assert (joined.names, joined.changed) == (["雑談好き"], True)
        refreshed = await store.refresh("presence-test-1", "socket-a", "雑談好き")
        assert (refreshed.changed, refreshed.version) == (False, joined.version)
        assert refreshed.names is None
        left = await store.leave("presence-test-1", "socket-a", "雑談好き")
        assert (left.names, left.changed) == ([], True)
        assert left.version == joined.version + 1

    async def test_two_processes_share_the_room(self, redis_url):
        """Two stores (two server processes) with one Redis see each other's sockets."""
        first, second = RedisPresence({"address": redis_url}), RedisPresence({"address": redis_url})
        await first.join("presence-test-2", "process-1!a", "alice")
        snapshot = await second.join("presence-test-2", "process-2!b", "bob")
        assert snapshot.names == ["alice", "bob"]
        await first.leave("presence-test-2", "process-1!a", "alice")
        await second.leave("presence-test-2", "process-2!b", "bob")

    async def test_entries_of_a_silent_process_expire(self, redis_url):
        """Entries are scored by Redis's clock: a ghost goes once its TTL has passed."""
        crashed = RedisPresence({"address": redis_url}, ttl=0.2)
        alive = RedisPresence({"address": redis_url}, ttl=30)
        await crashed.join("presence-test-3", "crashed!a", "casper")
        await alive.join("presence-test-3", "alive!b", "alice")
        snapshot = await wait_for_names(alive, "presence-test-3", "alive!b", "alice", ["alice"])
        assert snapshot.changed
        await alive.leave("presence-test-3", "alive!b", "alice")


async def wait_for_names(store, room, socket, name, expected, timeout=5.0):
    """Refresh until the room holds exactly the expected names (or fail after timeout)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        snapshot = await store.refresh(room, socket, name)
        if snapshot.names == expected:
            return snapshot
        assert asyncio.get_running_loop().time() < deadline, f"still {snapshot.names}"
        await asyncio.sleep(0.05)


async def join_as(name: str, room: str = "demoroom", query: str = "presence=1"):
    # The guest cookie the room page sets
    headers = [*PAGE_HEADERS, (b"cookie", f"{GUEST_COOKIE}={signed_guest_name(name)}".encode())]
    path = socket_path(room) + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def guests(*names: str, query: str = "presence=1"):
    """Guests joining one after another; all leave afterwards, pass or fail."""
    return each_joined(partial(join_as, query=query), names)


@pytest.mark.usefixtures("each_way")
class TestPresenceFrames:
    async def test_joining_shows_everyone_present(self):
        async with guests("guest-0001") as (first,):
            assert (await next_of_type(first, "presence"))["users"] == ["guest-0001"]
            async with guests("guest-0002") as (second,):
                expected = ["guest-0001", "guest-0002"]
                assert (await next_of_type(second, "presence"))["users"] == expected
                assert (await next_of_type(first, "presence"))["users"] == expected
            # The second one left
            assert (await next_of_type(first, "presence"))["users"] == ["guest-0001"]

    async def test_only_clients_that_ask_get_presence_frames(self):
        """The tutorial's client reads data.message from every frame: it gets none of these."""
        async with guests("guest-0001", query="") as (plain,):
            async with guests("guest-0002"):
                assert await plain.receive_nothing(timeout=0.3)
            await say(plain, "hogehoge")
            assert (await plain.receive_json_from(timeout=2))["message"] == "hogehoge"

    async def test_presence_is_per_room(self):
        async with guests("guest-0001") as (first,):
            await next_of_type(first, "presence")
            other = await join_as("guest-0002", room="otherroom")
            try:
                assert (await next_of_type(other, "presence"))["users"] == ["guest-0002"]
                assert await first.receive_nothing(timeout=0.3)
            finally:
                await other.disconnect()

    async def test_a_socket_that_crashes_leaves_the_room(self, monkeypatch):
        """An error in a handler ends the socket without a disconnect: presence still hears."""

        def crash(text_data):
            raise RuntimeError("a bug in a handler")

        async with guests("guest-0001") as (first,):
            await next_of_type(first, "presence")
            second = await join_as("guest-0002")
            assert (await next_of_type(first, "presence"))["users"] == ["guest-0001", "guest-0002"]
            monkeypatch.setattr(consumers.frames, "read_client_frame", crash)
            await say(second, "boom")
            assert (await next_of_type(first, "presence"))["users"] == ["guest-0001"]
            with pytest.raises(RuntimeError, match="a bug in a handler"):
                await second.wait(timeout=2)


@pytest.mark.usefixtures("each_way")
class TestTyping:
    async def test_others_see_typing_and_the_typist_does_not(self):
        async with guests("guest-0001", "guest-0002") as (typist, reader):
            await next_of_type(reader, "presence")
            await typist.send_json_to({"type": "typing"})
            frame = await next_of_type(reader, "typing")
            assert frame == {
                "type": "typing",
                "room": "demoroom",
                "author": "guest-0001",
                "seconds": TYPING_SECONDS,
            }
            # Drain the typist's presence frames: nothing else may be waiting
            while (await typist.receive_json_from(timeout=2))["users"] != frame_users(2):
                pass
            assert await typist.receive_nothing(timeout=0.3)

    async def test_typing_is_throttled(self):
        """A burst of notices from one typist reaches the others once."""
        async with guests("guest-0001", "guest-0002") as (typist, reader):
            while (await reader.receive_json_from(timeout=2))["users"] != frame_users(2):
                pass
            for _ in range(5):
                await typist.send_json_to({"type": "typing"})
            assert (await reader.receive_json_from(timeout=2))["type"] == "typing"
            assert await reader.receive_nothing(timeout=0.3)

    async def test_plain_clients_do_not_get_typing_frames(self):
        async with guests("guest-0001") as (typist,), guests("guest-0002", query="") as (plain,):
            await typist.send_json_to({"type": "typing"})
            assert await plain.receive_nothing(timeout=0.3)


def frame_users(count: int) -> list[str]:
    return [f"guest-{n:04d}" for n in range(1, count + 1)]
