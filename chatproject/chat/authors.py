"""Who is speaking: a logged-in user by username, anyone else as a guest.

A guest's name is drawn by the room page and kept in a signed cookie, not in a session:
a visit that does nothing writes no session row. The name always starts with "guest-", and
sign-up refuses usernames that do (or that look like it): a guest cannot pass as a user.
"""

import secrets
from dataclasses import dataclass

from django.core import signing

GUEST_PREFIX = "guest-"
# What a client without a guest name (a script, a test) is called
PLAIN_GUEST_NAME = GUEST_PREFIX.rstrip("-")

# The cookie that keeps a browser's guest name, signed with SECRET_KEY so that nobody can
# pick a name by writing the cookie themselves
GUEST_COOKIE = "chat_guest"
GUEST_COOKIE_SALT = "chat.authors.guest"
# Kept for a year: the same browser is the same guest tomorrow
GUEST_COOKIE_SECONDS = 365 * 24 * 3600

# Letters and digits that cannot be mistaken for one another (no 0/o, 1/l/i): 31 of them,
# six at a time, is 887 million names. guest-0000 … guest-9999 gave 33 pairs of equal names
# in 1,000 page views; this space gives one pair in about 1,800 runs of 1,000 views.
GUEST_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
GUEST_NAME_LENGTH = 6


def is_guest_name(name: str) -> bool:
    """True for the names the chat gives guests, in any case: "guest", "guest-4f7k2m", "Guest-1"."""
    folded = name.casefold()
    return folded == PLAIN_GUEST_NAME or folded.startswith(GUEST_PREFIX)


@dataclass(frozen=True)
class Author:
    name: str
    user_id: int | None = None


def new_guest_name(taken: set[str] = frozenset()) -> str:
    """A guest name that is not in taken (the people present in the room)."""
    while True:
        code = "".join(secrets.choice(GUEST_ALPHABET) for _ in range(GUEST_NAME_LENGTH))
        if (name := GUEST_PREFIX + code) not in taken:
            return name


def signed_guest_name(name: str) -> str:
    """The guest cookie's value for name."""
    return signing.get_cookie_signer(salt=GUEST_COOKIE + GUEST_COOKIE_SALT).sign(name)


def guest_name_in(cookies: dict[str, str]) -> str | None:
    """The guest name the signed cookie carries, or None (no cookie, or a forged one)."""
    value = cookies.get(GUEST_COOKIE)
    if not value:
        return None
    signer = signing.get_cookie_signer(salt=GUEST_COOKIE + GUEST_COOKIE_SALT)
    try:
        name = signer.unsign(value, max_age=GUEST_COOKIE_SECONDS)
    except signing.BadSignature:
        return None
    return name if is_guest_name(name) else None


def author_for(scope: dict) -> Author:
    """The author of a socket's messages, from what AuthMiddlewareStack put in its scope."""
    user = scope.get("user")
    if user is not None and user.is_authenticated:
        return Author(user.get_username(), user.pk)
    # A client without the page's cookie (a script, a test) still chats, as plain "guest"
    return Author(guest_name_in(scope.get("cookies", {})) or PLAIN_GUEST_NAME)
