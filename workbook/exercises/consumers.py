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

from ..checks import Mistake, Verdict, acheck_answer
from ..i18n import _

# Seconds a check waits for one answer from the application
TIMEOUT = 1.0
ECHO_ORIGIN = "https://chat.example.com"


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
    """Open the socket; the application's crash or silence becomes a Mistake."""
    try:
        accepted, _subprotocol = await each.connect(timeout=TIMEOUT)
    except TimeoutError:
        raise Mistake(
            _("{who}: the handshake got no answer; connect() must call self.accept()", who=who)
        ) from None
    except Exception as error:
        raise Mistake(
            _(
                "{who}: the application raised {error_type}: {error}",
                who=who,
                error_type=type(error).__name__,
                error=error,
            )
        ) from error
    return accepted


async def received_json(each: WebsocketCommunicator, who: str) -> Any:
    """The next frame, parsed; no frame, a crash or text that is not JSON becomes a Mistake."""
    try:
        text = await each.receive_from(timeout=TIMEOUT)
    except TimeoutError:
        raise Mistake(_("{who} got nothing back", who=who)) from None
    except Exception as error:
        raise Mistake(
            _(
                "the consumer raised {error_type}: {error}",
                error_type=type(error).__name__,
                error=error,
            )
        ) from error
    try:
        return json.loads(text)
    except ValueError:
        raise Mistake(
            _(
                "{who} got {text}, which is not JSON; send json.dumps({{...}})",
                who=who,
                text=repr(text),
            )
        ) from None


def is_consumer_class(answer: object) -> bool:
    return isinstance(answer, type) and hasattr(answer, "as_asgi")


async def _find_shout_mistake(consumer: type) -> None:
    """Run the shout consumer with two sockets in one room; raise a Mistake if it goes wrong."""
    if not is_consumer_class(consumer):
        raise Mistake(
            _("ShoutConsumer must be a class: class ShoutConsumer(WebsocketConsumer): ...")
        )
    # Any room route works, so a consumer that reads scope["url_route"] finds its room
    route = re_path(r"^ws/chat/(?P<room_name>[^/]+)/$", consumer.as_asgi())
    application = URLRouter([route])
    sender = communicator(application, "/ws/chat/shoutroom/", None)
    listener = communicator(application, "/ws/chat/shoutroom/", None)
    the_sender = _("the sender")
    try:
        for each, who in ((sender, the_sender), (listener, _("a second socket"))):
            if not await connected(each, who):
                raise Mistake(_("{who} was refused; connect() must call self.accept()", who=who))
        await sender.send_json_to({"message": "hogehoge"})
        reply = await received_json(sender, the_sender)
        if not isinstance(reply, dict) or "message" not in reply:
            raise Mistake(
                _(
                    'the sender got {reply}; send a JSON object {{"message": ...}}',
                    reply=repr(reply),
                )
            )
        if reply["message"] == "hogehoge":
            raise Mistake(_("the message came back unchanged; upper-case it with .upper()"))
        if reply["message"] != "HOGEHOGE":
            raise Mistake(
                _('expected {{"message": "HOGEHOGE"}}, the sender got {reply}', reply=repr(reply))
            )
        if not await listener.receive_nothing(timeout=0.2):
            raise Mistake(
                _(
                    "another socket in the same room got the reply too: group_send reaches the "
                    "whole group; answer with self.send() to reach only the sender"
                )
            )
    finally:
        await close_all([sender, listener])


async def check_shout_consumer(consumer: type | None, must_pass: bool = False) -> Verdict:
    """Exercise 03.1: a consumer that answers {"message": m} with m upper-cased, to its sender."""
    return await acheck_answer(
        consumer,
        _find_shout_mistake,
        must_pass,
        if_none=_("write the class ShoutConsumer"),
        well_done=_("Correct: HOGEHOGE went back to the sender, and nobody else heard it."),
    )


async def reaches_echo(each: WebsocketCommunicator, who: str) -> bool:
    """connected(), and a path the router has no route for explained: how to route it."""
    try:
        return await connected(each, who)
    except Mistake as mistake:
        if "No route found" not in str(mistake):
            raise
        found = str(mistake).rstrip(".")
        raise Mistake(
            _(
                "{found}; route path('ws/echo/', EchoConsumer.as_asgi()), no leading slash",
                found=found,
            )
        ) from mistake


