"""Reading client frames: the chat text, or an error that says what was wrong."""

import json

import pytest

from chat import frames
from chat.frames import (
    CLOSE_MESSAGE_TOO_BIG,
    MAX_FRAME_LENGTH,
    MAX_MESSAGE_LENGTH,
    MAX_RECENT,
    BadFrame,
    HistoryRequest,
    encode,
    error_frame,
    history_frame,
    message_frame,
    read_client_frame,
    read_history_query,
)


def test_reads_the_tutorial_frame():
    """{"message": text} gives the text back unchanged."""
    assert read_client_frame(json.dumps({"message": "hogehoge"})) == "hogehoge"


def test_extra_fields_are_ignored():
    """Clients may add fields; only "message" matters."""
    assert read_client_frame('{"message": "hi", "client": "x"}') == "hi"


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
        read_client_frame(frame)
    assert raised.value.close_code is None


def test_binary_frames_get_an_error():
    """Binary data is not part of the protocol: an error frame says to send text."""
    with pytest.raises(BadFrame, match="binary") as raised:
        read_client_frame(None)
    assert raised.value.close_code is None


def test_huge_frames_close_with_4009_before_parsing():
    """A frame past the size limit closes with the application's 'message too big'."""
    with pytest.raises(BadFrame) as raised:
        read_client_frame("x" * (MAX_FRAME_LENGTH + 1))
    assert raised.value.close_code == CLOSE_MESSAGE_TOO_BIG


def test_encode_keeps_unicode_readable():
    """Server frames carry 雑談 as UTF-8 text, not \\u escapes."""
    assert encode({"message": "雑談"}) == '{"message": "雑談"}'


def test_client_frame_is_a_message_or_a_history_request():
    """{"message": …} gives the text; {"type": "history", "after": id} a history request."""
    assert read_client_frame('{"message": "hi"}') == "hi"
    assert read_client_frame('{"type": "history", "after": 7}') == HistoryRequest(after=7)
    assert read_client_frame('{"type": "history", "after": "7"}') == HistoryRequest(after=7)


@pytest.mark.parametrize(
    "after", ['"x"', "-1", "1.5", "true", "null", '"-1"', '"\uff11"', "[1]"], ids=repr
)
def test_history_frame_needs_a_whole_number(after):
    """A history request's "after" must be a whole number ≥ 0, given as a number or digits."""
    with pytest.raises(BadFrame, match='"after" must be a message id') as raised:
        read_client_frame(f'{{"type": "history", "after": {after}}}')
    assert raised.value.close_code is None


def test_history_frame_after_a_seq():
    """{"type": "history", "after_seq": n} asks by seq, with before_seq as an upper bound."""
    after_5 = HistoryRequest(after_seq=5)
    assert read_client_frame('{"type": "history", "after_seq": 5}') == after_5
    between = '{"type": "history", "after_seq": 5, "before_seq": "9"}'
    assert read_client_frame(between) == HistoryRequest(after_seq=5, before_seq=9)


@pytest.mark.parametrize(
    ("frame", "named"),
    [
        ('{"type": "history", "after_seq": -1}', '"after_seq" must be a seq'),
        ('{"type": "history", "after_seq": null}', '"after_seq" must be a seq'),
        ('{"type": "history", "after_seq": 1, "before_seq": 1.5}', '"before_seq" must be a seq'),
        ('{"type": "history", "after_seq": 1, "before_seq": [9]}', '"before_seq" must be a seq'),
    ],
)
def test_history_frame_needs_whole_seqs(frame, named):
    """after_seq and before_seq must be whole numbers ≥ 0; the error names the one that is not."""
    with pytest.raises(BadFrame, match=named):
        read_client_frame(frame)


def test_typing_notice_and_unknown_types():
    """{"type": "typing"} is a typing notice; a type the chat does not know is a bad frame."""
    assert read_client_frame('{"type": "typing"}') == frames.Typing()
    with pytest.raises(BadFrame, match="unknown frame type 'dance'") as raised:
        read_client_frame('{"type": "dance", "message": "hi"}')
    assert raised.value.close_code is None


def test_history_frame_without_after_is_refused():
    """A history request must say which id it saw last."""
    with pytest.raises(BadFrame, match='"after"'):
        read_client_frame('{"type": "history"}')


