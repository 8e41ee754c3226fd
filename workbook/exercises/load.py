"""Checks for notebook 07 (how much load can it take?)."""

import math
import statistics
from collections.abc import Callable, Sequence

from ..checks import Mistake, Verdict, check_answer
from ..i18n import _


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
        raise Mistake(
            _("p99 is one number: the latency that 99 % of the arrivals beat, not a list")
        )
    value = _number(answer)
    if value is None:
        raise Mistake(
            _(
                "p99 is a number of milliseconds, not a {type_name}",
                type_name=type(answer).__name__,
            )
        )
    low, high = p99_range(latencies)
    if low - 1e-9 <= value <= high + 1e-9:
        return
    ordered = sorted(latencies)
    count = len(ordered)
    if _near(value, ordered[-1]):
        raise Mistake(
            _("that is the slowest arrival, the maximum (p100); p99 leaves out the slowest 1 %")
        )
    if _near(value, statistics.median(ordered)):
        raise Mistake(
            _("that is the median (p50): half the arrivals were faster. p99 is near the slow end")
        )
    if _near(value, statistics.fmean(ordered)):
        raise Mistake(_("that is the mean; it hides the slow tail that p99 is about"))
    if low - 1e-9 <= value * 1000 <= high + 1e-9:
        raise Mistake(_("that is in seconds: the latencies are in milliseconds already"))
    if _near(value, ordered[math.ceil(0.01 * count) - 1]) or _near(value, ordered[1]):
        raise Mistake(
            _(
                "that is near the fast end (p1): take the one 99 % of the way up the sorted "
                "list (index about 0.99 × (n − 1))"
            )
        )
    unsorted = list(latencies)
    if any(_near(value, unsorted[index]) for index in {int(0.99 * count), count - 2}):
        raise Mistake(_("sort the latencies first: the list is in the order they were recorded"))
    raise Mistake(
        _(
            "{value} ms is not the p99 of these {count} latencies: sort them and take the one "
            "99 % of the way up the sorted list (index about 0.99 × (n − 1))",
            value=f"{value:.2f}",
            count=count,
        )
    )


def check_p99(answer: object, latencies: Sequence[float], must_pass: bool = False) -> Verdict:
    """Exercise 07.1: the 99th percentile of the latencies (ms)."""
    low, high = p99_range(latencies)
    if low == high:
        well_done = _(
            "Correct: p99 is {low} ms; 1 % of the arrivals took longer.", low=f"{low:.2f}"
        )
    else:
        well_done = _(
            "Correct: p99 is between {low} and {high} ms; 1 % of the arrivals took longer.",
            low=f"{low:.2f}",
            high=f"{high:.2f}",
        )
    return check_answer(
        answer,
        lambda value: _find_p99_mistake(value, latencies),
        must_pass,
        if_none=_("sort outcome.latencies_ms and read p99"),
        well_done=well_done,
    )


# (listeners, messages, delivered, seconds): a clean run and two that lost messages
FAN_OUT_CASES = [(10, 1000, 10_000, 0.8), (1000, 30, 27_412, 9.8), (100, 50, 4_711, 5.0)]


