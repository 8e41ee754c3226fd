"""The chat's wire format: reading what a browser sends, writing what it receives.

A client sends ``{"message": "<text>"}`` (the Channels tutorial's frame). Every frame the
server sends is a JSON object with a ``"type"``; chat messages keep the ``"message"`` key so
a tutorial client that reads ``data.message`` still works.
"""

import json

# Longest chat message, in characters. Longer ones get an error frame.
MAX_MESSAGE_LENGTH = 4000
# Longest frame we even try to parse. Past this the connection is closed.
MAX_FRAME_LENGTH = 64 * 1024

# RFC 6455's "message too big" is 1009, but daphne's WebSocket library lets applications
# close only with 1000 or 3000-4999 (anything else becomes a 1011 crash), so the chat uses
# the private-use code 4000 + 1009's last digits. Daphne itself still closes with 1009 when
# a message passes its own limit (1 MiB by default).
CLOSE_MESSAGE_TOO_BIG = 4009


class BadFrame(ValueError):
    """A client frame the chat refuses. ``close_code`` is set when the socket must close."""

    def __init__(self, reason: str, close_code: int | None = None) -> None:
        super().__init__(reason)
        self.close_code = close_code


def read_chat_message(text_data: str | None, bytes_data: bytes | None = None) -> str:
    """Return the chat text in a client frame, or raise BadFrame saying what was wrong."""
    if text_data is None:
        raise BadFrame('binary frames are not supported; send {"message": "<text>"} as text')
    if len(text_data) > MAX_FRAME_LENGTH:
        raise BadFrame(
            f"frame too big ({len(text_data)} characters; the limit is {MAX_FRAME_LENGTH})",
            CLOSE_MESSAGE_TOO_BIG,
        )
    payload = _parse_json_object(text_data)
    return _valid_message_text(payload.get("message"))


def _parse_json_object(text_data: str) -> dict:
    try:
        payload = json.loads(text_data)
    except ValueError:
        raise BadFrame('frame is not JSON; send {"message": "<text>"}') from None
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


def error_frame(reason: str) -> str:
    return encode({"type": "error", "error": reason})
