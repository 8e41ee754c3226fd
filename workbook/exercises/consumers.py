"""Checks for notebook 03 (consumers, routing and asgi.py, tested in-process).

Each check drives the attendee's consumer or application with a WebsocketCommunicator, in
this process and with the project's channel layer, and says in plain words what came back
wrong. They are async: a notebook cell awaits them.
"""

import contextlib
import json
from collections.abc import Callable
from typing import Any

from channels.consumer import SyncConsumer
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.exceptions import SynchronousOnlyOperation
from django.urls import re_path

from ..checks import Verdict, check_problem, check_value

# Seconds a check waits for one answer from the application
TIMEOUT = 1.0
ECHO_ORIGIN = "https://chat.example.com"


class Wrong(Exception):
    """What the attempt did wrong, in words for the attendee."""


def communicator(application: Callable, path: str, origin: str | None) -> WebsocketCommunicator:
    """A communicator for path that sends origin as its Origin header (None: no header)."""
    headers = [(b"origin", origin.encode())] if origin else []
    return WebsocketCommunicator(application, path, headers=headers)


async def close_all(communicators: list[WebsocketCommunicator]) -> None:
    """Disconnect every communicator whose application still runs, whatever went wrong."""
    for each in communicators:
        if not each.future.done():
            with contextlib.suppress(Exception):
                await each.disconnect()


async def connected(each: WebsocketCommunicator, who: str) -> bool:
    """Open the socket; the application's crash or silence becomes a Wrong."""
    try:
        accepted, _ = await each.connect(timeout=TIMEOUT)
    except TimeoutError:
        raise Wrong(
            f"{who}: the handshake got no answer; connect() must call self.accept()"
        ) from None
    except Exception as error:
        raise Wrong(f"{who}: the application raised {type(error).__name__}: {error}") from error
    return accepted


async def received_json(each: WebsocketCommunicator, who: str) -> Any:
    """The next frame, parsed; no frame, a crash or text that is not JSON becomes a Wrong."""
    try:
        text = await each.receive_from(timeout=TIMEOUT)
    except TimeoutError:
        raise Wrong(f"{who} got nothing back") from None
    except Exception as error:
        raise Wrong(f"the consumer raised {type(error).__name__}: {error}") from error
    try:
        return json.loads(text)
    except ValueError:
        raise Wrong(f"{who} got {text!r}, which is not JSON; send json.dumps({{...}})") from None


def is_consumer_class(answer: object) -> bool:
    return isinstance(answer, type) and hasattr(answer, "as_asgi")


async def shout_problem(consumer: type) -> str | None:
    """Run the shout consumer with two sockets in one room; None if all went right."""
    if not is_consumer_class(consumer):
        return "ShoutConsumer must be a class: class ShoutConsumer(WebsocketConsumer): ..."
    # Any room route works, so a consumer that reads scope["url_route"] finds its room
    route = re_path(r"^ws/chat/(?P<room_name>[^/]+)/$", consumer.as_asgi())
    application = URLRouter([route])
    sender = communicator(application, "/ws/chat/shoutroom/", None)
    listener = communicator(application, "/ws/chat/shoutroom/", None)
    try:
        for each, who in ((sender, "the sender"), (listener, "a second socket")):
            if not await connected(each, who):
                return f"{who} was refused; connect() must call self.accept()"
        await sender.send_json_to({"message": "hogehoge"})
        reply = await received_json(sender, "the sender")
        if not isinstance(reply, dict) or "message" not in reply:
            return f'the sender got {reply!r}; send a JSON object {{"message": ...}}'
        if reply["message"] == "hogehoge":
            return "the message came back unchanged; upper-case it with .upper()"
        if reply["message"] != "HOGEHOGE":
            return f'expected {{"message": "HOGEHOGE"}}, the sender got {reply!r}'
        if not await listener.receive_nothing(timeout=0.2):
            return (
                "another socket in the same room got the reply too: group_send reaches the "
                "whole group; answer with self.send() to reach only the sender"
            )
    except Wrong as wrong:
        return str(wrong)
    finally:
        await close_all([sender, listener])
    return None


