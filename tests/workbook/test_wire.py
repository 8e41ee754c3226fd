"""The wire helpers read HTTP heads and frames exactly, and agree with RFC 6455's examples."""

import socket
import unicodedata

import pytest

from tests.helpers import assert_japanese
from workbook.wire import (
    accept_for,
    client_frame,
    describe_frame,
    mask_payload,
    open_websocket,
    parse_frame,
    parse_http_head,
    read_frame,
    read_http_head,
    recv_exactly,
)

# RFC 6455, section 5.7
RFC_UNMASKED_HELLO = bytes.fromhex("810548656c6c6f")
RFC_MASKED_HELLO = bytes.fromhex("818537fa213d7f9f4d5158")


@pytest.fixture
def pair():
    """Two connected sockets: what one sends, the other reads."""
    left, right = socket.socketpair()
    right.settimeout(5)
    yield left, right
    left.close()
    right.close()


class TestReading:
    def test_recv_exactly_waits_for_every_byte(self, pair):
        """Bytes sent in pieces come back as one piece of exactly the asked length."""
        left, right = pair
        left.sendall(b"abc")
        left.sendall(b"defg")
        assert recv_exactly(right, 5) == b"abcde"
        assert recv_exactly(right, 2) == b"fg"

    def test_recv_exactly_says_when_the_peer_closed(self, pair):
        """A connection closed too early raises EOFError with the count."""
        left, right = pair
        left.sendall(b"ab")
        left.close()
        with pytest.raises(EOFError, match="2 of 4"):
            recv_exactly(right, 4)

    def test_http_head_leaves_the_first_frame_unread(self, pair):
        """The head ends at the blank line; a frame right after it stays in the socket."""
        left, right = pair
        left.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
        left.sendall(RFC_UNMASKED_HELLO)
        assert read_http_head(right).endswith("websocket\r\n\r\n")
        assert read_frame(right) == RFC_UNMASKED_HELLO

    def test_parse_http_head_lowercases_names(self):
        """Header names come back in lower case, values as sent."""
        status, headers = parse_http_head("HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: a+b=\r\n\r\n")
        assert status == "HTTP/1.1 101 OK"
        assert headers == {"sec-websocket-accept": "a+b="}

    def test_read_frame_reads_one_frame_with_extended_length(self, pair):
        """A 300-byte frame (length 126 + 2 bytes) is read whole, and nothing of the next."""
        left, right = pair
        big = client_frame(0x1, b"x" * 300, b"\x01\x02\x03\x04")
        left.sendall(big + RFC_UNMASKED_HELLO)
        assert read_frame(right) == big
        assert read_frame(right) == RFC_UNMASKED_HELLO


class TestFrames:
    def test_accept_matches_the_rfc_example(self):
        """The RFC's example key gets the RFC's example answer."""
        assert accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    def test_client_frame_matches_the_rfc_example(self):
        """A masked 'Hello' with the RFC's key is byte for byte the RFC's frame."""
        assert client_frame(0x1, b"Hello", bytes.fromhex("37fa213d")) == RFC_MASKED_HELLO

    def test_masking_twice_gives_the_payload_back(self):
        """XOR with the key is its own inverse: that is how the server unmasks."""
        mask = bytes.fromhex("a1b2c3d4")
        assert mask_payload(mask_payload(b"hogehoge", mask), mask) == b"hogehoge"

    def test_client_frame_uses_the_2_byte_length_from_126(self):
        """125 bytes fit the length bits; 126 bytes need 126 and a 2-byte length."""
        mask = b"\x00\x00\x00\x00"
        assert client_frame(0x1, b"x" * 125, mask)[1] == 0x80 | 125
        assert client_frame(0x1, b"x" * 126, mask)[1:4] == bytes([0x80 | 126, 0, 126])

    def test_parse_unmasks_and_reads_the_header(self):
        """The masked RFC frame parses to FIN=1, text, masked, 'Hello'."""
        frame = parse_frame(RFC_MASKED_HELLO)
        assert (frame.fin, frame.opcode, frame.masked, frame.payload) == (1, 1, 1, b"Hello")
        assert frame.kind == "text"

    def test_parse_refuses_a_cut_frame(self):
        """A frame shorter than its header says is refused, saying both lengths."""
        with pytest.raises(ValueError, match="7-byte frame, but it has 6"):
            parse_frame(RFC_UNMASKED_HELLO[:-1])

    def test_describe_names_every_part(self):
        """The description shows the header bits, the key, and the unmasked text."""
        text = describe_frame(RFC_MASKED_HELLO)
        assert "FIN=1 RSV=000 opcode=0x1 (text)" in text
        assert "masking key" in text
        assert "37 fa 21 3d" in text
        assert "payload: 'Hello'" in text

    def test_describe_reads_a_close_status(self):
        """A close frame's payload is shown as its status code."""
        assert "close status 1000" in describe_frame(bytes.fromhex("880203e8"))


