"""Checks for notebook 04 (daphne in the background, the WebSocket wire by hand)."""

import base64
import hashlib
import os
from collections.abc import Callable

from ..checks import Mistake, Verdict, check_answer
from ..i18n import N_, _
from ..wire import WEBSOCKET_GUID, accept_for, client_frame

# RFC 6455, section 1.3: the example handshake's key and the answer it must get
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
# RFC 6455, section 5.7: a masked "Hello" with this masking key
RFC_MASK = bytes.fromhex("37fa213d")


def _sha1(text: str) -> bytes:
    return hashlib.sha1(text.encode()).digest()


# Near misses of base64(SHA-1(key + GUID)), and what each one got wrong
_ACCEPT_MISTAKES: list[tuple[Callable[[str], object], str]] = [
    (
        lambda key: base64.b64encode(_sha1(key + WEBSOCKET_GUID)),
        N_("it returns bytes; the header is text, so .decode() the base64 result"),
    ),
    (
        lambda key: hashlib.sha1((key + WEBSOCKET_GUID).encode()).hexdigest(),
        N_("that is the SHA-1 in hex; the header carries the 20 raw bytes of .digest(), in base64"),
    ),
    (
        lambda key: base64.b64encode(
            hashlib.sha1((key + WEBSOCKET_GUID).encode()).hexdigest().encode()
        ).decode(),
        N_("you base64-encoded the hex text of the hash; encode the raw .digest() instead"),
    ),
    (
        lambda key: base64.b64encode(
            hashlib.sha1(base64.b64decode(key) + WEBSOCKET_GUID.encode()).digest()
        ).decode(),
        N_(
            "the key is used as the text it is: append the GUID to the base64 string, "
            "don't decode it"
        ),
    ),
    (
        lambda key: base64.b64encode(_sha1(key)).decode(),
        N_('the GUID is missing: hash key + "{guid}"'),
    ),
    (
        lambda key: base64.b64encode(_sha1(WEBSOCKET_GUID + key)).decode(),
        N_("key and GUID are the wrong way round: the key comes first"),
    ),
]


def _find_accept_mistake(function: object, key: str) -> None:
    """Raise a Mistake saying what is wrong with function(key) as a Sec-WebSocket-Accept."""
    if not callable(function):
        raise Mistake(
            _(
                "sec_websocket_accept is a {type}: define a function with def "
                "and assign the function itself (no parentheses)",
                type=type(function).__name__,
            )
        )
    answer = function(key)
    if answer == accept_for(key):
        return
    for mistake, explanation in _ACCEPT_MISTAKES:
        if answer == mistake(key):
            said = _(explanation, guid=WEBSOCKET_GUID)
            raise Mistake(_("for the key {key} {explanation}", key=repr(key), explanation=said))
    raise Mistake(
        _(
            "for the key {key} it returns {answer}; the right answer is {expected}",
            key=repr(key),
            answer=repr(answer),
            expected=repr(accept_for(key)),
        )
    )


def check_accept(answer: object, must_pass: bool = False) -> Verdict:
    """Exercise 04.1: a function from Sec-WebSocket-Key to Sec-WebSocket-Accept."""

    def find_mistake(function: object) -> None:
        fresh_key = base64.b64encode(os.urandom(16)).decode()
        for key in (RFC_KEY, fresh_key):
            _find_accept_mistake(function, key)

    return check_answer(
        answer,
        find_mistake,
        must_pass,
        hint=_("base64-encode the SHA-1 digest of key + GUID, then .decode() it to text"),
        well_done=_(
            "Correct: RFC 6455's example key gives {accept}, and a fresh key works too.",
            accept=RFC_ACCEPT,
        ),
    )


def _mask_start(frame: bytes, text: str) -> int:
    """Where the masking key starts, after the length bits (and extended length) are checked."""
    size = len(text.encode())
    length = frame[1] & 0x7F
    if size < 126:
        if length == size:
            return 2
        if length == len(text):
            raise Mistake(
                _(
                    "the length is {length}, the number of characters; it counts the bytes of "
                    "the UTF-8 payload ({size}): encode the text first, then take len()",
                    length=length,
                    size=size,
                )
            )
        raise Mistake(
            _(
                "the length bits say {length}; the payload has {size} bytes",
                length=length,
                size=size,
            )
        )
    if length != 126:
        raise Mistake(
            _(
                "the payload has {size} bytes, more than 125: the length bits must be 126, and "
                "the real length follows in the next 2 bytes (big-endian)",
                size=size,
            )
        )
    extended = int.from_bytes(frame[2:4], "big")
    if extended == size:
        return 4
    if int.from_bytes(frame[2:4], "little") == size:
        raise Mistake(_("the 2-byte length is little-endian; the network byte order is big-endian"))
    raise Mistake(
        _(
            "the 2 bytes after 126 say {extended}; the payload has {size} bytes",
            extended=extended,
            size=size,
        )
    )


