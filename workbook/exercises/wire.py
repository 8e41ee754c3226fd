"""Checks for notebook 04 (daphne in the background, the WebSocket wire by hand)."""

import base64
import hashlib
import os
from collections.abc import Callable

from ..checks import Verdict, check_value
from ..wire import WEBSOCKET_GUID, accept_for, client_frame

# RFC 6455, section 1.3: the example handshake's key and the answer it must get
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
# RFC 6455, section 5.7: a masked "Hello" with this masking key
RFC_MASK = bytes.fromhex("37fa213d")
NORMAL_CLOSURE = ", a normal closure (the server echoes the code you sent)"


def _sha1(text: str) -> bytes:
    return hashlib.sha1(text.encode()).digest()


# Near misses of base64(SHA-1(key + GUID)), and what each one got wrong
_ACCEPT_MISTAKES: list[tuple[Callable[[str], object], str]] = [
    (
        lambda key: base64.b64encode(_sha1(key + WEBSOCKET_GUID)),
        "it returns bytes; the header is text, so .decode() the base64 result",
    ),
    (
        lambda key: hashlib.sha1((key + WEBSOCKET_GUID).encode()).hexdigest(),
        "that is the SHA-1 in hex; the header carries the 20 raw bytes of .digest(), in base64",
    ),
    (
        lambda key: base64.b64encode(
            hashlib.sha1((key + WEBSOCKET_GUID).encode()).hexdigest().encode()
        ).decode(),
        "you base64-encoded the hex text of the hash; encode the raw .digest() instead",
    ),
    (
        lambda key: base64.b64encode(
            hashlib.sha1(base64.b64decode(key) + WEBSOCKET_GUID.encode()).digest()
        ).decode(),
        "the key is used as the text it is: append the GUID to the base64 string, don't decode it",
    ),
    (
        lambda key: base64.b64encode(_sha1(key)).decode(),
        f'the GUID is missing: hash key + "{WEBSOCKET_GUID}"',
    ),
    (
        lambda key: base64.b64encode(_sha1(WEBSOCKET_GUID + key)).decode(),
        "key and GUID are the wrong way round: the key comes first",
    ),
]


def _accept_problem(function: object, key: str) -> str | None:
    """What is wrong with function(key) as a Sec-WebSocket-Accept, or None."""
    if not callable(function):
        return (
            f"sec_websocket_accept is a {type(function).__name__}: define a function with def "
            "and assign the function itself (no parentheses)"
        )
    answer = function(key)
    if answer == accept_for(key):
        return None
    for mistake, explanation in _ACCEPT_MISTAKES:
        if answer == mistake(key):
            return f"for the key {key!r} {explanation}"
    return f"for the key {key!r} it returns {answer!r}; the right answer is {accept_for(key)!r}"


def check_accept(answer: object, must_pass: bool = False) -> Verdict:
    """Exercise 04.1: a function from Sec-WebSocket-Key to Sec-WebSocket-Accept."""

    def is_right(function: object) -> bool:
        fresh_key = base64.b64encode(os.urandom(16)).decode()
        for key in (RFC_KEY, fresh_key):
            problem = _accept_problem(function, key)
            assert problem is None, problem
        return True

    return check_value(
        answer,
        is_right,
        "base64-encode the SHA-1 digest of key + GUID, then .decode() it to text",
        must_pass,
        well_done=f"Correct: RFC 6455's example key gives {RFC_ACCEPT}, and a fresh key works too.",
    )


def _length_problem(frame: bytes, text: str) -> tuple[str | None, int]:
    """What is wrong with the length bits (and extended length), and where the mask starts."""
    size = len(text.encode())
    length = frame[1] & 0x7F
    if size < 126:
        if length == size:
            return None, 2
        if length == len(text):
            return (
                f"the length is {length}, the number of characters; it counts the bytes of "
                f"the UTF-8 payload ({size}): encode the text first, then take len()"
            ), 2
        return f"the length bits say {length}; the payload has {size} bytes", 2
    if length != 126:
        return (
            f"the payload has {size} bytes, more than 125: the length bits must be 126, and "
            "the real length follows in the next 2 bytes (big-endian)"
        ), 2
    extended = int.from_bytes(frame[2:4], "big")
    if extended == size:
        return None, 4
    if int.from_bytes(frame[2:4], "little") == size:
        return "the 2-byte length is little-endian; the network byte order is big-endian", 4
    return f"the 2 bytes after 126 say {extended}; the payload has {size} bytes", 4


