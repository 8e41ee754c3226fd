"""Checks for notebook 07 (how much load can it take?)."""

import math
import statistics
from collections.abc import Callable, Sequence

from ..checks import Mistake, Verdict, check_answer


def _number(answer: object) -> float | None:
    """answer as a float, or None if it is not one number."""
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        return None
    return float(answer)


def _near(value: float, target: float, tolerance: float = 1e-3) -> bool:
    return math.isclose(value, target, rel_tol=tolerance, abs_tol=1e-9)


def p99_range(latencies: Sequence[float]) -> tuple[float, float]:
    """The values p99 takes under the usual definitions (nearest rank, interpolated)."""
    ordered = sorted(latencies)
    position = 0.99 * (len(ordered) - 1)
    nearest_rank = math.ceil(0.99 * len(ordered)) - 1
    return ordered[math.floor(position)], ordered[max(math.ceil(position), nearest_rank)]


def _find_p99_mistake(answer: object, latencies: Sequence[float]) -> None:
    """Raise a Mistake saying what is wrong with answer as the p99 of latencies."""
    if isinstance(answer, list | tuple):
        raise Mistake("p99 is one number: the latency that 99 % of the arrivals beat, not a list")
    value = _number(answer)
    if value is None:
        raise Mistake(f"p99 is a number of milliseconds, not a {type(answer).__name__}")
    low, high = p99_range(latencies)
    if low - 1e-9 <= value <= high + 1e-9:
        return
    ordered = sorted(latencies)
    count = len(ordered)
    slow_end = "take the one 99 % of the way up the sorted list (index about 0.99 × (n − 1))"
    if _near(value, ordered[-1]):
        raise Mistake(
            "that is the slowest arrival, the maximum (p100); p99 leaves out the slowest 1 %"
        )
    if _near(value, statistics.median(ordered)):
        raise Mistake(
            "that is the median (p50): half the arrivals were faster. p99 is near the slow end"
        )
    if _near(value, statistics.fmean(ordered)):
        raise Mistake("that is the mean; it hides the slow tail that p99 is about")
    if low - 1e-9 <= value * 1000 <= high + 1e-9:
        raise Mistake("that is in seconds: the latencies are in milliseconds already")
    if _near(value, ordered[math.ceil(0.01 * count) - 1]) or _near(value, ordered[1]):
        raise Mistake(f"that is near the fast end (p1): {slow_end}")
    unsorted = list(latencies)
    if any(_near(value, unsorted[index]) for index in {int(0.99 * count), count - 2}):
        raise Mistake("sort the latencies first: the list is in the order they were recorded")
    raise Mistake(
        f"{value:.2f} ms is not the p99 of these {count} latencies: sort them and {slow_end}"
    )


def check_p99(answer: object, latencies: Sequence[float], must_pass: bool = False) -> Verdict:
    """Exercise 07.1: the 99th percentile of the latencies (ms)."""
    low, high = p99_range(latencies)
    within = f"{low:.2f}" if low == high else f"between {low:.2f} and {high:.2f}"
    return check_answer(
        answer,
        lambda value: _find_p99_mistake(value, latencies),
        must_pass,
        if_none="sort outcome.latencies_ms and read p99",
        well_done=f"Correct: p99 is {within} ms; 1 % of the arrivals took longer.",
    )


# (listeners, messages, delivered, seconds): a clean run and two that lost messages
FAN_OUT_CASES = [(10, 1000, 10_000, 0.8), (1000, 30, 27_412, 9.8), (100, 50, 4_711, 5.0)]


