"""Exercise checks: verdicts in plain words, and a hard failure only for solutions."""

import pytest

from workbook.checks import ExerciseFailed, check, check_problem, check_value


def test_pass_prints_a_tick(capsys):
    """A passing check prints ✓ and returns True."""
    assert check(True, "hint")
    assert capsys.readouterr().out.startswith("✓")


def test_fail_prints_the_hint_and_goes_on(capsys):
    """A failing exercise check explains and returns False, so Run All continues."""
    assert not check(False, "compute the key")
    assert "✗ Not yet: compute the key" in capsys.readouterr().out


def test_fail_raises_for_a_solution():
    """With must_pass (a solution cell), a failing check stops the notebook."""
    with pytest.raises(ExerciseFailed, match="compute"):
        check(False, "compute the key", must_pass=True)


def test_check_value_treats_none_as_not_done(capsys):
    """An answer still None is 'not done yet', not an error."""
    assert not check_value(None, lambda answer: True, "assign it")
    assert "still None" in capsys.readouterr().out


def test_check_value_reports_errors_of_the_answer(capsys):
    """If judging the answer raises, the error is part of the explanation."""
    assert not check_value("x", lambda answer: answer["key"], "use a dict")
    assert "TypeError" in capsys.readouterr().out


def test_check_problem_passes_only_without_a_problem(capsys):
    """A finder's None passes; its plain-words problem is the hint that fails."""
    assert check_problem(None, well_done="All right")
    assert not check_problem("the key is missing")
    assert "✗ Not yet: the key is missing" in capsys.readouterr().out
