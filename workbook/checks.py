"""Exercise checks: say in plain words what is right or wrong.

A check cell after an exercise prints its verdict and never stops "Run All"; the solution
cell calls the same check with ``must_pass=True``, so a notebook run proves its solutions.
"""

from collections.abc import Callable
from typing import Any


class ExerciseFailed(AssertionError):
    """A solution that should pass its check did not."""


def check(passed: bool, hint: str, must_pass: bool = False, well_done: str = "Correct!") -> bool:
    """Print ✓ and well_done, or ✗ and the hint; raise ExerciseFailed only if must_pass."""
    if passed:
        print(f"✓ {well_done}")
        return True
    if must_pass:
        raise ExerciseFailed(hint)
    print(f"✗ Not yet: {hint}")
    return False


def check_value(
    answer: Any,
    is_right: Callable[[Any], bool],
    hint: str,
    must_pass: bool = False,
    well_done: str = "Correct!",
) -> bool:
    """check() for an answer that may be missing or raise: None means 'not done yet'."""
    if answer is None:
        return check(False, "the answer is still None. " + hint, must_pass)
    try:
        passed = bool(is_right(answer))
    except Exception as error:  # the attendee's code may fail in any way
        return check(False, f"{type(error).__name__}: {error}. {hint}", must_pass)
    return check(passed, hint, must_pass, well_done)
