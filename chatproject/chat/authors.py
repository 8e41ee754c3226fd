"""Who is speaking: a logged-in user by username, anyone else as a guest.

A guest's name comes from their session (the room page gives each browser one), always
starts with "guest-", and sign-up refuses usernames that do: a guest cannot pass as a user.
"""

import secrets
from dataclasses import dataclass

GUEST_PREFIX = "guest-"
# What a client without a guest name (a script, a test) is called
PLAIN_GUEST_NAME = GUEST_PREFIX.rstrip("-")
SESSION_KEY = "chat_guest_name"


def is_guest_name(name: str) -> bool:
    """True for the names the chat gives guests, in any case: "guest", "guest-0042", "Guest-1"."""
    folded = name.casefold()
    return folded == PLAIN_GUEST_NAME or folded.startswith(GUEST_PREFIX)


@dataclass(frozen=True)
class Author:
    name: str
    user_id: int | None = None


def new_guest_name() -> str:
    return f"{GUEST_PREFIX}{secrets.randbelow(10_000):04d}"


def guest_name_for(session) -> str:
    """The guest name kept in a session, chosen on first use."""
    if SESSION_KEY not in session:
        session[SESSION_KEY] = new_guest_name()
    return session[SESSION_KEY]


def author_for(scope: dict) -> Author:
    """The author of a socket's messages, from what AuthMiddlewareStack put in its scope."""
    user = scope.get("user")
    if user is not None and user.is_authenticated:
        return Author(user.get_username(), user.pk)
    session = scope.get("session")
    # A client without the page's cookie (a script, a test) still chats, as plain "guest"
    name = session.get(SESSION_KEY) if session is not None else None
    return Author(name or PLAIN_GUEST_NAME)