async def _find_echo_mistake(application: Callable) -> None:
    """Try the echo application from the allowed page and from others; a Mistake if it fails."""
    if not callable(application):
        raise Mistake(
            _(
                "echo_application is a {type_name}, not an ASGI application",
                type_name=type(application).__name__,
            )
        )
    if is_consumer_class(application):
        raise Mistake(
            _("that is the consumer class: route EchoConsumer.as_asgi() with a URLRouter")
        )
    friend = communicator(application, "/ws/echo/", ECHO_ORIGIN)
    strangers = {
        "http://evil.example": communicator(application, "/ws/echo/", "http://evil.example"),
        _("a client without an Origin header"): communicator(application, "/ws/echo/", None),
    }
    try:
        if not await reaches_echo(friend, _("a page from {origin}", origin=ECHO_ORIGIN)):
            raise Mistake(
                _(
                    "a page from {origin} was refused. AllowedHostsOriginValidator only "
                    "knows settings.ALLOWED_HOSTS; use OriginValidator(app, ['{origin}'])",
                    origin=ECHO_ORIGIN,
                )
            )
        await friend.send_to(text_data="hogehoge")
        try:
            echoed = await friend.receive_from(timeout=TIMEOUT)
        except TimeoutError:
            raise Mistake(
                _("the socket opened but nothing echoed; is /ws/echo/ routed to EchoConsumer?")
            ) from None
        if echoed != "hogehoge":
            raise Mistake(
                _(
                    "sent 'hogehoge', got {echoed} back; route /ws/echo/ to EchoConsumer",
                    echoed=repr(echoed),
                )
            )
        for who, stranger in strangers.items():
            if await reaches_echo(stranger, who):
                raise Mistake(
                    _(
                        "{who} was let in; wrap the router in an OriginValidator that lists "
                        "only {origin} ('*' lets every site in)",
                        who=who,
                        origin=ECHO_ORIGIN,
                    )
                )
    finally:
        await close_all([friend, *strangers.values()])


async def check_echo_application(application: Callable | None, must_pass: bool = False) -> Verdict:
    """Exercise 03.2: /ws/echo/ reaches EchoConsumer, only for pages from chat.example.com."""
    return await acheck_answer(
        application,
        _find_echo_mistake,
        must_pass,
        if_none=_("build echo_application"),
        well_done=_(
            "Correct: {origin} gets its echo, other sites get a refusal (403).",
            origin=ECHO_ORIGIN,
        ),
    )


async def _find_user_count_mistake(consumer: type) -> None:
    """Open one socket to the consumer and compare its count with the database's."""
    if not is_consumer_class(consumer):
        raise Mistake(
            _("UserCountConsumer must be a class: class UserCountConsumer(AsyncWebsocketConsumer)")
        )
    if issubclass(consumer, SyncConsumer):
        raise Mistake(
            _("this exercise is about async consumers: inherit from AsyncWebsocketConsumer")
        )
    expected = await database_sync_to_async(get_user_model().objects.count)()
    socket = communicator(consumer.as_asgi(), "/ws/users/", None)
    the_socket = _("the socket")
    try:
        if not await connected(socket, the_socket):
            raise Mistake(_("the socket was refused; connect() must call await self.accept()"))
        frame = await received_json(socket, the_socket)
    except Mistake as mistake:
        if not isinstance(mistake.__cause__, SynchronousOnlyOperation):
            raise
        raise Mistake(
            _(
                "the ORM refuses to run in the event loop (SynchronousOnlyOperation); "
                "await database_sync_to_async(User.objects.count)() instead"
            )
        ) from mistake
    finally:
        await close_all([socket])
    if not isinstance(frame, dict) or "users" not in frame:
        raise Mistake(
            _('the socket got {frame}; send a JSON object {{"users": N}}', frame=repr(frame))
        )
    if frame["users"] != expected:
        raise Mistake(
            _(
                "it says {users} users, the database has {expected}: ask the database",
                users=repr(frame["users"]),
                expected=expected,
            )
        )


async def check_user_count_consumer(consumer: type | None, must_pass: bool = False) -> Verdict:
    """Exercise 03.3: an async consumer that sends {"users": N} from the database on connect."""
    return await acheck_answer(
        consumer,
        _find_user_count_mistake,
        must_pass,
        if_none=_("write the class UserCountConsumer"),
        well_done=_("Correct: the query ran in a worker thread, the consumer stayed async."),
    )
