"""The WebSocket wire by hand: HTTP heads and frames read off a raw socket, frames shown by byte.

Notebook cells build the Upgrade request and the frames themselves; these helpers only read
the right number of bytes and print what each byte means.
"""

import base64
import hashlib
import os
import socket
import unicodedata
from dataclasses import dataclass

from .i18n import _
from .ports import HOST

# RFC 6455's fixed GUID: no other protocol would append it, so only a WebSocket server answers right
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OPCODES = {0x0: "continuation", 0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ping", 0xA: "pong"}


def recv_exactly(sock: socket.socket, count: int) -> bytes:
    """Read exactly count bytes (recv() may return fewer); EOFError if the peer closes first."""
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError(
                _(
                    "the connection closed after {received} of {count} bytes",
                    received=len(data),
                    count=count,
                )
            )
        data += chunk
    return data


def read_http_head(sock: socket.socket, limit: int = 16384) -> str:
    """Read an HTTP response head (up to and including the blank line), and not a byte more.

    One byte at a time, so that the first WebSocket frame, if it follows at once, stays unread.
    """
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += recv_exactly(sock, 1)
        if len(head) > limit:
            raise ValueError(
                _("no blank line in the first {limit} bytes: not an HTTP head", limit=limit)
            )
    return head.decode("latin-1")


def accept_for(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer to a Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()


def open_websocket(port: int, path: str, origin: str, timeout: float = 5.0) -> socket.socket:
    """The Upgrade handshake of a raw socket in one call; ConnectionError if the server refuses."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\n\r\n"
    )
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.sendall(request.encode())
    status_line, headers = parse_http_head(read_http_head(sock))
    if " 101 " not in status_line or headers.get("sec-websocket-accept") != accept_for(key):
        sock.close()
        raise ConnectionError(
            _("the server did not switch to WebSocket: {status_line}", status_line=status_line)
        )
    return sock


def parse_http_head(head: str) -> tuple[str, dict[str, str]]:
    """The status line, and the headers with their names in lower case."""
    status_line, *lines = head.strip().split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status_line, headers


def mask_payload(payload: bytes, mask: bytes) -> bytes:
    """XOR byte i with mask[i % 4]: masks a payload, and unmasks a masked one."""
    return bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))


def client_frame(opcode: int, payload: bytes, mask: bytes) -> bytes:
    """A whole, masked frame as a client sends it (payloads up to 65535 bytes)."""
    if len(payload) < 126:
        lengths = bytes([0x80 | len(payload)])
    elif len(payload) < 1 << 16:
        lengths = bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    else:
        raise ValueError(_("payloads of 64 KiB and more need the 8-byte length, not written here"))
    return bytes([0x80 | opcode]) + lengths + mask + mask_payload(payload, mask)


def frame_length(start: bytes) -> int:
    """A frame's whole length in bytes, from its first 2 (or 4, or 10) bytes."""
    masked, length, extra = start[1] >> 7, start[1] & 0x7F, _extended_length_size(start)
    if len(start) < 2 + extra:
        raise ValueError(
            _(
                "need {needed} bytes to know the frame's length, got {size}",
                needed=2 + extra,
                size=len(start),
            )
        )
    if extra:
        length = int.from_bytes(start[2 : 2 + extra], "big")
    return 2 + extra + 4 * masked + length


def _extended_length_size(start: bytes) -> int:
    """How many bytes of extended length follow the second byte: 0, 2 (length 126) or 8 (127)."""
    return {126: 2, 127: 8}.get(start[1] & 0x7F, 0)


def read_frame(sock: socket.socket) -> bytes:
    """Read one whole frame off the socket and return its bytes, header included."""
    start = recv_exactly(sock, 2)
    start += recv_exactly(sock, _extended_length_size(start))
    return start + recv_exactly(sock, frame_length(start) - len(start))


@dataclass
class Frame:
    """A frame taken apart: the header fields and the (unmasked) payload."""

    fin: int
    rsv: int
    opcode: int
    masked: int
    length: int
    mask: bytes
    payload: bytes
    header_length: int

    @property
    def kind(self) -> str:
        return OPCODES.get(self.opcode, "reserved")


def parse_frame(frame: bytes) -> Frame:
    """Take one frame apart; ValueError if the bytes are fewer or more than its header says."""
    if len(frame) < 2:
        raise ValueError(_("a frame has at least 2 bytes, this has {size}", size=len(frame)))
    total = frame_length(frame)
    if len(frame) != total:
        raise ValueError(
            _(
                "the header announces a {total}-byte frame, but it has {size} bytes",
                total=total,
                size=len(frame),
            )
        )
    masked = frame[1] >> 7
    offset = 2 + _extended_length_size(frame)
    mask = frame[offset : offset + 4] if masked else b""
    header_length = offset + len(mask)
    payload = frame[header_length:]
    if masked:
        payload = mask_payload(payload, mask)
    return Frame(
        fin=frame[0] >> 7,
        rsv=(frame[0] >> 4) & 0b111,
        opcode=frame[0] & 0x0F,
        masked=masked,
        length=len(payload),
        mask=mask,
        payload=payload,
        header_length=header_length,
    )


def describe_frame(frame: bytes, limit: int = 128) -> str:
    """Each part of a frame with what it means and its bytes in hex (payloads cut at limit)."""
    parsed = parse_frame(frame)
    length_field = frame[2 : parsed.header_length - len(parsed.mask)]
    body = frame[parsed.header_length :]
    rows = [
        (
            f"FIN={parsed.fin} RSV={parsed.rsv:03b} opcode=0x{parsed.opcode:X} ({parsed.kind})",
            frame[:1],
        ),
        (f"MASK={parsed.masked} length={frame[1] & 0x7F}", frame[1:2]),
    ]
    if length_field:
        rows.append((_("extended length={length}", length=parsed.length), length_field))
    if parsed.masked:
        rows.append((_("masking key"), parsed.mask))
    if parsed.masked:
        rows.append((_("payload, masked ({size} bytes)", size=len(body)), body))
    else:
        rows.append((_("payload ({size} bytes)", size=len(body)), body))
    lines = []
    for meaning, part in rows:
        for start in range(0, max(min(len(part), limit), 1), 16):
            label = _padded(meaning if start == 0 else "", 34)
            lines.append(f"{label}{part[start : start + 16].hex(' ')}")
    if len(body) > limit:
        lines.append(" " * 34 + _("… {count} more bytes", count=len(body) - limit))
    lines.append(_("payload: {text}", text=_payload_text(parsed)))
    return "\n".join(lines)


def _padded(text: str, width: int) -> str:
    """text and spaces up to width columns; a Japanese character takes two columns."""
    columns = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
    return text + " " * max(width - columns, 0)


def show_frame(frame: bytes, limit: int = 128) -> None:
    """Print describe_frame(frame, limit)."""
    print(describe_frame(frame, limit))


def _payload_text(frame: Frame) -> str:
    if frame.opcode == 0x8 and len(frame.payload) >= 2:
        reason = frame.payload[2:].decode("utf-8", "replace")
        return _(
            "close status {status} {reason}",
            status=int.from_bytes(frame.payload[:2], "big"),
            reason=repr(reason),
        )
    if frame.opcode == 0x1:
        return repr(frame.payload.decode("utf-8", "replace"))
    return repr(frame.payload)
