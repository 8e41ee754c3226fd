"""Room names: what a user may type, and the channel-layer group each name maps to.

A room name is any Unicode text up to 100 characters, spaces and punctuation included
(``demoroom``, ``雑談``, ``café au lait``), that shows what it is: no invisible formatting
characters (a zero-width space, a BOM, a right-to-left override that makes "gnp.exe" read
"exe.png") and no space at either end, so that two rooms never look the same. Names are
refused, never silently changed: the name in a URL is the room's name. Channels group names,
however, only allow ``[a-zA-Z0-9-_.]`` and fewer than 100 characters, so the group is
derived, never pasted.
"""

import hashlib
import re
import unicodedata

from django.utils.translation import gettext as _

MAX_ROOM_NAME_LENGTH = 100

# A name made of these characters alone is also a valid group name, kept readable
# ("chat_demoroom") so that Redis keys in the workbook still show the room.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_NOT_GROUP_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


class InvalidRoomName(ValueError):
    """The text cannot name a room; the message says why, in words a user understands (in
    the language of the page that asked)."""


def clean_room_name(raw: str) -> str:
    """Return the canonical form of a room name, or raise InvalidRoomName."""
    # "café" typed as one code point or as "e" + accent is the same room
    name = unicodedata.normalize("NFC", raw)
    if not name.strip():
        raise InvalidRoomName(_("A room name cannot be empty."))
    if len(name) > MAX_ROOM_NAME_LENGTH:
        raise InvalidRoomName(
            _("A room name has at most %(limit)d characters, not %(length)d.")
            % {"limit": MAX_ROOM_NAME_LENGTH, "length": len(name)}
        )
    if "/" in name:
        raise InvalidRoomName(_("A room name cannot contain '/'."))
    # "." and ".." would be read as path steps by every browser
    if not name.strip("."):
        raise InvalidRoomName(_("A room name needs more than dots."))
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
        raise InvalidRoomName(_("A room name cannot contain control characters."))
    if any(unicodedata.category(char) == "Cf" for char in name):
        raise InvalidRoomName(
            _(
                "A room name cannot contain invisible formatting characters "
                "(zero-width spaces, direction marks and the like)."
            )
        )
    # "demo" and "demo " would be two rooms that look the same (str.strip() knows
    # every Unicode space, the ideographic one an IME types included)
    if name != name.strip():
        raise InvalidRoomName(_("A room name cannot start or end with a space."))
    return name


def group_name_for(room_name: str) -> str:
    """Map a clean room name to a valid, collision-free channel-layer group name."""
    if _PLAIN_NAME.fullmatch(room_name):
        return f"chat_{room_name}"
    # Plain names never contain ".", so a hashed name can never equal a plain one
    digest = hashlib.sha256(room_name.encode()).hexdigest()[:16]
    readable = _NOT_GROUP_SAFE.sub("_", room_name)[:40]
    return f"chat_{readable}.{digest}"


def presence_group_for(room_group: str) -> str:
    """The group that hears who comes, goes and types in a room (at most 94 characters).

    Apart from the room's own group, so that clients that only chat (the tutorial's page, a
    script) are not even sent those events. No room's own group ends in ".presence".
    """
    return f"{room_group}.presence"


class RoomNameConverter:
    """URL converter: a path segment that is a valid room name (anything else is a 404)."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        try:
            return clean_room_name(value)
        except InvalidRoomName as error:
            # Django turns a ValueError from a converter into "no match", so a 404
            raise ValueError(str(error)) from error

    def to_url(self, value: str) -> str:
        return value