def _find_frame_mistake(frame: object, text: str, mask: bytes) -> None:
    """Raise a Mistake saying what is wrong with frame as a masked text frame carrying text."""
    if not isinstance(frame, bytes | bytearray):
        raise Mistake(
            _("the function returned a {type}; a frame is bytes", type=type(frame).__name__)
        )
    frame = bytes(frame)
    if frame == client_frame(0x1, text.encode(), mask):
        return
    if len(frame) < 2:
        raise Mistake(
            _("the frame has {size} bytes; the header alone has at least 2", size=len(frame))
        )
    if not frame[0] & 0x80:
        raise Mistake(
            _(
                "FIN (the top bit, 0x80, of the first byte) is 0; set it: "
                "this frame is all the message"
            )
        )
    if frame[0] & 0x70:
        raise Mistake(
            _("an RSV bit (0x70 of the first byte) is set; without extensions they stay 0")
        )
    if frame[0] & 0x0F != 0x1:
        raise Mistake(
            _(
                "the opcode (low 4 bits of the first byte) is {opcode}; text is 0x1",
                opcode=f"0x{frame[0] & 0x0F:X}",
            )
        )
    if not frame[1] & 0x80:
        raise Mistake(
            _("MASK (the top bit, 0x80, of the second byte) is 0; a client must mask every frame")
        )
    mask_at = _mask_start(frame, text)
    if frame[mask_at : mask_at + 4] != mask:
        raise Mistake(
            _(
                "the 4 bytes after the length are {found}; they must be the masking key, {mask}",
                found=frame[mask_at : mask_at + 4].hex(" "),
                mask=mask.hex(" "),
            )
        )
    body, payload = frame[mask_at + 4 :], text.encode()
    if body == payload:
        raise Mistake(_("the payload is not masked: XOR byte i with mask[i % 4]"))
    if len(body) != len(payload):
        raise Mistake(
            _(
                "{found} bytes follow the masking key; the payload has {size}",
                found=len(body),
                size=len(payload),
            )
        )
    wrong = next(
        i for i, (a, b) in enumerate(zip(body, payload, strict=True)) if a ^ b != mask[i % 4]
    )
    raise Mistake(
        _(
            "payload byte {index} is masked wrong: it must be payload[{index}] ^ mask[{index} % 4]",
            index=wrong,
        )
    )


def _label(text: str) -> str:
    """The text, or its start and size when it is long."""
    if len(text) <= 30:
        return repr(text)
    return _("{start}… ({size} bytes)", start=repr(text[:6]), size=len(text.encode()))


def check_text_frame(answer: object, must_pass: bool = False) -> Verdict:
    """Exercise 04.2: a function (text, mask) -> the masked text frame a client sends."""
    cases = [
        ("Hello", RFC_MASK),
        ('{"message": "こんにちは"}', bytes.fromhex("a1b2c3d4")),
        ("ぽよ" * 50, bytes.fromhex("0f1e2d3c")),
    ]

    def find_mistake(function: object) -> None:
        if not callable(function):
            raise Mistake(
                _(
                    "text_frame is a {type}: assign the function itself",
                    type=type(function).__name__,
                )
            )
        for text, mask in cases:
            try:
                _find_frame_mistake(function(text, mask), text, mask)
            except Mistake as mistake:
                said = _(
                    "for {text} with mask {mask}: {mistake}",
                    text=_label(text),
                    mask=mask.hex(" "),
                    mistake=mistake,
                )
                raise Mistake(said) from None

    return check_answer(
        answer,
        find_mistake,
        must_pass,
        hint=_("first byte 0x81, then MASK|length, the 4-byte key, and the payload XOR the key"),
        well_done=_(
            "Correct: RFC 6455's masked 'Hello', a Japanese message (length in bytes, not "
            "characters) and a 300-byte one (length 126 + 2 bytes) all come out right."
        ),
    )


def check_close_status(answer: object, close_frame: bytes, must_pass: bool = False) -> Verdict:
    """Exercise 04.3: the status code in the close frame the server sent (an int)."""
    status_bytes = close_frame[2:4]
    status = int.from_bytes(status_bytes, "big")

    def find_mistake(value: object) -> None:
        if value == status:
            return
        if isinstance(value, bytes | bytearray):
            raise Mistake(
                _(
                    "{value} is bytes; turn them into a number with int.from_bytes(..., 'big')",
                    value=repr(value),
                )
            )
        if value == int.from_bytes(status_bytes, "little"):
            raise Mistake(
                _(
                    "{value} reads the 2 bytes little-endian; network byte order is big-endian",
                    value=value,
                )
            )
        if value in (close_frame[0], close_frame[1]):
            raise Mistake(
                _(
                    "{value} is a header byte; the status is in the payload, the 2 bytes after "
                    "the header",
                    value=value,
                )
            )
        raise Mistake(
            _(
                "{value} is not what the 2 payload bytes {status_bytes} say",
                value=repr(value),
                status_bytes=status_bytes.hex(" "),
            )
        )

    return check_answer(
        answer,
        find_mistake,
        must_pass,
        hint=_("a server frame has a 2-byte header and no mask; the status is the next 2 bytes"),
        well_done=(
            _(
                "Correct: {status}, a normal closure (the server echoes the code you sent).",
                status=status,
            )
            if status == 1000
            else _("Correct: {status}.", status=status)
        ),
    )
