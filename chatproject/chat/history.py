"""The chat's memory: rooms and messages in the database, read and written from consumers.

Plain synchronous functions (the ORM is synchronous); consumers call them on database
threads (chat/database.py) so the event loop never waits on the database, by way of
RoomHistory, one socket's view of its room's history.

Rooms are found by name. A room's row is made by its first saved message, so visiting a
name, or opening a socket to it, writes nothing; a room without a row has no history.
"""

from functools import partial

from django.db import connection, transaction
from django.db.models import QuerySet

from . import frames
from .authors import Author, is_guest_name
from .database import reading, save_in_time
from .models import Message, Room


def save_message(room_name: str, author: Author, text: str) -> dict:
    """Save a message as its room's next seq; what the room hears about it (id, seq, time)."""
    # No savepoint inside save_in_time's transaction: it is all or nothing already
    with transaction.atomic(savepoint=False):
        room_id, seq = take_seqs(room_name, 1)
        message = Message.objects.create(
            room_id=room_id, seq=seq, author_id=author.user_id, author_name=author.name, text=text
        )
    return event_for(message)


def save_messages(room_name: str, author: Author, texts: list[str]) -> list[dict]:
    """Save many messages with one INSERT, numbered on in the order given."""
    with transaction.atomic(savepoint=False):
        room_id, first = take_seqs(room_name, len(texts))
        messages = Message.objects.bulk_create(
            Message(
                room_id=room_id,
                seq=first + n,
                author_id=author.user_id,
                author_name=author.name,
                text=text,
            )
            for n, text in enumerate(texts)
        )
    return [event_for(message) for message in messages]


def take_seqs(room_name: str, count: int) -> tuple[int, int]:
    """Count the room's last_seq up by count (its first message makes the room's row);
    the room's id and the first of the seqs taken.

    Only inside the transaction that saves the messages: from the update to the commit,
    other savers in the room wait (Postgres locks the row; SQLite's IMMEDIATE transactions
    lock the file), so seqs are committed in order, without gaps.
    """
    with connection.cursor() as cursor:
        cursor.execute(COUNT_UP, [count, room_name])
        if not cursor.rowcount:
            Room.objects.get_or_create(name=room_name)
            cursor.execute(COUNT_UP, [count, room_name])
        cursor.execute(LAST_SEQ, [room_name])
        room_id, last_seq = cursor.fetchone()
    return room_id, last_seq - count + 1


# Plain SQL that any database runs, rather than the ORM's update() and get(): building
# those two queries in Python cost more than the INSERT. A save with them took 1.6-3.9 ms,
# with these 1.1-2.3 ms, without a seq 0.6-1.3 ms (SQLite, a busy 2-core machine)
COUNT_UP = f"UPDATE {Room._meta.db_table} SET last_seq = last_seq + %s WHERE name = %s"
LAST_SEQ = f"SELECT id, last_seq FROM {Room._meta.db_table} WHERE name = %s"


def messages_after(room_name: str, after: int) -> tuple[list, bool]:
    """A page of messages with ids above after, oldest first, and whether more follow."""
    return page_of(messages_in(room_name).filter(id__gt=after).order_by("id"))


def messages_after_seq(
    room_name: str, after_seq: int, before_seq: int | None = None
) -> tuple[list, bool]:
    """A page of messages with seqs above after_seq (and below before_seq), oldest first,
    and whether more follow."""
    found = messages_in(room_name).filter(seq__gt=after_seq)
    if before_seq is not None:
        found = found.filter(seq__lt=before_seq)
    return page_of(found.order_by("seq"))


def recent_messages(room_name: str, count: int) -> tuple[list, bool]:
    """The last count messages, oldest first (nothing newer can be missing: more is False)."""
    found = list(messages_in(room_name).order_by("-seq")[:count])
    return [event_for(message) for message in reversed(found)], False


def messages_in(room_name: str) -> QuerySet:
    return Message.objects.filter(room__name=room_name)


def page_of(found: QuerySet) -> tuple[list, bool]:
    """The first page of found, and whether more follow (one row more is read to know)."""
    limit = frames.HISTORY_PAGE_SIZE
    rows = list(found[: limit + 1])
    return [event_for(message) for message in rows[:limit]], len(rows) > limit


def event_for(message: Message) -> dict:
    """A saved message as a channel-layer event: msgpack-friendly values only."""
    return {
        "id": message.id,
        "seq": message.seq,
        "message": message.text,
        "author": message.author_name,
        # By name, not by a missing account: a deleted user's messages stay theirs
        "guest": is_guest_name(message.author_name),
        "time": message.created.isoformat(timespec="milliseconds"),
    }


class RoomHistory:
    """One socket's room in the database: save its messages, read pages of them back."""

    def __init__(self, room_name: str) -> None:
        self.room_name = room_name

    async def save(self, author: Author, text: str) -> dict:
        """Save a message; what the room hears about it (see save_message), or NotSaved."""
        return await asave_message(self.room_name, author, text)

    async def page(self, request: frames.HistoryRequest) -> str:
        """The history frame that answers the request: after a seq or an id, or the last few."""
        if request.after_seq is not None:
            messages, more = await amessages_after_seq(
                self.room_name, request.after_seq, request.before_seq
            )
        elif request.after is not None:
            messages, more = await amessages_after(self.room_name, request.after)
        else:
            messages, more = await arecent_messages(self.room_name, request.recent)
        return frames.history_frame(messages, self.room_name, more)


# Saves commit within CHAT_SAVE_SECONDS on a writer thread, or raise NotSaved; the rest reads
asave_message = partial(save_in_time, save_message)
asave_messages = partial(save_in_time, save_messages)
amessages_after = reading(messages_after)
amessages_after_seq = reading(messages_after_seq)
arecent_messages = reading(recent_messages)
