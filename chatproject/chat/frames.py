"""The chat's wire format: reading what a browser sends, writing what it receives.

A client sends ``{"message": "<text>"}`` (the Channels tutorial's frame). Every frame the
server sends is a JSON object with a ``"type"``; chat messages keep the ``"message"`` key so
a tutorial client that reads ``data.message`` still works.
"""

import json
import reprlib
from dataclasses import dataclass
from urllib.parse import parse_qs

from chatproject.environment import is_yes

# Longest chat message, in characters. Longer ones get an error frame.
MAX_MESSAGE_LENGTH = 4000
# Longest frame we even try to parse. Past this the connection is closed.
MAX_FRAME_LENGTH = 64 * 1024

# RFC 6455's "message too big" is 1009, but daphne's WebSocket library lets applications
# close only with 1000 or 3000-4999 (anything else becomes a 1011 crash), so the chat uses
# the private-use code 4000 + 1009's last digits. Daphne itself still closes with 1009 when
# a message passes its own limit (1 MiB by default).
CLOSE_MESSAGE_TOO_BIG = 4009
# A socket over its client's cap: RFC 6455's 1008 "policy violation", private-use as above
CLOSE_CLIENT_CAP = 4008

# Every error frame carries one of these codes. The words may change; a code never does, so
# a client (or a test) decides on the code. The same codes count what the chat refused or
# dropped (chat/counters.py).
BAD_FRAME = "bad_frame"  # the frame itself is wrong: fix it, do not resend it as it is
TOO_BIG = "too_big"  # over MAX_FRAME_LENGTH; the socket closes with 4009
RATE_LIMITED = "rate_limited"  # over the message budget: not sent, send it again later
HISTORY_LIMITED = "history_limited"  # over the history budget: ask again later
UNAVAILABLE = "unavailable"  # Redis is out of reach: reconnect with backoff (retry)
FELL_BEHIND = "fell_behind"  # the client stopped reading: reconnect and catch up (retry)
NOT_SAVED = "not_saved"  # the database failed or was too slow: not sent, send again (retry)
# Counted, never sent: a room's queue in the channel layer was full, a delivery was dropped
OVER_CAPACITY = "over_capacity"
SIGNED_OUT = "signed_out"  # the account logged out or changed its password; closes with 4401
LOGIN_LOCKED = "login_locked"  # too many failed logins (counted; the login page says it)

# After HTTP's 401: the socket's user signed out (or changed password). The page does not
# reconnect, which would only speak as the same user again from another device's session;
# it asks for a reload, which shows who the browser is now.
CLOSE_SIGNED_OUT = 4401
# RFC 6455's 1012 "service restart": the worker is stopping, not failing (a rolling restart).
# A worker asked to stop closes every socket with it (chatproject/drain.py) and the page
# reconnects at once, to another worker. Only the server layer can send it: daphne's
# WebSocket library lets an application close with 1000 or 3000-4999 alone.
CLOSE_SERVICE_RESTART = 1012
CLIENT_CAP = "client_cap"  # too many sockets from one address: close one, then reconnect
# Counted, never sent: a socket closed with 1012 because its worker was stopping
DRAINED = "drained"
# Not an error frame's code: an HTTP request refused with 413, counted under this name
REQUEST_TOO_BIG = (
    "request_too_big"  # a body over CHAT_MAX_REQUEST_BODY (chatproject/bounded_daphne.py)
)

# The codes an error frame can carry. The room page shows each in its own language
# (room.js's ERROR_TEXTS, the JavaScript catalog): a new code needs its text there too.
ERROR_CODES = frozenset(
    {
        BAD_FRAME,
        TOO_BIG,
        RATE_LIMITED,
        HISTORY_LIMITED,
        UNAVAILABLE,
        FELL_BEHIND,
        NOT_SAVED,
        SIGNED_OUT,
        CLIENT_CAP,
    }
)


# Most messages one history frame carries; a client asks again for the rest ("more": true)
HISTORY_PAGE_SIZE = 200
# Most recent messages a client may ask for with ?recent=N
MAX_RECENT = 100
# The largest id or seq a database can hold (a signed 64-bit BIGINT)
MAX_MESSAGE_ID = 2**63 - 1


@dataclass(frozen=True)
class HistoryRequest:
    """A client asks for the messages after a seq (and before another) or an id it saw, or
    for the last few."""

    after: int | None = None
    recent: int | None = None
    after_seq: int | None = None
    before_seq: int | None = None


@dataclass(frozen=True)
class Typing:
    """A client says its user is typing (the room shows it for a few seconds)."""


class BadFrame(ValueError):
    """A client frame the chat refuses. ``close_code`` is set when the socket must close."""

    def __init__(self, reason: str, close_code: int | None = None, code: str = BAD_FRAME) -> None:
        super().__init__(reason)
        self.close_code = close_code
        self.code = code


def read_client_frame(text_data: str | None) -> str | HistoryRequest | Typing:
    """A chat message's text, a history request or a typing notice; or BadFrame.

    text_data is None for a binary frame, which the chat does not take.
    """
    payload = _read_json_object(text_data)
    kind = payload.get("type", "message")
    if kind == "history" and "after_seq" in payload:
        return _seq_request(payload.get("after_seq"), payload.get("before_seq"))
    if kind == "history":
        return HistoryRequest(after=_message_id(payload.get("after"), "after"))
    if kind == "typing":
        return Typing()
    if kind != "message":
        raise BadFrame(f'unknown frame type {_shown(kind)}; send {{"message": "<text>"}}')
    return _valid_message_text(payload.get("message"))


