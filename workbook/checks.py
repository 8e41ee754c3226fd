"""Exercise checks: say in plain words what is right or wrong.

A check cell after an exercise prints its verdict and never stops "Run All"; the solution
cell calls the same check with ``must_pass=True``, so a notebook run proves its solutions.

Every check reports a mistake one way: a small finder raises Mistake with the explanation,
and check_answer() (acheck_answer() when the finder awaits) prints ✓ or ✗. A raised Mistake,
unlike an assert, still counts under ``python -O``.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from .i18n import N_, _, current_language

STILL_NONE = N_("the answer is still None")
CORRECT = N_("Correct!")


class ExerciseFailed(AssertionError):
    """A solution that should pass its check did not."""


class Mistake(Exception):
    """What is wrong with an answer, in plain words for the attendee."""


class Verdict:
    """What a check returns: true if it passed. Shows nothing in a notebook (it printed already)."""

    def __init__(self, passed: bool) -> None:
        self.passed = passed

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"Verdict(passed={self.passed})"

    def _ipython_display_(self) -> None:
        """The verdict is already printed; don't echo it as the cell's result."""


def check_answer(
    answer: Any,
    find_mistake: Callable[[Any], object],
    must_pass: bool = False,
    *,
    hint: str = "",
    if_none: str = "",
    well_done: str = CORRECT,
) -> Verdict:
    """✓ if find_mistake(answer) returns; ✗ with the Mistake it raises, then the hint.

    An answer still None is not done yet: if_none (or else the hint) says what to do. Any other
    exception is the attendee's code failing, and its type and message are the explanation.
    """
    if answer is None:
        return _not_done(if_none or hint, must_pass)
    try:
        find_mistake(answer)
    except Exception as error:  # a Mistake, or the attendee's code failing in any way
        return _wrong(_explained(error, hint), must_pass)
    return _right(well_done)


async def acheck_answer(
    answer: Any,
    find_mistake: Callable[[Any], Awaitable[object]],
    must_pass: bool = False,
    *,
    hint: str = "",
    if_none: str = "",
    well_done: str = CORRECT,
) -> Verdict:
    """check_answer() for a finder that awaits, as one that talks to the attendee's app does."""
    if answer is None:
        return _not_done(if_none or hint, must_pass)
    try:
        await find_mistake(answer)
    except Exception as error:  # a Mistake, or the attendee's code failing in any way
        return _wrong(_explained(error, hint), must_pass)
    return _right(well_done)


def _not_done(what_to_do: str, must_pass: bool) -> Verdict:
    """✗: the exercise is not done yet, and what to do first."""
    return _wrong(_sentences(_(STILL_NONE), what_to_do), must_pass)


def _explained(error: Exception, hint: str) -> str:
    """A Mistake's own words, or what the attendee's code raised; then the hint."""
    if isinstance(error, Mistake):
        return _sentences(str(error), hint)
    raised = _(
        "your answer raised {error_type}: {error}", error_type=type(error).__name__, error=error
    )
    return _sentences(raised, hint)


# How a sentence ends, in English and in Japanese (which needs no space after it)
SENTENCE_ENDS = (".", "?", "!", "。", "？", "！")
FULL_STOP = {"en": (".", " "), "ja": ("。", "")}


def _sentences(*parts: str) -> str:
    """The parts that say something, one after the other; each but the last ends a sentence."""
    stop, space = FULL_STOP[current_language()]
    said = [part for part in parts if part]
    ended = [part if part.endswith(SENTENCE_ENDS) else f"{part}{stop}" for part in said[:-1]]
    return space.join([*ended, *said[-1:]])


def _right(well_done: str) -> Verdict:
    # well_done is translated by the check that says it; the default is translated here
    print(f"✓ {_(well_done) if well_done == CORRECT else well_done}")
    return Verdict(True)


def _wrong(explanation: str, must_pass: bool) -> Verdict:
    """✗ and the explanation; in a solution cell (must_pass), stop the notebook with it."""
    if must_pass:
        raise ExerciseFailed(explanation)
    print(_("✗ Not yet: {explanation}", explanation=explanation))
    return Verdict(False)
