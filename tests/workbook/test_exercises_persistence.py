"""The checks of notebook 06 accept the right answers and explain wrong ones."""

import json

import pytest

from chat import frames
from chat.authors import Author
from chat.history import save_messages
from tests.helpers import assert_japanese
from workbook.checks import ExerciseFailed
from workbook.exercises.persistence import (
    check_merge_history,
    check_missed_ids,
    check_present_users,
    history_frame,
)

ROOM = "persist06-long"
MESSAGES = 450
# Each kind of wrong missed_ids (made from the right one), and what its explanation says
WRONG_IDS = {
    "one page": (lambda ids: ids[:200], '"more": true'),
    "two pages": (lambda ids: ids[:400], "(2 pages of 200)"),
    "a page twice": (lambda ids: ids[:200] + ids[199:], "twice"),
    "reversed": (lambda ids: ids[::-1], "out of order"),
    "messages": (lambda ids: [{"id": pk} for pk in ids], "whole messages"),
    "frame": (lambda ids: history_frame(ids), "whole history frame"),
    "strings": (lambda ids: [str(pk) for pk in ids], "whole numbers"),
    "empty": (lambda ids: [], "empty"),
    "one missing": (lambda ids: ids[:-1], "missing"),
    "one id": (lambda ids: ids[0], "make it a list"),
}


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

    @pytest.mark.parametrize(("mangle", "says"), WRONG_IDS.values(), ids=list(WRONG_IDS))
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

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda ids: None,
            list,
            lambda ids: [ids[0] - 1, *ids],
            lambda ids: ids + [ids[-1] + 1],
            *(mangle for mangle, _says in WRONG_IDS.values()),
        ],
        ids=["None", "right", "the start", "one too many", *WRONG_IDS],
    )
    async def test_the_japanese_edition_explains_in_japanese(
        self, long_room, mangle, japanese, capsys
    ):
        """Every verdict on missed_ids, right, wrong or not collected, is in Japanese."""
        await check_missed_ids(mangle(long_room[20:]), ROOM, long_room[19])
        assert_japanese(capsys.readouterr().out)


def merge(shown_ids, frame):
    shown = set(shown_ids)
    return shown_ids + [m["id"] for m in frame["messages"] if m["id"] not in shown]


def merge_in_place(shown_ids, frame):
    for message in frame["messages"]:
        if message["id"] not in shown_ids:
            shown_ids.append(message["id"])
    return shown_ids


# Each kind of wrong merge_history, and what its explanation says
WRONG_MERGES = [
    (lambda shown, frame: shown + [m["id"] for m in frame["messages"]], "twice"),
    (lambda shown, frame: [m["id"] for m in frame["messages"]], "not [1, 2, 3, 4, 5]"),
    (lambda shown, frame: shown.extend([]), "returned None"),
    (lambda shown, frame: shown + frame["messages"], "returned messages"),
    (lambda shown, frame: shown + frame["ids"], "KeyError"),
    (merge([], history_frame([1])), "of type list: define a function"),
]


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

    @pytest.mark.parametrize(("function", "says"), WRONG_MERGES)
    def test_wrong_functions_are_explained(self, function, says, capsys):
        """Duplicates, a lost page, None, messages, a crash and a non-function are explained."""
        assert not check_merge_history(function)
        assert says in capsys.readouterr().out

    def test_a_solution_that_fails_raises(self):
        """In a solution cell a wrong function stops the run with the explanation."""
        with pytest.raises(ExerciseFailed, match="twice"):
            check_merge_history(lambda shown, frame: shown * 2, must_pass=True)

    @pytest.mark.parametrize(
        "function", [None, merge, *(function for function, _says in WRONG_MERGES)]
    )
    def test_the_japanese_edition_explains_in_japanese(self, function, japanese, capsys):
        """Every verdict on merge_history is in Japanese."""
        check_merge_history(function)
        assert_japanese(capsys.readouterr().out)


FRAME = {"type": "presence", "room": "persist06", "users": ["alice", "bob", "guest"]}
ENTRIES = [
    json.dumps(["alice", "specific.a!1"]),
    json.dumps(["bob", "specific.a!2"]),
    json.dumps(["bob", "specific.b!3"]),
    json.dumps(["guest", "specific.b!4"]),
]
# Each kind of wrong list of present people, and what its explanation says
WRONG_PRESENT = [
    (ENTRIES, "json.loads"),
    ([entry.encode() for entry in ENTRIES], "bytes"),
    ([(entry, 1.0) for entry in ENTRIES], "withscores"),
    ([json.loads(entry)[0] for entry in ENTRIES], "each name once"),
    (["alice", "bob"], "the presence frame lists ['alice', 'bob', 'guest']"),
    ("alice", "make it a list"),
    ([{"name": "alice"}], "should hold names"),
]


class TestPresentUsers:
    def test_the_names_pass_in_any_order(self):
        """Each person once passes, in the frame's order or another."""
        assert check_present_users(["alice", "bob", "guest"], FRAME, must_pass=True)
        assert check_present_users(["guest", "alice", "bob"], FRAME, must_pass=True)

    @pytest.mark.parametrize(("answer", "says"), WRONG_PRESENT)
    def test_wrong_answers_are_explained(self, answer, says, capsys):
        """Raw entries, bytes, pairs, duplicates, a missing name or one string are explained."""
        assert not check_present_users(answer, FRAME)
        assert says in capsys.readouterr().out

    @pytest.mark.parametrize(
        "answer", [None, ["alice", "bob", "guest"], *(answer for answer, _says in WRONG_PRESENT)]
    )
    def test_the_japanese_edition_explains_in_japanese(self, answer, japanese, capsys):
        """Every verdict on the people present is in Japanese."""
        check_present_users(answer, FRAME)
        assert_japanese(capsys.readouterr().out)