def _find_fan_out_mistake(
    fan_out: Callable, listeners: int, messages: int, delivered: int, seconds: float
) -> None:
    """Raise a Mistake saying what is wrong with fan_out()'s answer for one run."""
    run = _(
        "{listeners} listeners × {messages} messages, {delivered} delivered in {seconds} s",
        listeners=f"{listeners:,}",
        messages=f"{messages:,}",
        delivered=f"{delivered:,}",
        seconds=seconds,
    )
    try:
        answer = fan_out(listeners, messages, delivered, seconds)
    except Exception as error:  # the attendee's code may fail in any way
        raise Mistake(
            _(
                "for {run}, fan_out raised {error_type}: {error}",
                run=run,
                error_type=type(error).__name__,
                error=error,
            )
        ) from error
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        raise Mistake(
            _(
                "for {run}, fan_out returned {answer}: return two numbers, (drops, rate)",
                run=run,
                answer=repr(answer),
            )
        )
    drops, rate = (_number(value) for value in answer)
    if drops is None or rate is None:
        raise Mistake(
            _(
                "for {run}, fan_out returned {answer}: both should be numbers",
                run=run,
                answer=repr(answer),
            )
        )
    expected = listeners * messages
    said = _("for {run} your fan_out says {drops} drops", run=run, drops=f"{drops:g}")
    if not _near(drops, expected - delivered):
        if _near(drops, delivered - expected):
            raise Mistake(
                _("{said}: the wrong way round. A drop is expected minus delivered", said=said)
            )
        if _near(drops, messages - delivered) or _near(drops, expected):
            raise Mistake(
                _(
                    "{said}: every message should reach every listener, so expected is {expected}",
                    said=said,
                    expected=f"{expected:,}",
                )
            )
        raise Mistake(
            _("{said}; drops are expected (listeners × messages) minus delivered", said=said)
        )
    said = _("for {run} your fan_out says {rate} deliveries a second", run=run, rate=f"{rate:,.1f}")
    if _near(rate, delivered / seconds):
        return
    if _near(rate, messages / seconds):
        raise Mistake(
            _(
                "{said}: that is messages a second; each message is one delivery per listener",
                said=said,
            )
        )
    if _near(rate, delivered / seconds / listeners):
        raise Mistake(
            _("{said}: that is per listener; count every delivery to every listener", said=said)
        )
    if _near(rate, expected / seconds):
        raise Mistake(_("{said}: count what arrived (delivered), not what was expected", said=said))
    raise Mistake(_("{said}; it is deliveries divided by the seconds they took", said=said))


def check_fan_out(fan_out: object, live: tuple | None = None, must_pass: bool = False) -> Verdict:
    """Exercise 07.2: fan_out(listeners, messages, delivered, seconds) → (drops, deliveries/s).

    live is (listeners, messages, delivered, seconds) of the notebook's own run, tried first.
    """
    write_it = _(
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
        well_done=_(
            "Correct for all {count} runs, the ones that lost messages included.",
            count=len(cases),
        ),
    )


def _find_speed_up_mistake(answer: object, share: float) -> None:
    """Raise a Mistake saying what is wrong with answer as the speed-up bound if share were gone."""
    value = _number(answer)
    if value is None:
        raise Mistake(
            _(
                "the answer is one number (a factor such as 1.5), not a {type_name}",
                type_name=type(answer).__name__,
            )
        )
    if _near(value, 1 / (1 - share), 0.02):
        return
    if _near(value, share, 0.02) or _near(value, share * 100, 0.02):
        raise Mistake(
            _("that is the centre's share of the time; the speed-up is time before / time after")
        )
    if _near(value, 1 - share, 0.02):
        raise Mistake(
            _("that is the time left afterwards (as a fraction); the speed-up is 1 divided by it")
        )
    if _near(value, 1 + share, 0.02):
        raise Mistake(
            _("close, but the time left is 1 − share, and the speed-up is 1 / (1 − share)")
        )
    if _near(value, 1 / share, 0.02):
        raise Mistake(_("the work left is everything but this centre: 1 − share, not share"))
    raise Mistake(
        _(
            "{value} is not it: the time left is (1 − {share}); how many times faster is that?",
            value=f"{value:g}",
            share=f"{share:.2f}",
        )
    )


def check_speed_up_bound(answer: object, profile: dict, must_pass: bool = False) -> Verdict:
    """Exercise 07.3: the most a server could gain if its largest cost centre cost nothing."""
    largest = profile["centres"][0]
    share = largest["samples"] / profile["samples"]
    centre = largest["centre"]
    return check_answer(
        answer,
        lambda value: _find_speed_up_mistake(value, share),
        must_pass,
        if_none=_(
            "{centre} is {share} of the samples: if it took no time, what is left?",
            centre=centre,
            share=f"{share:.0%}",
        ),
        well_done=_(
            "Correct: at most {factor}× as many deliveries a second, even if {centre} cost "
            "nothing; the other centres are still there.",
            factor=f"{1 / (1 - share):.2f}",
            centre=centre,
        ),
    )