def _frame_problem(frame: object, text: str, mask: bytes) -> str | None:
    """What is wrong with frame as a masked text frame carrying text, or None."""
    if not isinstance(frame, bytes | bytearray):
        return f"the function returned a {type(frame).__name__}; a frame is bytes"
    frame = bytes(frame)
    if frame == client_frame(0x1, text.encode(), mask):
        return None
    if len(frame) < 2:
        return f"the frame has {len(frame)} bytes; the header alone has at least 2"
    if not frame[0] & 0x80:
        return (
            "FIN (the top bit, 0x80, of the first byte) is 0; set it: this frame is all the message"
        )
    if frame[0] & 0x70:
        return "an RSV bit (0x70 of the first byte) is set; without extensions they stay 0"
    if frame[0] & 0x0F != 0x1:
        return f"the opcode (low 4 bits of the first byte) is 0x{frame[0] & 0x0F:X}; text is 0x1"
    if not frame[1] & 0x80:
        return "MASK (the top bit, 0x80, of the second byte) is 0; a client must mask every frame"
    problem, mask_at = _length_problem(frame, text)
    if problem:
        return problem
    if frame[mask_at : mask_at + 4] != mask:
        return (
            f"the 4 bytes after the length are {frame[mask_at : mask_at + 4].hex(' ')}; "
            f"they must be the masking key, {mask.hex(' ')}"
        )
    body, payload = frame[mask_at + 4 :], text.encode()
    if body == payload:
        return "the payload is not masked: XOR byte i with mask[i % 4]"
    if len(body) != len(payload):
        return f"{len(body)} bytes follow the masking key; the payload has {len(payload)}"
    wrong = next(
        i for i, (a, b) in enumerate(zip(body, payload, strict=True)) if a ^ b != mask[i % 4]
    )
    return f"payload byte {wrong} is masked wrong: it must be payload[{wrong}] ^ mask[{wrong} % 4]"


def _label(text: str) -> str:
    """The text, or its start and size when it is long."""
    if len(text) <= 30:
        return repr(text)
    return f"{text[:6]!r}… ({len(text.encode())} bytes)"


def check_text_frame(answer: object, must_pass: bool = False) -> Verdict:
    """Exercise 04.2: a function (text, mask) -> the masked text frame a client sends."""
    cases = [
        ("Hello", RFC_MASK),
        ('{"message": "こんにちは"}', bytes.fromhex("a1b2c3d4")),
        ("ぽよ" * 50, bytes.fromhex("0f1e2d3c")),
    ]

    def is_right(function: object) -> bool:
        assert callable(function), (
            f"text_frame is a {type(function).__name__}: assign the function itself"
        )
        for text, mask in cases:
            problem = _frame_problem(function(text, mask), text, mask)
            assert problem is None, f"for {_label(text)} with mask {mask.hex(' ')}: {problem}"
        return True

    return check_value(
        answer,
        is_right,
        "first byte 0x81, then MASK|length, the 4-byte key, and the payload XOR the key",
        must_pass,
        well_done=(
            "Correct: RFC 6455's masked 'Hello', a Japanese message (length in bytes, not "
            "characters) and a 300-byte one (length 126 + 2 bytes) all come out right."
        ),
    )


def check_close_status(answer: object, close_frame: bytes, must_pass: bool = False) -> Verdict:
    """Exercise 04.3: the status code in the close frame the server sent (an int)."""
    status_bytes = close_frame[2:4]
    status = int.from_bytes(status_bytes, "big")

    def is_right(value: object) -> bool:
        if value == status:
            return True
        assert not isinstance(value, bytes | bytearray), (
            f"{value!r} is bytes; turn them into a number with int.from_bytes(..., 'big')"
        )
        assert value != int.from_bytes(status_bytes, "little"), (
            f"{value} reads the 2 bytes little-endian; network byte order is big-endian"
        )
        assert value not in (close_frame[0], close_frame[1]), (
            f"{value} is a header byte; the status is in the payload, the 2 bytes after the header"
        )
        raise AssertionError(
            f"{value!r} is not what the 2 payload bytes {status_bytes.hex(' ')} say"
        )

    return check_value(
        answer,
        is_right,
        "a server frame has a 2-byte header and no mask; the status is the next 2 bytes",
        must_pass,
        well_done=f"Correct: {status}{NORMAL_CLOSURE * (status == 1000)}.",
    )
