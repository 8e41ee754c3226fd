"""Reading client frames: the chat text, or an error that says what was wrong."""

import json

import pytest

from chat.frames import (
    CLOSE_MESSAGE_TOO_BIG,
    MAX_FRAME_LENGTH,
    MAX_MESSAGE_LENGTH,
    BadFrame,
    encode,
    read_chat_message,
)


def test_reads_the_tutorial_frame():
    """{"message": text} gives the text back unchanged."""
    assert read_chat_message(json.dumps({"message": "hogehoge"})) == "hogehoge"


def test_extra_fields_are_ignored():
    """Clients may add fields; only "message" matters."""
    assert read_chat_message('{"message": "hi", "client": "x"}') == "hi"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("hello", "not JSON"),
        ('["hello"]', "JSON array"),
        ('"hello"', "JSON string"),
        ("{}", 'no "message"'),
        ('{"message": 42}', "not a JSON number"),
        ('{"message": null}', 'no "message"'),
        ('{"message": "  "}', "empty"),
        (json.dumps({"message": "x" * (MAX_MESSAGE_LENGTH + 1)}), "too long"),
        ('{"message": "\\ud800"}', "lone surrogate"),
    ],
)
def test_bad_frames_get_an_error_and_keep_the_socket(frame, reason):
    """Each bad frame raises BadFrame naming the problem, without a close code."""
    with pytest.raises(BadFrame, match=reason) as raised:
        read_chat_message(frame)
    assert raised.value.close_code is None


def test_binary_frames_get_an_error():
    """Binary data is not part of the protocol: an error frame says to send text."""
    with pytest.raises(BadFrame, match="binary") as raised:
        read_chat_message(None, b"\x00\x01")
    assert raised.value.close_code is None


def test_huge_frames_close_with_4009_before_parsing():
    """A frame past the size limit closes with the application's 'message too big'."""
    with pytest.raises(BadFrame) as raised:
        read_chat_message("x" * (MAX_FRAME_LENGTH + 1))
    assert raised.value.close_code == CLOSE_MESSAGE_TOO_BIG


def test_encode_keeps_unicode_readable():
    """Server frames carry 雑談 as UTF-8 text, not \\u escapes."""
    assert encode({"message": "雑談"}) == '{"message": "雑談"}'
