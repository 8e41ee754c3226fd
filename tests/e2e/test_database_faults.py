"""A real daphne whose database cannot write: another process holds the SQLite file's write
lock; on PostgreSQL (the test run's own server, tests/postgres.py) another connection holds
a room's row lock, or the server is down.

What the chat promises then: a message that cannot be saved within CHAT_SAVE_SECONDS is
answered "not saved" (code not_saved, retry) to its sender alone, the socket stays open,
nothing is broadcast, and the abandoned save never commits, even when the lock comes free
while it still waits; meanwhile handshakes and history (which only read) are served at once,
and on PostgreSQL, which locks a row and not the whole database, other rooms' saves too.
"""

import asyncio
import sqlite3
import time
import urllib.request
from contextlib import contextmanager

import psycopg
import pytest

from chatproject.settings import CHAT_DATABASE_READERS, CHAT_SAVE_SECONDS
from tests.helpers import write_lock_held
from tests.postgres import server_down
from workbook.chat_client import RECEIVE_TIMEOUT, join, next_frame, say

pytestmark = pytest.mark.live

# How long anything that should not wait on the held lock may take
PROMPT_SECONDS = 1.0


async def expect_not_saved(websocket) -> float:
    """Wait for a not_saved answer (skipping nothing); how many seconds it took."""
    started = time.monotonic()
    frame = await next_frame(websocket, None, timeout=CHAT_SAVE_SECONDS + 3)
    assert (frame["type"], frame["code"], frame["retry"]) == ("error", "not_saved", True), frame
    return time.monotonic() - started