class TestInJapanese:
    """The Japanese edition explains a cut connection or frame, and a frame's parts, in
    Japanese; the header fields keep their RFC names."""

    def test_a_closed_connection(self, pair, japanese):
        """A peer that closes early: how many bytes came, in Japanese."""
        left, right = pair
        left.sendall(b"ab")
        left.close()
        with pytest.raises(EOFError) as closed:
            recv_exactly(right, 4)
        assert_japanese(str(closed.value))

    @pytest.mark.parametrize(
        "frame", [RFC_UNMASKED_HELLO[:1], RFC_UNMASKED_HELLO[:-1], bytes([0x81, 126, 0])]
    )
    def test_a_cut_frame(self, frame, japanese):
        """Too few bytes for a header or for the length it announces."""
        with pytest.raises(ValueError) as refused:
            parse_frame(frame)
        assert_japanese(str(refused.value))

    def test_a_too_long_payload(self, japanese):
        """64 KiB and more need the 8-byte length, which client_frame does not write."""
        with pytest.raises(ValueError) as refused:
            client_frame(0x1, b"x" * 65536, b"\x00\x00\x00\x00")
        assert_japanese(str(refused.value))

    def test_a_head_without_end(self, pair, japanese):
        """Bytes without the blank line that ends an HTTP head."""
        left, right = pair
        left.sendall(b"x" * 20)
        with pytest.raises(ValueError) as refused:
            read_http_head(right, limit=10)
        assert_japanese(str(refused.value))

    def test_describe_explains_in_japanese(self, japanese):
        """Each part of a frame is named in Japanese (the header fields keep their RFC names),
        and the bytes stay in one column, whatever the width of the words before them."""
        frame = client_frame(0x1, b"x" * 300, RFC_MASKED_HELLO[2:6])
        lines = describe_frame(frame, limit=16).splitlines()
        # extended length, masking key, payload, what is left out, the payload as text
        for line in lines[2:]:
            assert_japanese(line)
        key = lines[3].index("37 fa 21 3d")
        assert sum(1 + (unicodedata.east_asian_width(c) == "W") for c in lines[3][:key]) == 34
        assert_japanese(describe_frame(bytes.fromhex("880203e8")).splitlines()[-1])


@pytest.mark.live
class TestHandshake:
    def test_open_websocket_talks_to_the_chat(self, start_chat_server):
        """The raw handshake opens a socket that the chat answers on."""
        server = start_chat_server()
        sock = open_websocket(server.port, "/ws/chat/demoroom/", origin=server.url)
        with sock:
            sock.sendall(client_frame(0x1, b'{"message": "hi"}', b"\x01\x02\x03\x04"))
            reply = parse_frame(read_frame(sock))
        assert reply.masked == 0
        assert b'"message": "hi"' in reply.payload

    def test_open_websocket_reports_a_refusal(self, start_chat_server):
        """A foreign Origin gets 403, reported as ConnectionError with the status line."""
        server = start_chat_server()
        with pytest.raises(ConnectionError, match="403"):
            open_websocket(server.port, "/ws/chat/demoroom/", origin="http://evil.example")