def read_history_query(query_string: bytes) -> HistoryRequest | None:
    """What the socket URL's ?after_seq=<seq>, ?after=<id> or ?recent=<n> asks for (None:
    no history)."""
    # Blank values kept: "?after=" is a bad id, not "no history asked for"
    query = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
    if "after_seq" in query:
        before_seq = query["before_seq"][-1] if "before_seq" in query else None
        return _seq_request(query["after_seq"][-1], before_seq)
    if "after" in query:
        return HistoryRequest(after=_message_id(query["after"][-1], "after"))
    if "recent" in query:
        recent = _message_id(query["recent"][-1], "recent")
        return HistoryRequest(recent=min(max(recent, 1), MAX_RECENT))
    return None


def wants_presence(query_string: bytes) -> bool:
    """Whether the socket URL asks for presence and typing frames (?presence=1)."""
    values = parse_qs(query_string.decode("latin-1")).get("presence", [])
    return bool(values) and is_yes(values[-1])


def _seq_request(after_seq: object, before_seq: object) -> HistoryRequest:
    """The messages between two seqs (before_seq None: every one after after_seq)."""
    if before_seq is not None:
        before_seq = _message_id(before_seq, "before_seq", "a seq")
    return HistoryRequest(
        after_seq=_message_id(after_seq, "after_seq", "a seq"), before_seq=before_seq
    )


def _message_id(value: object, name: str, kind: str = "a message id") -> int:
    """An id or a seq from JSON or a query string (0 to MAX_MESSAGE_ID), or BadFrame."""
    # Short enough to parse: Python refuses int() of 4,300+ digits, and ids have 19 at most
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MESSAGE_ID:
        raise BadFrame(f'"{name}" must be {kind} (a whole number ≥ 0), not {_shown(value)}')
    return value


def _shown(value: object) -> str:
    """A client's value as an error quotes it: its start only, however long it is."""
    text = reprlib.repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _read_json_object(text_data: str | None) -> dict:
    if text_data is None:
        raise BadFrame('binary frames are not supported; send {"message": "<text>"} as text')
    if len(text_data) > MAX_FRAME_LENGTH:
        raise BadFrame(
            f"frame too big ({len(text_data)} characters; the limit is {MAX_FRAME_LENGTH})",
            CLOSE_MESSAGE_TOO_BIG,
            TOO_BIG,
        )
    return _parse_json_object(text_data)


def _parse_json_object(text_data: str) -> dict:
    try:
        payload = json.loads(text_data)
    except ValueError:
        raise BadFrame('frame is not JSON; send {"message": "<text>"}') from None
    except RecursionError:
        # "[[[[…" a few thousand deep: Python's parser recurses once per level
        raise BadFrame('frame is nested too deeply; send {"message": "<text>"}') from None
    if not isinstance(payload, dict):
        raise BadFrame(f'frame is a JSON {_json_kind(payload)}; send {{"message": "<text>"}}')
    return payload


def _valid_message_text(message: object) -> str:
    if message is None:
        raise BadFrame('frame has no "message" field')
    if not isinstance(message, str):
        raise BadFrame(f'"message" must be a string, not a JSON {_json_kind(message)}')
    if not message.strip():
        raise BadFrame("message is empty")
    if len(message) > MAX_MESSAGE_LENGTH:
        raise BadFrame(
            f"message too long ({len(message)} characters; the limit is {MAX_MESSAGE_LENGTH})"
        )
    # JSON's "\ud800" escapes decode to lone surrogates, which cannot be sent on as UTF-8
    if not _is_encodable(message):
        raise BadFrame("message is not valid Unicode (it contains a lone surrogate)")
    return message


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_kind(value: object) -> str:
    kinds = {list: "array", dict: "object", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def encode(frame: dict) -> str:
    """Serialise a server frame; Unicode stays readable on the wire (雑談, not \\u96d1)."""
    return json.dumps(frame, ensure_ascii=False)


def error_frame(
    reason: str, code: str = BAD_FRAME, retry: bool = False, retry_after: float | None = None
) -> str:
    """An error for one client; retry says the server's trouble, not the client's frame.

    retry_after: the fewest seconds the client should wait before it tries again.
    """
    if code not in ERROR_CODES:
        raise ValueError(f"{code!r} is not one of frames.ERROR_CODES")
    frame = {"type": "error", "code": code, "error": reason}
    if retry:
        frame["retry"] = True
    if retry_after is not None:
        frame["retry_after"] = retry_after
    return encode(frame)


def message_frame(event: dict, room: str) -> dict:
    """The frame for one chat message (a saved one carries its id, seq and author)."""
    frame = {"type": "message", "message": event["message"], "room": room, "time": event["time"]}
    for key in ("id", "seq", "author", "guest"):
        if key in event:
            frame[key] = event[key]
    return frame


def history_frame(messages: list[dict], room: str, more: bool) -> str:
    """Saved messages, oldest first; "more" says that a later page follows on request."""
    return encode(
        {
            "type": "history",
            "room": room,
            "messages": [message_frame(message, room) for message in messages],
            "more": more,
        }
    )


def presence_frame(names: list[str], room: str) -> str:
    """Who is in the room now (each person once, however many tabs they have open)."""
    return encode({"type": "presence", "room": room, "users": names})


def typing_frame(author: str, room: str, seconds: float) -> str:
    """Someone is typing; the page shows it for ``seconds`` unless told again."""
    return encode({"type": "typing", "room": room, "author": author, "seconds": seconds})
