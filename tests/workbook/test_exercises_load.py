"""The checks of notebook 07 accept the right answers and explain wrong ones."""

import math
import random
import statistics

import pytest

from tests.helpers import assert_japanese
from workbook.checks import ExerciseFailed
from workbook.exercises.load import (
    FAN_OUT_CASES,
    check_fan_out,
    check_p99,
    check_speed_up_bound,
    p99_range,
)

# 500 arrivals in the order they were recorded, as a load generator keeps them
LATENCIES = [round(random.Random(n).lognormvariate(3, 0.6), 3) for n in range(500)]
ORDERED = sorted(LATENCIES)
# Each kind of wrong p99, and what its explanation says
WRONG_P99S = {
    "max": (max(LATENCIES), "maximum"),
    "median": (statistics.median(LATENCIES), "median"),
    "mean": (statistics.fmean(LATENCIES), "mean"),
    "seconds": (statistics.quantiles(LATENCIES, n=100, method="inclusive")[98] / 1000, "seconds"),
    "p1": (ORDERED[4], "fast end"),
    "unsorted": (LATENCIES[int(0.99 * len(LATENCIES))], "sort the latencies first"),
    "p80": (ORDERED[400], "is not the p99"),
    "list": (ORDERED[490:], "one number"),
    "text": ("37 ms", "not a str"),
}


class TestP99:
    @pytest.mark.parametrize(
        "answer",
        [
            statistics.quantiles(LATENCIES, n=100, method="inclusive")[98],
            ORDERED[math.ceil(0.99 * len(ORDERED)) - 1],
            ORDERED[round(0.99 * (len(ORDERED) - 1))],
        ],
        ids=["interpolated", "nearest rank", "rounded index"],
    )
    def test_usual_definitions_pass(self, answer):
        """Interpolated, nearest-rank and rounded-index percentiles all pass."""
        assert check_p99(answer, LATENCIES, must_pass=True)

    def test_range_is_between_neighbours(self):
        """The accepted range is two neighbouring values of the sorted list."""
        low, high = p99_range(LATENCIES)
        assert (low, high) == (ORDERED[494], ORDERED[495])

    @pytest.mark.parametrize(("answer", "says"), WRONG_P99S.values(), ids=list(WRONG_P99S))
    def test_wrong_answers_are_explained(self, answer, says, capsys):
        """The maximum, the median, the mean, seconds, the fast end and an unsorted pick."""
        assert not check_p99(answer, LATENCIES)
        assert says in capsys.readouterr().out

    def test_solution_cell_raises_on_a_wrong_answer(self):
        """With must_pass=True a wrong answer stops Run All."""
        with pytest.raises(ExerciseFailed, match="maximum"):
            check_p99(max(LATENCIES), LATENCIES, must_pass=True)

    @pytest.mark.parametrize(
        "answer",
        [None, ORDERED[495], ORDERED[494:496], *(answer for answer, _says in WRONG_P99S.values())],
        ids=["None", "right", "list", *WRONG_P99S],
    )
    def test_the_japanese_edition_explains_in_japanese(self, answer, japanese, capsys):
        """Every verdict on a p99, right, wrong or not computed, is in Japanese."""
        check_p99(answer, LATENCIES)
        assert_japanese(capsys.readouterr().out)

    def test_a_solution_cell_stops_in_japanese(self, japanese):
        """The explanation that stops Run All is in Japanese too."""
        with pytest.raises(ExerciseFailed) as failure:
            check_p99(ORDERED[4], LATENCIES, must_pass=True)
        assert_japanese(str(failure.value))


def fan_out(listeners, messages, delivered, seconds):
    return listeners * messages - delivered, delivered / seconds


# Each kind of wrong fan_out, and what its explanation says
WRONG_FAN_OUTS = {
    "messages-per-second": (lambda n, m, d, s: (n * m - d, m / s), "messages a second"),
    "per-listener": (lambda n, m, d, s: (n * m - d, d / s / n), "per listener"),
    "expected-rate": (lambda n, m, d, s: (n * m - d, n * m / s), "not what was expected"),
    "multiplied": (lambda n, m, d, s: (n * m - d, d * s), "divided by the seconds"),
    "reversed-drops": (lambda n, m, d, s: (d - n * m, d / s), "wrong way round"),
    "messages-only": (lambda n, m, d, s: (m - d, d / s), "expected is"),
    "no-drops": (lambda n, m, d, s: (0, d / s), "minus delivered"),
    "one-number": (lambda n, m, d, s: d / s, "two numbers"),
    "text": (lambda n, m, d, s: ("0", d / s), "both should be numbers"),
    "wrong-signature": (lambda n, m, d: (0, 0), "TypeError"),
}