@pytest.mark.parametrize(
    ("query", "asked"),
    [
        (b"", None),
        (b"other=1", None),
        (b"after=0", HistoryRequest(after=0)),
        (b"after=42", HistoryRequest(after=42)),
        (b"after=1&after=5", HistoryRequest(after=5)),
        (b"after=3&recent=10", HistoryRequest(after=3)),
        (b"recent=10", HistoryRequest(recent=10)),
        (b"recent=0", HistoryRequest(recent=1)),
        (b"recent=100000", HistoryRequest(recent=MAX_RECENT)),
        (b"after_seq=7", HistoryRequest(after_seq=7)),
        (b"after_seq=7&before_seq=9", HistoryRequest(after_seq=7, before_seq=9)),
        (b"after=3&after_seq=7&recent=10", HistoryRequest(after_seq=7)),
    ],
)
def test_history_query(query, asked):
    """?after_seq= wins over ?after=, which wins over ?recent=; recent is clamped to
    1..MAX_RECENT; nothing asked, None."""
    assert read_history_query(query) == asked


def test_recent_is_clamped_to_the_current_maximum(monkeypatch):
    """MAX_RECENT is read when the query is, so a deployment may change it."""
    monkeypatch.setattr(frames, "MAX_RECENT", 3)
    assert read_history_query(b"recent=50") == HistoryRequest(recent=3)


@pytest.mark.parametrize(
    "query",
    [
        b"after=abc",
        b"after=-1",
        b"after=1.5",
        b"after=%EF%BC%91",
        b"recent=x",
        b"recent=-2",
        b"after_seq=",
        b"after_seq=1&before_seq=x",
    ],
)
def test_bad_history_query(query):
    """A value that is no whole number gets BadFrame naming the parameter, not a close."""
    name = query.split(b"=")[-2].split(b"&")[-1].decode()
    with pytest.raises(BadFrame, match=f'"{name}"') as raised:
        read_history_query(query)
    assert raised.value.close_code is None


EVENT = {
    "id": 5,
    "seq": 2,
    "message": "雑談です",
    "author": "guest-0042",
    "guest": True,
    "time": "2026-01-01T00:00:00.000+00:00",
}


def test_message_frame_carries_id_seq_and_author():
    """A saved message's frame has its type, text, room, time, id, seq, author and guest flag."""
    assert message_frame({**EVENT, "type": "chat.message"}, "雑談") == {
        "type": "message",
        "message": "雑談です",
        "room": "雑談",
        "time": "2026-01-01T00:00:00.000+00:00",
        "id": 5,
        "seq": 2,
        "author": "guest-0042",
        "guest": True,
    }


def test_message_frame_of_an_unsaved_event():
    """An event without id or author gives a frame without them (nothing is made up)."""
    frame = message_frame({"message": "hi", "time": EVENT["time"]}, "demoroom")
    assert frame == {"type": "message", "message": "hi", "room": "demoroom", "time": EVENT["time"]}


def test_history_frame_wraps_message_frames():
    """A history frame lists message frames in the order given, with the room and "more"."""
    second = {**EVENT, "id": 6, "message": "two"}
    decoded = json.loads(history_frame([EVENT, second], "雑談", more=True))
    assert decoded == {
        "type": "history",
        "room": "雑談",
        "messages": [message_frame(EVENT, "雑談"), message_frame(second, "雑談")],
        "more": True,
    }
    assert "雑談" in history_frame([], "雑談", more=False)


def test_error_frame():
    """An error frame is {"type": "error", "code": code, "error": reason}."""
    expected = {"type": "error", "code": "bad_frame", "error": "too many"}
    assert json.loads(error_frame("too many")) == expected


OVERLONG_ID = "9" * 5000


@pytest.mark.parametrize(
    "read",
    [
        lambda: read_history_query(f"after={OVERLONG_ID}".encode()),
        lambda: read_history_query(f"recent={OVERLONG_ID}".encode()),
        lambda: read_client_frame(json.dumps({"type": "history", "after": OVERLONG_ID})),
    ],
    ids=["after query", "recent query", "history frame"],
)
def test_overlong_digit_strings_are_bad_frames(read):
    """Thousands of digits are no message id: BadFrame, like any other bad value."""
    with pytest.raises(BadFrame, match="must be a message id"):
        read()


def test_error_frames_carry_a_stable_code():
    """A client decides on the code: refused frames say bad_frame, a frame too big too_big."""
    with pytest.raises(BadFrame) as bad:
        read_client_frame("[1]")
    assert bad.value.code == "bad_frame"
    with pytest.raises(BadFrame) as big:
        read_client_frame(" " * (MAX_FRAME_LENGTH + 1))
    assert big.value.code == "too_big"
    retry = json.loads(error_frame("Redis is away", "unavailable", retry=True))
    assert retry["code"] == "unavailable" and retry["retry"] is True
