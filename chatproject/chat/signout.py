"""Signing out closes the account's open sockets, in every server process.

A socket is authenticated once, at its handshake: without this, a socket opened before a
log-out (or a password change) would go on speaking as the user. Every logged-in socket
joins one group, SIGN_OUTS, through its process's hub: one subscription per process, however
many users are logged in (a group per user would cost a hub, and a connection waiting at
Redis, for each of them). A log-out or a password change sends one event there with the
user's id; each process writes the reason to that user's sockets only, and closes them with
CLOSE_SIGNED_OUT.
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


# The group of every logged-in socket (a room's group starts with "chat_", never like this)
SIGN_OUTS = "accounts.sign_outs"


class SignedOutFrames:
    """A sign-out as what that user's sockets get: the reason, then a close."""

    def __call__(self, event: dict) -> Delivery | None:
        if event["type"] != "chat.signed_out":
            return None
        text = frames.error_frame(SIGNED_OUT, frames.SIGNED_OUT)
        return Delivery(text, user_id=event["user_id"], close_code=frames.CLOSE_SIGNED_OUT)


def close_sockets_of(user_id: int) -> None:
    """Tell every process to close the user's sockets (from sync code: views, signals)."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            SIGN_OUTS, {"type": "chat.signed_out", "user_id": user_id}
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
