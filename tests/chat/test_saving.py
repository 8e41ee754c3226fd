"""A save the database refuses or cannot finish in time: the sender alone hears "not saved",
nothing is broadcast or committed later, and other rooms' reads and handshakes go on.

In-process, on pytest-django's SQLite test database. The database's refusals are real
SQLite errors, made on the writer thread's own connection: a page limit makes the database
full, query_only makes it read-only. A save held up on the writer thread stands for a
database that does not answer; tests/e2e/test_database_faults.py has a real lock held by
another process.
"""

import asyncio
import threading
import time
from collections.abc import Callable

import pytest
from channels.db import DatabaseSyncToAsync
from django.conf import settings as django_settings
from django.db import connection

from chat import database, history
from chat.authors import Author
from chat.counters import counted
from chat.models import Message
from tests.helpers import join, say, users

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("in_memory_layer")]

# How long an answer that should come at once may take
PROMPT_SECONDS = 1.0


async def on_writer_thread(func: Callable) -> object:
    """Run func on the chat's database writer thread (SQLite's settings have one)."""
    assert django_settings.CHAT_DATABASE_WRITERS == 1
    return await DatabaseSyncToAsync(func, thread_sensitive=False, executor=database.writers)()


def pragma(statement: str) -> Callable:
    def run() -> list:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA {statement}")
            return cursor.fetchall()

    return run


def make_full() -> None:
    """No page may be added to the database: the next row that needs one does not fit."""
    # Without free pages first: the test database's earlier tests left some
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")
    ((pages,),) = pragma("page_count")()
    pragma(f"max_page_count = {pages}")()


FAULTS = {
    "disk full": (make_full, pragma("max_page_count = 1073741823")),
    "read-only": (pragma("query_only = ON"), pragma("query_only = OFF")),
}


@pytest.fixture(params=list(FAULTS))
async def database_fault(request):
    """The writer's connection refuses writes as the fault named; mended after the test."""
    make, mend = FAULTS[request.param]
    await on_writer_thread(make)
    yield request.param
    await on_writer_thread(mend)


@pytest.fixture
async def stuck_writer():
    """The writer thread busy with a save that does not end until the test lets it go."""
    release = threading.Event()
    started = threading.Event()

    def wait_for_release() -> None:
        started.set()
        release.wait(timeout=30)

    blocked = asyncio.ensure_future(on_writer_thread(wait_for_release))
    await asyncio.to_thread(started.wait, 5)
    yield release
    release.set()
    await blocked


async def rows() -> list[str]:
    return await database.reading(lambda: list(Message.objects.values_list("text", flat=True)))()


async def expect_not_saved(socket) -> dict:
    frame = await socket.receive_json_from(timeout=5)
    assert frame["type"] == "error", frame
    assert frame["code"] == "not_saved"
    assert frame["retry"] is True
    assert "not saved" in frame["error"]
    return frame


async def expect_message(socket, text: str) -> None:
    frame = await socket.receive_json_from(timeout=5)
    assert (frame["type"], frame["message"]) == ("message", text)


async def test_a_save_the_database_refuses_is_answered_to_its_sender_only(database_fault):
    """Disk full or read-only: not_saved with retry to the sender, counted, nothing broadcast
    or saved; the socket stays open and chats once the database writes again."""
    before = counted("not_saved")
    async with users("demoroom", "demoroom") as (alice, bob):
        # 12,000 bytes of UTF-8: more than fit in the pages the database has (disk full)
        lost = "満" * 4000
        await say(alice, lost)
        await expect_not_saved(alice)
        assert await bob.receive_nothing(timeout=0.3)
        assert counted("not_saved") == before + 1
        assert await rows() == []

        await on_writer_thread(FAULTS[database_fault][1])
        await say(alice, lost)
        await expect_message(alice, lost)
        await expect_message(bob, lost)
    assert await rows() == [lost]


async def test_a_save_past_its_deadline_is_answered_and_never_commits(settings, stuck_writer):
    """A save that cannot start within CHAT_SAVE_SECONDS is answered not_saved then, and
    when the database is free again it is dropped, not written."""
    settings.CHAT_SAVE_SECONDS = 0.5
    async with users("demoroom", "demoroom") as (alice, bob):
        started = time.monotonic()
        await say(alice, "too late")
        await expect_not_saved(alice)
        assert time.monotonic() - started < settings.CHAT_SAVE_SECONDS + PROMPT_SECONDS
        assert await bob.receive_nothing(timeout=0.2)

        stuck_writer.set()
        await say(alice, "in time")
        await expect_message(bob, "in time")
    assert await rows() == ["in time"]


async def test_reads_and_handshakes_do_not_wait_for_a_stuck_save(settings, stuck_writer):
    """While a save waits, a new socket in another room joins and gets its history at once."""
    settings.CHAT_SAVE_SECONDS = 10
    async with users("demoroom") as (alice,):
        await say(alice, "waiting")
        started = time.monotonic()
        carol = await join("otherroom")
        try:
            await carol.send_json_to({"type": "history", "after": 0})
            assert (await carol.receive_json_from(timeout=PROMPT_SECONDS))["type"] == "history"
        finally:
            await carol.disconnect()
        assert time.monotonic() - started < PROMPT_SECONDS
        stuck_writer.set()
        await expect_message(alice, "waiting")


async def test_a_save_given_up_after_its_insert_is_rolled_back():
    """The waiter gives up between the insert and the commit: the row never commits."""
    attempt = database.SaveAttempt()

    def save_then_give_up() -> dict:
        event = history.save_message("demoroom", Author("alice"), "given up")
        # The deadline passes here, in the waiter's thread
        assert attempt.decide("abandoned")
        return event

    with pytest.raises(database.Abandoned, match="rolled back"):
        await database.writing(attempt, save_then_give_up)
    assert await rows() == []


def test_a_committing_save_cannot_be_abandoned():
    """Once its thread is committing, the deadline no longer decides: the commit does."""
    attempt = database.SaveAttempt()
    assert attempt.decide("committing")
    assert not attempt.decide("abandoned")
    assert attempt.state == "committing"
