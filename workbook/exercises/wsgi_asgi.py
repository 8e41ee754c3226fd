"""Checks for notebook 01 (WSGI vs ASGI): each calls your app by hand, as a server would."""

import inspect
from typing import Any

from ..callables import call_asgi, call_wsgi, http_scope, websocket_scope, wsgi_environ
from ..checks import Mistake, Verdict, acheck_answer, check_answer
from ..i18n import _

# (query string, the name in it): an ASCII name and a Japanese one, percent-encoded as UTF-8
HELLO_QUERIES = [("name=Ada", "Ada"), ("name=%E8%8A%B1%E5%AD%90", "花子")]
SHOUT_PATHS = ["/chat/lobby", "/asgi/poyo"]
REVERSE_TEXTS = ["hello", "ASGI", "ぽよ"]


def check_hello_app(app: object, must_pass: bool = False) -> Verdict:
    """Exercise 01.1: a WSGI app that answers "Hello, <name>" for ?name=<name>."""
    hint = _(
        "Take the name from parse_qs(environ['QUERY_STRING']), call start_response with a "
        "status and headers, and return a list holding the text encoded as UTF-8."
    )
    well_done = _("Correct: a WSGI app, called once per request.")
    return check_answer(app, _find_hello_mistake, must_pass, hint=hint, well_done=well_done)


def _find_hello_mistake(app: Any) -> None:
    """Raise a Mistake saying what is wrong with the app's greetings, one name after another."""
    for query, name in HELLO_QUERIES:
        _find_greeting_mistake(app, query, name)


def _find_greeting_mistake(app: Any, query: str, name: str) -> None:
    """Raise a Mistake saying what is wrong with the app's answer to ?query."""
    if not callable(app):
        raise Mistake(
            _("{name} is a {type}, not a function", name="hello_app", type=type(app).__name__)
        )
    if inspect.iscoroutinefunction(app):
        raise Mistake(_("hello_app is an async def: a WSGI app is a plain def"))
    response = call_wsgi(app, wsgi_environ("/", query))
    if response.status is None:
        raise Mistake(_("your app never called start_response(status, headers)"))
    if not isinstance(response.status, str) or not response.status[:3].isdigit():
        raise Mistake(
            _(
                "the status must be a string like '200 OK', not {status}",
                status=repr(response.status),
            )
        )
    if not response.status.startswith("200"):
        raise Mistake(
            _("the status is {status}; a greeting is '200 OK'", status=repr(response.status))
        )
    headers = response.headers
    if not isinstance(headers, list) or not all(
        isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
        for pair in headers
    ):
        raise Mistake(
            _(
                "the headers must be a list of (name, value) str tuples, not {headers}",
                headers=repr(headers),
            )
        )
    if not any(header.lower() == "content-type" for header, _ in headers):
        raise Mistake(_("the headers have no Content-Type: say what the body is"))
    if isinstance(response.returned, str):
        raise Mistake(_("your app returned a str; HTTP sends bytes: return [text.encode()]"))
    if isinstance(response.returned, bytes):
        raise Mistake(
            _(
                "your app returned bytes themselves; a server loops over what you return, and "
                "looping over bytes gives numbers: return a list, [body]"
            )
        )
    wrong = [chunk for chunk in response.chunks if not isinstance(chunk, bytes)]
    if wrong:
        raise Mistake(
            _(
                "the body must be made of bytes, but it holds {chunk}: encode it",
                chunk=repr(wrong[0]),
            )
        )
    expected = f"Hello, {name}".encode()
    if response.body != expected:
        raise Mistake(
            _(
                "for ?{query} the body is {body}; expected {expected}",
                query=query,
                body=repr(response.body),
                expected=repr(expected),
            )
        )


async def check_shout_app(app: object, must_pass: bool = False) -> Verdict:
    """Exercise 01.2: an ASGI app that answers the request path in uppercase."""
    hint = _(
        "Send an 'http.response.start' message (status and headers), then an "
        "'http.response.body' message whose body is scope['path'] in uppercase, as bytes."
    )
    well_done = _("Correct: one scope in, two messages out.")
    return await acheck_answer(app, _find_shout_mistake, must_pass, hint=hint, well_done=well_done)


async def _find_shout_mistake(app: Any) -> None:
    """Raise a Mistake saying what is wrong with the app's answers, one path after another."""
    for path in SHOUT_PATHS:
        await _find_shout_response_mistake(app, path)


def _require_async(app: Any, name: str) -> None:
    """Raise a Mistake unless app can be awaited: an async def (or an object with one)."""
    if not callable(app):
        raise Mistake(_("{name} is a {type}, not a function", name=name, type=type(app).__name__))
    if not (inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(type(app).__call__)):
        raise Mistake(_("{name} must be an async def: an ASGI server awaits it", name=name))


