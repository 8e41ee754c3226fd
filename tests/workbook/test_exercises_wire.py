"""The checks of notebook 04 accept the right answers and explain wrong ones."""

import base64
import hashlib

import pytest

from tests.helpers import assert_japanese
from workbook.checks import ExerciseFailed
from workbook.exercises.wire import check_accept, check_close_status, check_text_frame
from workbook.wire import WEBSOCKET_GUID, mask_payload


def right_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()


class TestAccept:
    def test_the_right_function_passes(self):
        """base64(SHA-1(key + GUID)) as text passes, in a solution cell too."""
        assert check_accept(right_accept, must_pass=True)

    @pytest.mark.parametrize(
        ("answer", "says"),
        [
            (right_accept("x"), "a str: define a function"),
            (lambda key: right_accept(key).encode(), ".decode() the base64 result"),
            (
                lambda key: hashlib.sha1((key + WEBSOCKET_GUID).encode()).hexdigest(),
                "SHA-1 in hex",
            ),
            (
                lambda key: base64.b64encode(
                    hashlib.sha1(base64.b64decode(key) + WEBSOCKET_GUID.encode()).digest()
                ).decode(),
                "don't decode it",
            ),
            (
                lambda key: base64.b64encode(hashlib.sha1(key.encode()).digest()).decode(),
                "the GUID is missing",
            ),
            (
                lambda key: base64.b64encode(
                    hashlib.sha1((WEBSOCKET_GUID + key).encode()).digest()
                ).decode(),
                "wrong way round",
            ),
            (lambda key: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "the right answer is"),
        ],
        ids=["value", "bytes", "hex", "decoded-key", "no-guid", "swapped", "constant"],
    )
    def test_mistakes_are_explained(self, answer, says, capsys):
        """Each near miss gets its own explanation (a constant fails on the fresh key)."""
        assert not check_accept(answer)
        assert says in capsys.readouterr().out

    def test_a_wrong_function_fails_a_solution(self):
        """must_pass turns a wrong answer into ExerciseFailed."""
        with pytest.raises(ExerciseFailed):
            check_accept(lambda key: key, must_pass=True)


def right_frame(text: str, mask: bytes) -> bytes:
    payload = text.encode()
    if len(payload) < 126:
        lengths = bytes([0x80 | len(payload)])
    else:
        lengths = bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    return bytes([0x81]) + lengths + mask + mask_payload(payload, mask)


def with_byte(frame_function, index: int, value: int):
    """A frame function that gets one byte wrong."""

    def wrong(text: str, mask: bytes) -> bytes:
        frame = bytearray(frame_function(text, mask))
        frame[index] = value
        return bytes(frame)

    return wrong


def chars_as_length(text: str, mask: bytes) -> bytes:
    payload = text.encode()
    return bytes([0x81, 0x80 | len(text)]) + mask + mask_payload(payload, mask)


def no_extended_length(text: str, mask: bytes) -> bytes:
    payload = text.encode()
    return bytes([0x81, 0x80 | (len(payload) & 0x7F)]) + mask + mask_payload(payload, mask)


def little_endian_length(text: str, mask: bytes) -> bytes:
    frame = right_frame(text, mask)
    if len(text.encode()) < 126:
        return frame
    return frame[:2] + frame[2:4][::-1] + frame[4:]


def unmasked_payload(text: str, mask: bytes) -> bytes:
    return right_frame(text, mask)[: -len(text.encode())] + text.encode()


def mask_missing(text: str, mask: bytes) -> bytes:
    return right_frame(text, b"\x00\x00\x00\x00")


def masked_with_i(text: str, mask: bytes) -> bytes:
    payload = text.encode()
    masked = bytes(byte ^ mask[0] for byte in payload)
    return right_frame(text, mask)[: -len(payload)] + masked


class TestTextFrame:
    def test_the_right_function_passes(self):
        """A frame function that handles UTF-8 and the 2-byte length passes."""
        assert check_text_frame(right_frame, must_pass=True)

    @pytest.mark.parametrize(
        ("answer", "says"),
        [
            (lambda text, mask: right_frame(text, mask).hex(), "a frame is bytes"),
            (with_byte(right_frame, 0, 0x01), "FIN"),
            (with_byte(right_frame, 0, 0x82), "opcode"),
            (with_byte(right_frame, 0, 0xC1), "RSV"),
            (lambda text, mask: right_frame(text, mask)[:1] + b"\x05" + b"x", "MASK"),
            (chars_as_length, "number of characters"),
            (no_extended_length, "must be 126"),
            (little_endian_length, "little-endian"),
            (mask_missing, "masking key, 37 fa 21 3d"),
            (unmasked_payload, "not masked"),
            (masked_with_i, "byte 1 is masked wrong"),
        ],
        ids=[
            "hex-text",
            "no-fin",
            "binary",
            "rsv",
            "no-mask-bit",
            "chars",
            "no-126",
            "little-endian",
            "wrong-key",
            "unmasked",
            "one-key-byte",
        ],
    )
    def test_mistakes_are_explained(self, answer, says, capsys):
        """Each wrong bit, length, key or payload is named."""
        assert not check_text_frame(answer)
        assert says in capsys.readouterr().out