async def check_shout_consumer(consumer: type | None, must_pass: bool = False) -> Verdict:
    """Exercise 03.1: a consumer that answers {"message": m} with m upper-cased, to its sender."""
    if consumer is None:
        return check_value(None, bool, "write the class ShoutConsumer", must_pass)
    problem = await shout_problem(consumer)
    return check_problem(
        problem,
        must_pass,
        well_done="Correct: HOGEHOGE went back to the sender, and nobody else heard it.",
    )


async def echo_problem(application: Callable) -> str | None:
    """Try the echo application from the allowed page and from others; None if all went right."""
    if not callable(application):
        return f"echo_application is a {type(application).__name__}, not an ASGI application"
    if is_consumer_class(application):
        return "that is the consumer class: route EchoConsumer.as_asgi() with a URLRouter"
    friend = communicator(application, "/ws/echo/", ECHO_ORIGIN)
    strangers = {
        "http://evil.example": communicator(application, "/ws/echo/", "http://evil.example"),
        "a client without an Origin header": communicator(application, "/ws/echo/", None),
    }
    try:
        if not await connected(friend, "a page from " + ECHO_ORIGIN):
            return (
                f"a page from {ECHO_ORIGIN} was refused. AllowedHostsOriginValidator only "
                f"knows settings.ALLOWED_HOSTS; use OriginValidator(app, ['{ECHO_ORIGIN}'])"
            )
        await friend.send_to(text_data="hogehoge")
        try:
            echoed = await friend.receive_from(timeout=TIMEOUT)
        except TimeoutError:
            return "the socket opened but nothing echoed; is /ws/echo/ routed to EchoConsumer?"
        if echoed != "hogehoge":
            return f"sent 'hogehoge', got {echoed!r} back; route /ws/echo/ to EchoConsumer"
        for who, stranger in strangers.items():
            if await connected(stranger, who):
                return (
                    f"{who} was let in; wrap the router in an OriginValidator that lists "
                    f"only {ECHO_ORIGIN} ('*' lets every site in)"
                )
    except Wrong as wrong:
        if "No route found" in str(wrong):
            found = str(wrong).rstrip(".")
            return f"{found}; route path('ws/echo/', EchoConsumer.as_asgi()), no leading slash"
        return str(wrong)
    finally:
        await close_all([friend, *strangers.values()])
    return None


async def check_echo_application(application: Callable | None, must_pass: bool = False) -> Verdict:
    """Exercise 03.2: /ws/echo/ reaches EchoConsumer, only for pages from chat.example.com."""
    if application is None:
        return check_value(None, bool, "build echo_application", must_pass)
    problem = await echo_problem(application)
    return check_problem(
        problem,
        must_pass,
        well_done=f"Correct: {ECHO_ORIGIN} gets its echo, other sites get a refusal (403).",
    )


async def user_count_problem(consumer: type) -> str | None:
    """Open one socket to the consumer and compare its count with the database's."""
    if not is_consumer_class(consumer):
        return "UserCountConsumer must be a class: class UserCountConsumer(AsyncWebsocketConsumer)"
    if issubclass(consumer, SyncConsumer):
        return "this exercise is about async consumers: inherit from AsyncWebsocketConsumer"
    expected = await database_sync_to_async(get_user_model().objects.count)()
    socket = communicator(consumer.as_asgi(), "/ws/users/", None)
    try:
        if not await connected(socket, "the socket"):
            return "the socket was refused; connect() must call await self.accept()"
        frame = await received_json(socket, "the socket")
    except Wrong as wrong:
        if isinstance(wrong.__cause__, SynchronousOnlyOperation):
            return (
                "the ORM refuses to run in the event loop (SynchronousOnlyOperation); "
                "await database_sync_to_async(User.objects.count)() instead"
            )
        return str(wrong)
    finally:
        await close_all([socket])
    if not isinstance(frame, dict) or "users" not in frame:
        return f'the socket got {frame!r}; send a JSON object {{"users": N}}'
    if frame["users"] != expected:
        return f"it says {frame['users']!r} users, the database has {expected}: ask the database"
    return None


async def check_user_count_consumer(consumer: type | None, must_pass: bool = False) -> Verdict:
    """Exercise 03.3: an async consumer that sends {"users": N} from the database on connect."""
    if consumer is None:
        return check_value(None, bool, "write the class UserCountConsumer", must_pass)
    problem = await user_count_problem(consumer)
    return check_problem(
        problem,
        must_pass,
        well_done="Correct: the query ran in a worker thread, the consumer stayed async.",
    )