async def expect_silence(websocket, seconds: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        await next_frame(websocket, None, timeout=seconds)


def guest_cookie(server, room: str) -> str:
    """Open the room page as a browser would: its session cookie carries a guest name."""
    with urllib.request.urlopen(f"{server.url}/chat/{room}/", timeout=RECEIVE_TIMEOUT) as page:
        cookies = [header.split(";", 1)[0] for header in page.headers.get_all("Set-Cookie")]
    return "; ".join(cookies)


def saved_texts(path: str) -> list[str]:
    with sqlite3.connect(path) as db:
        return [text for (text,) in db.execute("SELECT text FROM chat_message ORDER BY id")]


async def test_a_save_behind_a_held_lock_is_answered_not_saved_and_never_commits(
    start_chat_server, chat_database
):
    """Lock held elsewhere: both messages are answered not_saved in CHAT_SAVE_SECONDS, the
    room hears neither, the socket stays open, and the second, still waiting for the lock
    when it comes free, is rolled back instead of committed."""
    server = start_chat_server()
    async with join(server, "demoroom") as alice, join(server, "demoroom") as bob:
        with write_lock_held(chat_database):
            await say(alice, "first")
            # Sent while the first still waits, so that it begins before its own deadline
            # and is still waiting for the lock when its deadline passes
            await asyncio.sleep(CHAT_SAVE_SECONDS / 2)
            await say(alice, "second")
            assert await expect_not_saved(alice) < CHAT_SAVE_SECONDS / 2 + PROMPT_SECONDS
            assert await expect_not_saved(alice) < CHAT_SAVE_SECONDS + PROMPT_SECONDS
        # The lock came free while the second save still waited for it
        server.wait_for_log("An abandoned save was rolled back before it could commit")
        await expect_silence(bob)

        await say(alice, "third")
        assert (await next_frame(bob))["message"] == "third"
        assert (await next_frame(alice))["message"] == "third"
    assert saved_texts(chat_database) == ["third"]
    assert server.is_running()


async def test_other_rooms_and_handshakes_do_not_wait_for_a_held_lock(
    start_chat_server, chat_database
):
    """While demoroom's save waits: a browser's new socket in another room (a session to
    load, a room to look up, history to read) is served within 1 s, and a send in a third
    room is answered within CHAT_SAVE_SECONDS of its own (not_saved: on SQLite every room
    waits for the one write lock), not after demoroom's wait."""
    server = start_chat_server()
    # The page view saves a session and the first visit a room row: before the lock
    cookie = guest_cookie(server, "quietroom")
    async with join(server, "quietroom"):
        pass
    async with join(server, "demoroom") as alice, join(server, "otherroom") as carol:
        with write_lock_held(chat_database):
            await say(alice, "waiting")
            started = time.monotonic()
            async with join(server, "quietroom", "recent=5", cookie=cookie) as dave:
                assert (await next_frame(dave, None))["type"] == "history"
            assert time.monotonic() - started < PROMPT_SECONDS

            await say(carol, "elsewhere")
            sent = time.monotonic()
            await expect_not_saved(alice)
            await expect_not_saved(carol)
            assert time.monotonic() - sent < CHAT_SAVE_SECONDS + PROMPT_SECONDS
    assert saved_texts(chat_database) == []


def saved_in_postgres(url: str) -> list[tuple[str, int]]:
    """Every saved message as (text, seq), in the order they were saved."""
    with psycopg.connect(url) as db:
        return db.execute("SELECT text, seq FROM chat_message ORDER BY id").fetchall()


@contextmanager
def room_row_locked(url: str, room: str):
    """Another connection holds the room's row lock (SELECT … FOR UPDATE in an open
    transaction) until the block ends: a save in that room waits for it."""
    with psycopg.connect(url) as holder:
        query = "SELECT id FROM chat_room WHERE name = %s FOR UPDATE"
        assert holder.execute(query, (room,)).fetchall(), f"{room!r} has no row to lock"
        try:
            yield
        finally:
            holder.rollback()


async def test_postgres_a_save_behind_a_locked_room_row_is_not_saved_while_other_rooms_save(
    start_chat_server, postgres_database
):
    """PostgreSQL, another connection holding demoroom's row: a message there is answered
    not_saved within CHAT_SAVE_SECONDS, the room hears nothing and it never commits (the next
    one is seq 2), while a message in another room is saved and heard within 1 s."""
    server = start_chat_server(DATABASE_URL=postgres_database)
    async with (
        join(server, "demoroom") as alice,
        join(server, "demoroom") as bob,
        join(server, "otherroom") as carol,
    ):
        # The room's row is made by its first message
        await say(alice, "first")
        assert (await next_frame(bob))["seq"] == 1
        assert (await next_frame(alice))["seq"] == 1
        with room_row_locked(postgres_database, "demoroom"):
            await say(alice, "waiting")
            sent = time.monotonic()
            await say(carol, "elsewhere")
            assert (await next_frame(carol))["message"] == "elsewhere"
            assert time.monotonic() - sent < PROMPT_SECONDS
            await expect_not_saved(alice)
            assert time.monotonic() - sent < CHAT_SAVE_SECONDS + PROMPT_SECONDS

        await say(alice, "after")
        assert (await next_frame(bob))["message"] == "after"
        frame = await next_frame(alice)
        assert (frame["message"], frame["seq"]) == ("after", 2)
    assert saved_in_postgres(postgres_database) == [("first", 1), ("elsewhere", 1), ("after", 2)]


def chat_backends(url: str) -> set[int]:
    """The server processes of PostgreSQL's connections to url's database, but this one."""
    with psycopg.connect(url) as db:
        query = (
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in db.execute(query).fetchall()}


async def test_postgres_connections_are_kept_not_opened_per_message(
    start_chat_server, postgres_database
):
    """The connection that saved the first message is still open after eight more (within
    the burst a socket may send at once), and the
    chat holds no more connections than it has database threads (settings.py: kept
    connections, on fixed pools of threads)."""
    server = start_chat_server(DATABASE_URL=postgres_database)
    async with join(server, "demoroom") as alice:
        await say(alice, "0")
        assert (await next_frame(alice))["seq"] == 1
        first = chat_backends(postgres_database)
        for number in range(1, 9):
            await say(alice, str(number))
            assert (await next_frame(alice))["message"] == str(number)
        after = chat_backends(postgres_database)
    assert first, "no connection was kept after the first save"
    assert first <= after
    # Readers, writers (4 with a DATABASE_URL, which this process has not) and Channels'
    # thread, one more for good measure
    assert len(after) <= CHAT_DATABASE_READERS + 4 + 2, after


async def test_postgres_down_is_answered_not_saved_at_once(
    start_chat_server, postgres_server, postgres_database
):
    """PostgreSQL stopped: a message is answered not_saved within 1 s (the connection is
    refused), the socket stays open, and once the server is back the next message saves."""
    server = start_chat_server(DATABASE_URL=postgres_database)
    async with join(server, "demoroom") as alice:
        await say(alice, "before")
        assert (await next_frame(alice))["seq"] == 1
        with server_down(postgres_server):
            sent = time.monotonic()
            await say(alice, "during")
            await expect_not_saved(alice)
            assert time.monotonic() - sent < PROMPT_SECONDS

        await say(alice, "after")
        frame = await next_frame(alice)
        assert (frame["message"], frame["seq"]) == ("after", 2)
    assert saved_in_postgres(postgres_database) == [("before", 1), ("after", 2)]
    assert server.is_running()