class TestCloseStatus:
    FRAME = bytes.fromhex("880203e8")

    def test_the_status_passes(self, capsys):
        """1000 from 88 02 03 e8 passes and is called a normal closure."""
        assert check_close_status(1000, self.FRAME, must_pass=True)
        assert "normal closure" in capsys.readouterr().out

    @pytest.mark.parametrize(
        ("answer", "says"),
        [
            (b"\x03\xe8", "int.from_bytes"),
            (0xE803, "little-endian"),
            (0x88, "header byte"),
            (1001, "not what the 2 payload bytes 03 e8 say"),
        ],
    )
    def test_mistakes_are_explained(self, answer, says, capsys):
        """Bytes, the wrong byte order, a header byte or another number are explained."""
        assert not check_close_status(answer, self.FRAME)
        assert says in capsys.readouterr().out


def cut_frame(text: str, mask: bytes) -> bytes:
    return b"\x81"


def extra_byte(text: str, mask: bytes) -> bytes:
    return right_frame(text, mask) + b"!"


def wrong_length_bits(text: str, mask: bytes) -> bytes:
    frame = bytearray(right_frame(text, mask))
    frame[1] = 0x80 | 3
    return bytes(frame)


def wrong_extended_length(text: str, mask: bytes) -> bytes:
    frame = right_frame(text, mask)
    if len(text.encode()) < 126:
        return frame
    return frame[:2] + (1).to_bytes(2, "big") + frame[4:]


class TestInJapanese:
    """The Japanese edition explains every mistake above in Japanese."""

    @pytest.mark.parametrize(
        "answer",
        [
            None,
            right_accept("x"),
            lambda key: right_accept(key).encode(),
            lambda key: hashlib.sha1((key + WEBSOCKET_GUID).encode()).hexdigest(),
            lambda key: base64.b64encode(
                hashlib.sha1((key + WEBSOCKET_GUID).encode()).hexdigest().encode()
            ).decode(),
            lambda key: base64.b64encode(
                hashlib.sha1(base64.b64decode(key) + WEBSOCKET_GUID.encode()).digest()
            ).decode(),
            lambda key: base64.b64encode(hashlib.sha1(key.encode()).digest()).decode(),
            lambda key: base64.b64encode(
                hashlib.sha1((WEBSOCKET_GUID + key).encode()).digest()
            ).decode(),
            lambda key: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            lambda key: int(key),
        ],
        ids=[
            "none",
            "value",
            "bytes",
            "hex",
            "hex-base64",
            "decoded-key",
            "no-guid",
            "swapped",
            "constant",
            "raises",
        ],
    )
    def test_accept_mistakes(self, answer, japanese, capsys):
        """Each near miss of the Sec-WebSocket-Accept, in Japanese."""
        assert not check_accept(answer)
        assert_japanese(capsys.readouterr().out)

    @pytest.mark.parametrize(
        "answer",
        [
            None,
            "text_frame",
            lambda text, mask: right_frame(text, mask).hex(),
            cut_frame,
            with_byte(right_frame, 0, 0x01),
            with_byte(right_frame, 0, 0x82),
            with_byte(right_frame, 0, 0xC1),
            lambda text, mask: right_frame(text, mask)[:1] + b"\x05" + b"x",
            chars_as_length,
            wrong_length_bits,
            no_extended_length,
            little_endian_length,
            wrong_extended_length,
            mask_missing,
            unmasked_payload,
            extra_byte,
            masked_with_i,
        ],
    )
    def test_text_frame_mistakes(self, answer, japanese, capsys):
        """Each wrong bit, length, key or payload, in Japanese."""
        assert not check_text_frame(answer)
        assert_japanese(capsys.readouterr().out)

    @pytest.mark.parametrize("answer", [None, b"\x03\xe8", 0xE803, 0x88, 1001])
    def test_close_status_mistakes(self, answer, japanese, capsys):
        """Bytes, the wrong byte order, a header byte or another number, in Japanese."""
        assert not check_close_status(answer, TestCloseStatus.FRAME)
        assert_japanese(capsys.readouterr().out)

    def test_right_answers_are_praised(self, japanese, capsys):
        """The ✓ lines are Japanese too, a close status other than 1000's as well."""
        assert check_accept(right_accept)
        assert check_text_frame(right_frame)
        assert check_close_status(1000, TestCloseStatus.FRAME)
        assert check_close_status(1001, bytes.fromhex("880203e9"))
        assert_japanese(capsys.readouterr().out)

    def test_a_solution_fails_in_japanese(self, japanese):
        """must_pass stops the run with the Japanese explanation."""
        with pytest.raises(ExerciseFailed) as failed:
            check_text_frame(chars_as_length, must_pass=True)
        assert_japanese(str(failed.value))