def _find_fan_out_mistake(
    fan_out: Callable, listeners: int, messages: int, delivered: int, seconds: float
) -> None:
    """Raise a Mistake saying what is wrong with fan_out()'s answer for one run."""
    run = f"{listeners:,} listeners × {messages:,} messages, {delivered:,} delivered in {seconds} s"
    try:
        answer = fan_out(listeners, messages, delivered, seconds)
    except Exception as error:  # the attendee's code may fail in any way
        raise Mistake(f"for {run}, fan_out raised {type(error).__name__}: {error}") from error
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        raise Mistake(f"for {run}, fan_out returned {answer!r}: return two numbers, (drops, rate)")
    drops, rate = (_number(value) for value in answer)
    if drops is None or rate is None:
        raise Mistake(f"for {run}, fan_out returned {answer!r}: both should be numbers")
    expected = listeners * messages
    said = f"for {run} your fan_out says {drops:g} drops"
    if not _near(drops, expected - delivered):
        if _near(drops, delivered - expected):
            raise Mistake(f"{said}: the wrong way round. A drop is expected minus delivered")
        if _near(drops, messages - delivered) or _near(drops, expected):
            raise Mistake(
                f"{said}: every message should reach every listener, so expected is {expected:,}"
            )
        raise Mistake(f"{said}; drops are expected (listeners × messages) minus delivered")
    said = f"for {run} your fan_out says {rate:,.1f} deliveries a second"
    if _near(rate, delivered / seconds):
        return
    if _near(rate, messages / seconds):
        raise Mistake(
            f"{said}: that is messages a second; each message is one delivery per listener"
        )
    if _near(rate, delivered / seconds / listeners):
        raise Mistake(f"{said}: that is per listener; count every delivery to every listener")
    if _near(rate, expected / seconds):
        raise Mistake(f"{said}: count what arrived (delivered), not what was expected")
    raise Mistake(f"{said}; it is deliveries divided by the seconds they took")


def check_fan_out(fan_out: object, live: tuple | None = None, must_pass: bool = False) -> Verdict:
    """Exercise 07.2: fan_out(listeners, messages, delivered, seconds) → (drops, deliveries/s).

    live is (listeners, messages, delivered, seconds) of the notebook's own run, tried first.
    """
    write_it = (
        "fan_out should be a function: "
        "write def fan_out(listeners, messages, delivered, seconds): return drops, rate"
    )
    cases = ([tuple(live)] if live else []) + FAN_OUT_CASES

    def find_mistake(function: object) -> None:
        if not callable(function):
            raise Mistake(write_it)
        for case in cases:
            _find_fan_out_mistake(function, *case)

    return check_answer(
        fan_out,
        find_mistake,
        must_pass,
        if_none=write_it,
        well_done=f"Correct for all {len(cases)} runs, the ones that lost messages included.",
    )


def _find_speed_up_mistake(answer: object, share: float) -> None:
    """Raise a Mistake saying what is wrong with answer as the speed-up bound if share were gone."""
    value = _number(answer)
    if value is None:
        raise Mistake(
            f"the answer is one number (a factor such as 1.5), not a {type(answer).__name__}"
        )
    if _near(value, 1 / (1 - share), 0.02):
        return
    if _near(value, share, 0.02) or _near(value, share * 100, 0.02):
        raise Mistake(
            "that is the centre's share of the time; the speed-up is time before / time after"
        )
    if _near(value, 1 - share, 0.02):
        raise Mistake(
            "that is the time left afterwards (as a fraction); the speed-up is 1 divided by it"
        )
    if _near(value, 1 + share, 0.02):
        raise Mistake("close, but the time left is 1 − share, and the speed-up is 1 / (1 − share)")
    if _near(value, 1 / share, 0.02):
        raise Mistake("the work left is everything but this centre: 1 − share, not share")
    left = f"1 − {share:.2f}"
    raise Mistake(f"{value:g} is not it: the time left is ({left}); how many times faster is that?")


def check_speed_up_bound(answer: object, profile: dict, must_pass: bool = False) -> Verdict:
    """Exercise 07.3: the most a server could gain if its largest cost centre cost nothing."""
    largest = profile["centres"][0]
    share = largest["samples"] / profile["samples"]
    centre = largest["centre"]
    return check_answer(
        answer,
        lambda value: _find_speed_up_mistake(value, share),
        must_pass,
        if_none=f"{centre} is {share:.0%} of the samples: if it took no time, what is left?",
        well_done=(
            f"Correct: at most {1 / (1 - share):.2f}× as many deliveries a second, even if "
            f"{centre} cost nothing; the other centres are still there."
        ),
    )
