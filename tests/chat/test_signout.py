"""Signing out, or a new password, closes the user's open sockets: an error frame with code
signed_out, then close code 4401; other people's sockets stay. In-process, through the
whole ASGI application, with a hub and with a channel per consumer (tests/e2e/test_signout.py
does it across two daphne processes and Redis)."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from chat import frames
from chatproject.asgi import application
from tests.helpers import PAGE_HEADERS, say, socket_path

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("each_way")]


def logged_in_client(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user(username, password="old password"))
    return client


async def open_as(client: Client | None, room: str = "demoroom") -> WebsocketCommunicator:
    headers = [*PAGE_HEADERS]
    if client is not None:
        session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"sessionid={session}".encode()))
    communicator = WebsocketCommunicator(application, socket_path(room), headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def assert_signed_out(communicator: WebsocketCommunicator) -> None:
    """The socket hears why, then closes with CLOSE_SIGNED_OUT."""
    frame = await communicator.receive_json_from(timeout=2)
    assert (frame["type"], frame["code"]) == ("error", frames.SIGNED_OUT)
    assert await communicator.receive_output(timeout=2) == {
        "type": "websocket.close",
        "code": frames.CLOSE_SIGNED_OUT,
    }


async def assert_still_chats(communicator: WebsocketCommunicator) -> None:
    await say(communicator, "still here")
    assert (await communicator.receive_json_from(timeout=2))["message"] == "still here"


async def test_log_out_closes_every_socket_of_the_user():
    """Alice's two sockets (two rooms) close on her log-out; bob's and a guest's stay."""
    alice = await database_sync_to_async(logged_in_client)("alice")
    bob = await database_sync_to_async(logged_in_client)("bob")
    sockets = [await open_as(alice), await open_as(alice, "other"), await open_as(bob)]
    guest = await open_as(None, "other")
    try:
        await sync_to_async(alice.post)("/accounts/logout/")
        await assert_signed_out(sockets[0])
        await assert_signed_out(sockets[1])
        await assert_still_chats(sockets[2])
        # The guest shares a room with alice's closed socket, and chats on
        await assert_still_chats(guest)
    finally:
        for communicator in (*sockets[2:], guest):
            await communicator.disconnect()


async def test_a_new_password_closes_the_users_sockets():
    """set_password() and save(): alice's socket closes once the change is committed."""
    alice = await database_sync_to_async(logged_in_client)("alice")
    socket = await open_as(alice)

    def change_password():
        user = get_user_model().objects.get(username="alice")
        user.set_password("a new password")
        user.save()

    await database_sync_to_async(change_password)()
    await assert_signed_out(socket)


async def test_other_saves_of_the_user_close_nothing():
    """A save that does not change the password (last_login, a new e-mail) leaves it open."""
    alice = await database_sync_to_async(logged_in_client)("alice")
    socket = await open_as(alice)
    try:

        def change_email():
            user = get_user_model().objects.get(username="alice")
            user.email = "alice@example.org"
            user.save()

        await database_sync_to_async(change_email)()
        await assert_still_chats(socket)
    finally:
        await socket.disconnect()
