"""Signing out closes the account's open sockets, in every server process.

A socket is authenticated once, at its handshake: without this, a socket opened before a
log-out (or a password change) would go on speaking as the user. Each socket of a logged-in
user joins the user's group (through the process's hub, like a room's group); a log-out or
a password change sends one event to that group, and every process writes the reason and
closes its sockets of the user with CLOSE_SIGNED_OUT.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from . import frames
from .hub import Delivery
from .outage import REDIS_ERRORS

logger = logging.getLogger(__name__)

SIGNED_OUT = "this account signed out or changed its password; reload the page to chat again"


def user_group(user_id: int) -> str:
    """The group of one user's sockets ("user." never starts a room's group, "chat_" does)."""
    return f"user.{user_id}"


class SignedOutFrames:
    """The user group's one event as what its sockets get: the reason, then a close."""

    def __call__(self, event: dict) -> Delivery | None:
        if event["type"] != "chat.signed_out":
            return None
        text = frames.error_frame(SIGNED_OUT, frames.SIGNED_OUT)
        return Delivery(text, close_code=frames.CLOSE_SIGNED_OUT)


def close_sockets_of(user_id: int) -> None:
    """Tell every process to close the user's sockets (from sync code: views, signals)."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            user_group(user_id), {"type": "chat.signed_out"}
        )
    except REDIS_ERRORS as error:
        # The log-out itself still happens; the sockets lost Redis too and are closing
        logger.warning("Could not close the sockets of user %s: %s", user_id, error)


def on_logged_out(sender, request, user, **kwargs) -> None:
    """user_logged_out: the user's sockets close (None: the session had no user)."""
    if user is not None:
        close_sockets_of(user.pk)


def on_user_saved(sender, instance, **kwargs) -> None:
    """pre_save of a user: after a new password is committed, the user's sockets close.

    set_password() keeps the raw password in _password until the save, so this is how a
    save tells a password change (admin, set_password, a reset) from any other.
    """
    if instance.pk is not None and getattr(instance, "_password", None) is not None:
        user_id = instance.pk
        transaction.on_commit(lambda: close_sockets_of(user_id))
