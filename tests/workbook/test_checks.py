"""Exercise checks: verdicts in plain words, and a hard failure only for solutions."""

import ast
import inspect
import os
import subprocess
import sys

import pytest

from workbook import REPO_DIR
from workbook.checks import ExerciseFailed, Mistake, acheck_answer, check_answer
from workbook.exercises.consumers import check_shout_consumer
from workbook.exercises.load import check_p99
from workbook.exercises.persistence import check_merge_history, check_present_users
from workbook.exercises.wire import check_accept
from workbook.exercises.wsgi_asgi import check_hello_app, check_reverse_app, check_shout_app


def no_key(answer: object) -> None:
    """A finder for the tests: an answer without "key" is a mistake."""
    if "key" not in answer:
        raise Mistake("the key is missing")


def test_pass_prints_a_tick(capsys):
    """A passing check prints ✓ and well_done, and returns True."""
    assert check_answer({"key": 1}, no_key, well_done="All right")
    assert capsys.readouterr().out == "✓ All right\n"


def test_fail_prints_the_mistake_and_the_hint_and_goes_on(capsys):
    """A failing exercise check explains and returns False, so Run All continues."""
    assert not check_answer({}, no_key, hint="compute the key")
    assert "✗ Not yet: the key is missing. compute the key" in capsys.readouterr().out


def test_a_mistake_without_a_hint_speaks_alone(capsys):
    """With no hint, the ✗ line is the mistake's own words."""
    assert not check_answer({}, no_key)
    assert capsys.readouterr().out == "✗ Not yet: the key is missing\n"


def test_fail_raises_for_a_solution():
    """With must_pass (a solution cell), a failing check stops the notebook."""
    with pytest.raises(ExerciseFailed, match="the key is missing. compute"):
        check_answer({}, no_key, must_pass=True, hint="compute the key")


def test_none_is_not_done_and_is_not_judged(capsys):
    """An answer still None is 'not done yet', not an error; the finder never sees it."""
    assert not check_answer(None, no_key, hint="assign it")
    assert "✗ Not yet: the answer is still None. assign it" in capsys.readouterr().out


def test_none_says_what_to_do_first(capsys):
    """if_none, when given, is what an answer still None is told instead of the hint."""
    assert not check_answer(None, no_key, hint="use a dict", if_none="write the class")
    assert "still None. write the class" in capsys.readouterr().out


def test_errors_of_the_answer_are_explained(capsys):
    """If judging the answer raises, the error is part of the explanation."""
    assert not check_answer("x", lambda answer: answer["key"], hint="use a dict")
    out = capsys.readouterr().out
    assert "your answer raised TypeError: string indices must be integers" in out
    assert out.rstrip().endswith("use a dict")


async def test_an_awaited_finder_says_the_same(capsys):
    """acheck_answer() awaits its finder and explains the same way."""

    async def awaited_no_key(answer: object) -> None:
        no_key(answer)

    assert await acheck_answer({"key": 1}, awaited_no_key, well_done="All right")
    assert not await acheck_answer({}, awaited_no_key, hint="compute the key")
    assert not await acheck_answer(None, awaited_no_key, if_none="write it")
    assert capsys.readouterr().out.splitlines() == [
        "✓ All right",
        "✗ Not yet: the key is missing. compute the key",
        "✗ Not yet: the answer is still None. write it",
    ]
    with pytest.raises(ExerciseFailed, match="the key is missing"):
        await acheck_answer({}, awaited_no_key, must_pass=True)


# Wrong answers to the checks that once judged with assert statements
WRONG_ANSWERS = """
from workbook.exercises.django_project import check_shared_message
from workbook.exercises.layers import check_kept_messages
from workbook.exercises.welcome import check_reply_frame
from workbook.exercises.wire import check_accept, check_close_status, check_text_frame

check_reply_frame({"room": "lobby", "message": "hi"}, "雑談", "hi")
check_shared_message({"message": "fugafuga"}, "hogehoge")
check_kept_messages([3, 4, 5, 6, 7], capacity=5, sent=8)
check_accept(lambda key: key)
check_text_frame(lambda text, mask: b"\\x01" + text.encode())
check_close_status(0xE803, bytes.fromhex("880203e8"))
"""


def test_wrong_answers_still_fail_under_python_O():
    """python -O strips assert statements; the checks say ✗ all the same."""
    run = subprocess.run(
        [sys.executable, "-O", "-c", WRONG_ANSWERS],
        capture_output=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=True,
    )
    assert run.stdout.count("✗ Not yet") == 6, run.stdout
    assert "✓" not in run.stdout


def test_the_workbook_judges_without_assert():
    """No assert statement in workbook/: python -O would skip it and pass a wrong answer."""
    asserts = [
        f"{path.relative_to(REPO_DIR)}:{node.lineno}"
        for path in sorted((REPO_DIR / "workbook").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Assert)
    ]
    assert asserts == []


# Exercise checks, each with what its notebook passes besides the answer
EXERCISE_CHECKS = [
    (check_hello_app, ()),
    (check_shout_app, ()),
    (check_reverse_app, ()),
    (check_shout_consumer, ()),
    (check_accept, ()),
    (check_merge_history, ()),
    (check_present_users, ({"type": "presence", "users": ["alice"]},)),
    (check_p99, ([1.0, 2.0, 3.0],)),
]


@pytest.mark.parametrize(
    ("exercise_check", "arguments"),
    EXERCISE_CHECKS,
    ids=[exercise_check.__name__ for exercise_check, _ in EXERCISE_CHECKS],
)
async def test_an_untouched_exercise_is_not_done_yet(exercise_check, arguments, capsys):
    """An answer still None says so, in every exercise's check, and Run All goes on."""
    verdict = exercise_check(None, *arguments)
    if inspect.isawaitable(verdict):
        verdict = await verdict
    assert not verdict
    assert "✗ Not yet: the answer is still None" in capsys.readouterr().out
