"""Exercise checks: say in plain words what is right or wrong.

A check cell after an exercise prints its verdict and never stops "Run All"; the solution
cell calls the same check with ``must_pass=True``, so a notebook run proves its solutions.
"""

from collections.abc import Callable
from typing import Any


class ExerciseFailed(AssertionError):
    """A solution that should pass its check did not."""


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


def check(passed: bool, hint: str, must_pass: bool = False, well_done: str = "Correct!") -> Verdict:
    """Print ✓ and well_done, or ✗ and the hint; raise ExerciseFailed only if must_pass."""
    if passed:
        print(f"✓ {well_done}")
        return Verdict(True)
    if must_pass:
        raise ExerciseFailed(hint)
    print(f"✗ Not yet: {hint}")
    return Verdict(False)


def check_value(
    answer: Any,
    is_right: Callable[[Any], bool],
    hint: str,
    must_pass: bool = False,
    well_done: str = "Correct!",
) -> Verdict:
    """check() for an answer that may be missing or raise: None means 'not done yet'."""
    if answer is None:
        return check(False, "the answer is still None. " + hint, must_pass)
    try:
        passed = bool(is_right(answer))
    except Exception as error:  # the attendee's code may fail in any way
        return check(False, f"{type(error).__name__}: {error}. {hint}", must_pass)
    return check(passed, hint, must_pass, well_done)


def check_problem(
    problem: str | None, must_pass: bool = False, well_done: str = "Correct!"
) -> Verdict:
    """check() for a finder that returns what is wrong in plain words, or None when all is right."""
    return check(problem is None, problem or "", must_pass, well_done)
