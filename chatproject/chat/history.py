"""The chat's memory: rooms and messages in the database, read and written from consumers.

Plain synchronous functions (the ORM is synchronous); consumers call them on database
threads (chat/database.py) so the event loop never waits on the database, by way of
RoomHistory, one socket's view of its room's history.
"""

from collections import Counter

from . import frames
from .authors import Author, is_guest_name
from .database import reading, save_in_time
from .models import Message, Room


def room_named(name: str) -> Room:
    room, _ = Room.objects.get_or_create(name=name)
    return room


def save_message(room: Room, author: Author, text: str) -> dict:
    """Save a message and return what the room hears about it (id, author, time)."""
    message = Message.objects.create(
        room=room, author_id=author.user_id, author_name=author.name, text=text
    )
    return event_for(message)


def messages_after(room: Room, after: int) -> tuple[list, bool]:
    """A page of messages with ids above after, oldest first, and whether more follow."""
    limit = frames.HISTORY_PAGE_SIZE
    found = list(room.messages.filter(id__gt=after).order_by("id")[: limit + 1])
    return [event_for(message) for message in found[:limit]], len(found) > limit


def recent_messages(room: Room, count: int) -> tuple[list, bool]:
    """The last count messages, oldest first (nothing newer can be missing: more is False)."""
    found = list(room.messages.order_by("-id")[:count])
    return [event_for(message) for message in reversed(found)], False


def event_for(message: Message) -> dict:
    """A saved message as a channel-layer event: msgpack-friendly values only."""
    return {
        "id": message.id,
        "message": message.text,
        "author": message.author_name,
        # By name, not by a missing account: a deleted user's messages stay theirs
        "guest": is_guest_name(message.author_name),
        "time": message.created.isoformat(timespec="milliseconds"),
    }


class RoomRows:
    """The rooms this process's sockets are in, each looked up once while it has sockets.

    Looking the room up on every connect was a fifth of a connect's time.
    """

    def __init__(self) -> None:
        self.rows: dict[str, Room] = {}
        self.sockets: Counter[str] = Counter()

    async def open(self, name: str) -> Room:
        row = self.rows.get(name) or await aroom_named(name)
        # Counted once the row is there: a failed lookup leaves nothing to close
        self.sockets[name] += 1
        return self.rows.setdefault(name, row)

    def close(self, name: str) -> None:
        self.sockets[name] -= 1
        if self.sockets[name] <= 0:
            del self.sockets[name]
            self.rows.pop(name, None)


rooms = RoomRows()


class RoomHistory:
    """One socket's room in the database: save its messages, read pages of them back."""

    def __init__(self, room_name: str) -> None:
        self.room_name = room_name
        self.room: Room | None = None

    async def open(self) -> None:
        self.room = await rooms.open(self.room_name)

    def close(self) -> None:
        rooms.close(self.room_name)

    async def save(self, author: Author, text: str) -> dict:
        """Save a message; what the room hears about it (see save_message), or NotSaved."""
        return await save_in_time(save_message, self.room, author, text)

    async def page(self, request: frames.HistoryRequest) -> str:
        """The history frame that answers the request: after an id, or the last few."""
        if request.after is not None:
            messages, more = await amessages_after(self.room, request.after)
        else:
            messages, more = await arecent_messages(self.room, request.recent)
        return frames.history_frame(messages, self.room_name, more)


# A handshake to a new room inserts its row, once per room; everything else here reads
aroom_named = reading(room_named)
amessages_after = reading(messages_after)
arecent_messages = reading(recent_messages)
