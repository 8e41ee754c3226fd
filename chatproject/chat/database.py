"""Database work off the event loop, on small pools of threads, and saves with a deadline.

Channels' database_sync_to_async runs all of a process's database calls on one thread, so
one save waiting for a lock kept every other room's saves, history pages and handshakes
waiting behind it. Here reads and writes have pools of threads of their own (Django gives
each thread its own connection; DatabaseSyncToAsync closes it when it is old or broken, as
it does for Channels' thread).

A save that fails, or cannot finish within CHAT_SAVE_SECONDS, raises NotSaved, and then it
never commits: its thread may still be waiting for a lock, but whichever comes first, the
deadline or the commit, decides (SaveAttempt), so a sender told "not saved" can send the
text again without it showing up twice.
"""

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import Error, transaction

logger = logging.getLogger(__name__)

readers = ThreadPoolExecutor(settings.CHAT_DATABASE_READERS, thread_name_prefix="chat-db-read")
writers = ThreadPoolExecutor(settings.CHAT_DATABASE_WRITERS, thread_name_prefix="chat-db-write")


def reading(func: Callable) -> Callable:
    """func, a plain function that reads the database, as a coroutine on a reader thread."""
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=readers)


class NotSaved(Exception):
    """A save failed or ran out of time: it is not in the database and never will be."""


class Abandoned(Exception):
    """Raised in a save's thread when its sender was already told "not saved"."""


class SaveAttempt:
    """One save's fate, decided once: committed by its thread or abandoned by its waiter."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state = "waiting"

    def decide(self, state: str) -> bool:
        """Move on to state ("committing" or "abandoned") unless the other came first."""
        with self.lock:
            if self.state != "waiting":
                return False
            self.state = state
            return True


def save_unless_abandoned(attempt: SaveAttempt, save: Callable, *args: Any) -> Any:
    """Run save(*args) in one transaction that commits only if no one gave up on it first."""
    # Queued behind a slow save past its own deadline: no need even to begin
    if attempt.state != "waiting":
        raise Abandoned("dropped before it began")
    with transaction.atomic():
        result = save(*args)
        # The last moment to give up: past it, the commit is the sender's answer
        if not attempt.decide("committing"):
            raise Abandoned("rolled back before it could commit")
    return result


writing = DatabaseSyncToAsync(save_unless_abandoned, thread_sensitive=False, executor=writers)


async def save_in_time(save: Callable, *args: Any) -> Any:
    """save(*args) on a writer thread, committed within CHAT_SAVE_SECONDS; or NotSaved."""
    attempt = SaveAttempt()
    running = asyncio.ensure_future(writing(attempt, save, *args))
    try:
        await asyncio.wait({running}, timeout=settings.CHAT_SAVE_SECONDS)
    except asyncio.CancelledError:
        give_up(attempt, running)
        raise
    if not running.done() and give_up(attempt, running):
        logger.warning("A save took over %g s and was abandoned", settings.CHAT_SAVE_SECONDS)
        raise NotSaved(f"the database did not answer within {settings.CHAT_SAVE_SECONDS:g} s")
    # Done, or its commit is under way: the database's answer is the one to give
    try:
        return await running
    except Error as error:
        logger.warning("A save failed: %s: %s", type(error).__name__, error)
        raise NotSaved("the database refused to save it") from error


def give_up(attempt: SaveAttempt, running: asyncio.Future) -> bool:
    """Abandon a save unless it is committing already; its thread's end is only logged."""
    if not attempt.decide("abandoned"):
        return False
    running.add_done_callback(log_abandoned)
    return True


def log_abandoned(running: asyncio.Future) -> None:
    error = None if running.cancelled() else running.exception()
    if isinstance(error, Abandoned):
        logger.info("An abandoned save was %s", error)
    elif error is not None:
        logger.info("An abandoned save ended in %s: %s", type(error).__name__, error)
