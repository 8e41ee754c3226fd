"""The checks of notebook 06 accept the right answers and explain wrong ones."""

import json

import pytest

from chat import frames
from chat.authors import Author
from chat.history import save_messages
from workbook.checks import ExerciseFailed
from workbook.exercises.persistence import (
    check_merge_history,
    check_missed_ids,
    check_present_users,
    history_frame,
)

ROOM = "persist06-long"
MESSAGES = 450


@pytest.fixture
def long_room(transactional_db):
    """A room with 450 messages; returns their ids, oldest first."""
    texts = [f"message {n}" for n in range(MESSAGES)]
    return [event["id"] for event in save_messages(ROOM, Author("kernel"), texts)]


@pytest.mark.django_db(transaction=True)
class TestMissedIds:
    async def test_every_page_passes(self, long_room):
        """All ids above the start, over three pages, pass in a solution cell."""
        after = long_room[19]
        assert await check_missed_ids(long_room[20:], ROOM, after, must_pass=True)

    async def test_none_is_not_done_yet(self, long_room, capsys):
        """An untouched exercise says the answer is still None."""
        assert not await check_missed_ids(None, ROOM, long_room[0])
        assert "still None" in capsys.readouterr().out

    @pytest.mark.parametrize(
        ("mangle", "says"),
        [
            (lambda ids: ids[:200], '"more": true'),
            (lambda ids: ids[:400], "(2 pages of 200)"),
            (lambda ids: ids[:200] + ids[199:], "twice"),
            (lambda ids: ids[::-1], "out of order"),
            (lambda ids: [{"id": pk} for pk in ids], "whole messages"),
            (lambda ids: history_frame(ids), "whole history frame"),
            (lambda ids: [str(pk) for pk in ids], "whole numbers"),
            (lambda ids: [], "empty"),
            (lambda ids: ids[:-1], "missing"),
            (lambda ids: ids[0], "make it a list"),
        ],
    )
    async def test_wrong_answers_are_explained(self, long_room, mangle, says, capsys):
        """One page, a repeated page, the wrong order, whole messages and more are explained."""
        answer = mangle(long_room[20:])
        assert not await check_missed_ids(answer, ROOM, long_room[19])
        assert says in capsys.readouterr().out

    async def test_the_start_itself_is_not_after_it(self, long_room, capsys):
        """Including the id asked about is explained: after means above."""
        assert not await check_missed_ids(long_room[19:], ROOM, long_room[19])
        assert "is not one of them" in capsys.readouterr().out

    async def test_pages_are_the_chats_own(self, long_room, monkeypatch, capsys):
        """Pages are counted in the chat's HISTORY_PAGE_SIZE, whatever the chat sets it to."""
        monkeypatch.setattr(frames, "HISTORY_PAGE_SIZE", 100)
        after = long_room[19]
        assert not await check_missed_ids(long_room[20:320], ROOM, after)
        assert "(3 pages of 100)" in capsys.readouterr().out
        assert await check_missed_ids(long_room[20:], ROOM, after, must_pass=True)
        assert "in 5 pages" in capsys.readouterr().out


def merge(shown_ids, frame):
    shown = set(shown_ids)
    return shown_ids + [m["id"] for m in frame["messages"] if m["id"] not in shown]


def merge_in_place(shown_ids, frame):
    for message in frame["messages"]:
        if message["id"] not in shown_ids:
            shown_ids.append(message["id"])
    return shown_ids


class TestMergeHistory:
    @pytest.mark.parametrize("function", [merge, merge_in_place])
    def test_right_functions_pass(self, function):
        """A new list or the page's own list extended in place: both pass."""
        assert check_merge_history(function, must_pass=True)

    def test_sorted_union_passes(self):
        """Sorting the union is right too, since ids only grow."""
        assert check_merge_history(
            lambda shown, frame: sorted(set(shown) | {m["id"] for m in frame["messages"]}),
            must_pass=True,
        )

    @pytest.mark.parametrize(
        ("function", "says"),
        [
            (lambda shown, frame: shown + [m["id"] for m in frame["messages"]], "twice"),
            (lambda shown, frame: [m["id"] for m in frame["messages"]], "not [1, 2, 3, 4, 5]"),
            (lambda shown, frame: shown.extend([]), "returned None"),
            (lambda shown, frame: shown + frame["messages"], "returned messages"),
            (lambda shown, frame: shown + frame["ids"], "KeyError"),
            (merge([], history_frame([1])), "of type list: define a function"),
        ],
    )
    def test_wrong_functions_are_explained(self, function, says, capsys):
        """Duplicates, a lost page, None, messages, a crash and a non-function are explained."""
        assert not check_merge_history(function)
        assert says in capsys.readouterr().out

    def test_a_solution_that_fails_raises(self):
        """In a solution cell a wrong function stops the run with the explanation."""
        with pytest.raises(ExerciseFailed, match="twice"):
            check_merge_history(lambda shown, frame: shown * 2, must_pass=True)


FRAME = {"type": "presence", "room": "persist06", "users": ["alice", "bob", "guest"]}
ENTRIES = [
    json.dumps(["alice", "specific.a!1"]),
    json.dumps(["bob", "specific.a!2"]),
    json.dumps(["bob", "specific.b!3"]),
    json.dumps(["guest", "specific.b!4"]),
]


class TestPresentUsers:
    def test_the_names_pass_in_any_order(self):
        """Each person once passes, in the frame's order or another."""
        assert check_present_users(["alice", "bob", "guest"], FRAME, must_pass=True)
        assert check_present_users(["guest", "alice", "bob"], FRAME, must_pass=True)

    @pytest.mark.parametrize(
        ("answer", "says"),
        [
            (ENTRIES, "json.loads"),
            ([entry.encode() for entry in ENTRIES], "bytes"),
            ([(entry, 1.0) for entry in ENTRIES], "withscores"),
            ([json.loads(entry)[0] for entry in ENTRIES], "each name once"),
            (["alice", "bob"], "the presence frame lists ['alice', 'bob', 'guest']"),
            ("alice", "make it a list"),
            ([{"name": "alice"}], "should hold names"),
        ],
    )
    def test_wrong_answers_are_explained(self, answer, says, capsys):
        """Raw entries, bytes, pairs, duplicates, a missing name or one string are explained."""
        assert not check_present_users(answer, FRAME)
        assert says in capsys.readouterr().out