class TestFanOut:
    def test_right_function_passes(self, capsys):
        """The right function passes on the notebook's run and on the built-in ones."""
        assert check_fan_out(fan_out, (20, 25, 500, 0.31), must_pass=True)
        assert f"all {len(FAN_OUT_CASES) + 1} runs" in capsys.readouterr().out

    def test_works_without_a_live_run(self):
        """The built-in runs alone are enough to check."""
        assert check_fan_out(fan_out, must_pass=True)

    @pytest.mark.parametrize(
        ("function", "says"), WRONG_FAN_OUTS.values(), ids=list(WRONG_FAN_OUTS)
    )
    def test_wrong_functions_are_explained(self, function, says, capsys):
        """Messages for deliveries, per-listener rates, reversed drops and broken functions."""
        assert not check_fan_out(function, (20, 25, 500, 0.31))
        assert says in capsys.readouterr().out

    def test_drops_are_checked_on_runs_that_lost_messages(self, capsys):
        """A function that ignores drops passes a clean live run but not the lossy ones."""
        assert not check_fan_out(lambda n, m, d, s: (0, d / s), (20, 25, 500, 0.31))
        assert "27,412 delivered" in capsys.readouterr().out

    @pytest.mark.parametrize("answer", [None, 42])
    def test_missing_function_is_explained(self, answer, capsys):
        """None, or something that is not a function, says to write one."""
        assert not check_fan_out(answer)
        assert "def fan_out" in capsys.readouterr().out

    @pytest.mark.parametrize(
        "function",
        [None, 42, fan_out, *(function for function, _says in WRONG_FAN_OUTS.values())],
        ids=["None", "number", "right", *WRONG_FAN_OUTS],
    )
    def test_the_japanese_edition_explains_in_japanese(self, function, japanese, capsys):
        """Every verdict on a fan_out function is in Japanese."""
        check_fan_out(function, (20, 25, 500, 0.31))
        assert_japanese(capsys.readouterr().out)


# Shaped as benchmarks.profile writes it: centres largest first
PROFILE = {
    "samples": 400,
    "centres": [
        {"centre": name, "samples": samples, "share": samples / 400, "top": []}
        for name, samples in [
            ("asgiref sync↔async", 100),
            ("asyncio event loop", 80),
            ("twisted, autobahn, daphne", 70),
            ("channels dispatch", 60),
            ("channels_redis", 50),
            ("redis-py", 40),
        ]
    ],
}


# Wrong speed-up bounds for PROFILE, and what their explanation says
WRONG_SPEED_UPS = [
    (0.25, "share of the time"),
    (25, "share of the time"),
    (0.75, "time left afterwards"),
    (1.25, "1 / (1 − share)"),
    (4, "not share"),
    (2, "is not it"),
    ("1.33", "not a str"),
]


class TestSpeedUpBound:
    @pytest.mark.parametrize("answer", [4 / 3, 1.33, 1.34])
    def test_amdahl_bound_passes(self, answer, capsys):
        """1 / (1 − 0.25), rounded or not, passes."""
        assert check_speed_up_bound(answer, PROFILE, must_pass=True)
        assert "1.33×" in capsys.readouterr().out

    @pytest.mark.parametrize(("answer", "says"), WRONG_SPEED_UPS)
    def test_wrong_answers_are_explained(self, answer, says, capsys):
        """The share itself, the time left, 1 + share and 1 / share are explained."""
        assert not check_speed_up_bound(answer, PROFILE)
        assert says in capsys.readouterr().out

    @pytest.mark.parametrize(
        "answer", [None, 4 / 3, *(answer for answer, _says in WRONG_SPEED_UPS)]
    )
    def test_the_japanese_edition_explains_in_japanese(self, answer, japanese, capsys):
        """Every verdict on the speed-up bound is in Japanese."""
        check_speed_up_bound(answer, PROFILE)
        assert_japanese(capsys.readouterr().out)

    def test_none_names_the_largest_centre(self, capsys):
        """An untouched exercise names the centre to remove and its share."""
        assert not check_speed_up_bound(None, PROFILE)
        assert "asgiref sync↔async is 25%" in capsys.readouterr().out
