"""The chat's memory: rooms and messages in the database, read and written from consumers.

Plain synchronous functions (the ORM is synchronous); consumers call them through
database_sync_to_async so the event loop never waits on the database.
"""

from channels.db import database_sync_to_async

from . import frames
from .authors import Author, is_guest_name
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


aroom_named = database_sync_to_async(room_named)
asave_message = database_sync_to_async(save_message)
amessages_after = database_sync_to_async(messages_after)
arecent_messages = database_sync_to_async(recent_messages)