async def _find_shout_response_mistake(app: Any, path: str) -> None:
    """Raise a Mistake saying what is wrong with the app's answer to GET path."""
    _require_async(app, "shout_app")
    request = {"type": "http.request", "body": b"", "more_body": False}
    call = await call_asgi(app, http_scope(path), [request])
    messages = call.messages
    if not messages:
        raise Mistake(_("your app sent nothing; did you forget to await send(...)?"))
    _find_message_types_mistake(messages)
    start, *bodies = messages
    if not isinstance(start.get("status"), int):
        raise Mistake(
            _("the status must be an int like 200, not {status}", status=repr(start.get("status")))
        )
    headers = start.get("headers", [])
    if not all(isinstance(x, bytes) for pair in headers for x in pair):
        raise Mistake(
            _(
                "ASGI headers are pairs of bytes, like (b'content-type', b'text/plain'); "
                "you sent {headers}",
                headers=repr(headers),
            )
        )
    if not bodies:
        raise Mistake(_("your app sent the start but no 'http.response.body' message"))
    for body in bodies:
        if not isinstance(body.get("body", b""), bytes):
            raise Mistake(
                _(
                    "the body must be bytes, not {type}: encode it",
                    type=type(body["body"]).__name__,
                )
            )
    if bodies[-1].get("more_body", False):
        raise Mistake(_("your last body message says more_body=True, so the client waits for more"))
    sent = b"".join(body.get("body", b"") for body in bodies)
    if sent != path.upper().encode():
        raise Mistake(
            _(
                "for {path} the body is {body}; expected {expected}",
                path=path,
                body=repr(sent),
                expected=repr(path.upper().encode()),
            )
        )
    if not call.finished:
        raise Mistake(_("your app answered but did not return; did it await receive() again?"))


def _find_message_types_mistake(messages: list[dict]) -> None:
    """Raise a Mistake unless messages are one http.response.start, then body messages."""
    types = [message.get("type") for message in messages]
    if types[0] != "http.response.start":
        raise Mistake(
            _(
                "the first message must be 'http.response.start', not {type}",
                type=repr(types[0]),
            )
        )
    if types.count("http.response.start") > 1:
        raise Mistake(_("your app sent 'http.response.start' twice; a response starts once"))
    wrong = [kind for kind in types[1:] if kind != "http.response.body"]
    if wrong:
        raise Mistake(
            _(
                "after the start come 'http.response.body' messages, not {type}",
                type=repr(wrong[0]),
            )
        )


async def check_reverse_app(app: object, must_pass: bool = False) -> Verdict:
    """Exercise 01.3: a WebSocket ASGI app that sends every text message back reversed."""
    hint = _(
        "Loop over await receive(): accept on 'websocket.connect', answer each "
        "'websocket.receive' with a 'websocket.send' of the reversed text, and return on "
        "'websocket.disconnect'."
    )
    well_done = _("Correct: a conversation, one event at a time.")
    return await acheck_answer(
        app, _find_reverse_mistake, must_pass, hint=hint, well_done=well_done
    )


async def _find_reverse_mistake(app: Any) -> None:
    """Raise a Mistake saying what is wrong with the app's side of a short conversation."""
    _require_async(app, "reverse_app")
    events = [
        {"type": "websocket.connect"},
        *({"type": "websocket.receive", "text": text} for text in REVERSE_TEXTS),
        {"type": "websocket.disconnect", "code": 1000},
    ]
    call = await call_asgi(app, websocket_scope("/reverse"), events)
    messages = call.messages
    if not messages or messages[0].get("type") != "websocket.accept":
        if not messages:
            raise Mistake(
                _(
                    "on 'websocket.connect' send {'type': 'websocket.accept'} first; "
                    "your app sent nothing"
                )
            )
        raise Mistake(
            _(
                "on 'websocket.connect' send {{'type': 'websocket.accept'}} first; "
                "your app sent {first}",
                first=repr(messages[0]),
            )
        )
    replies = messages[1:]
    for text, reply in zip(REVERSE_TEXTS, replies, strict=False):
        _find_reply_mistake(text, reply)
    if len(replies) < len(REVERSE_TEXTS):
        raise Mistake(
            _(
                "the client sent {sent} messages but got {replies} replies; "
                "keep receiving in a loop until 'websocket.disconnect'",
                sent=len(REVERSE_TEXTS),
                replies=len(replies),
            )
        )
    if len(replies) > len(REVERSE_TEXTS):
        raise Mistake(
            _("one reply per message: your app also sent {reply}", reply=repr(replies[-1]))
        )
    if not call.finished:
        raise Mistake(_("after 'websocket.disconnect' the client is gone: your app should return"))


def _find_reply_mistake(text: str, reply: dict) -> None:
    """Raise a Mistake unless reply is the text message that sends text back reversed."""
    if reply.get("type") != "websocket.send":
        raise Mistake(
            _(
                "a reply is {{'type': 'websocket.send', ...}}, not {type}",
                type=repr(reply.get("type")),
            )
        )
    if "text" not in reply:
        raise Mistake(
            _("send text back with the 'text' key; your reply was {reply}", reply=repr(reply))
        )
    if reply["text"] != text[::-1]:
        raise Mistake(
            _(
                "to {text} your app replied {reply}; expected {expected}",
                text=repr(text),
                reply=repr(reply["text"]),
                expected=repr(text[::-1]),
            )
        )
