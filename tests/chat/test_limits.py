"""The per-connection rate limit: a token bucket read against a clock the tests move."""

import pytest

from chat.limits import BURST, MESSAGES_PER_SECOND, RateLimit
from tests.helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def allowed(limit: RateLimit, attempts: int) -> int:
    """How many of attempts back-to-back messages the limit lets through."""
    return sum(limit.allow() for _ in range(attempts))


def test_defaults_are_five_a_second_burst_of_ten():
    """The chat allows five messages a second on average, ten in a burst."""
    assert (MESSAGES_PER_SECOND, BURST) == (5.0, 10)
    limit = RateLimit()
    assert (limit.rate, limit.burst) == (MESSAGES_PER_SECOND, BURST)


def test_burst_passes_and_the_next_is_refused(clock):
    """A full bucket lets exactly burst messages through at once, then refuses."""
    limit = RateLimit(rate=5, burst=10, clock=clock)
    assert [limit.allow() for _ in range(11)] == [True] * 10 + [False]


def test_refused_messages_cost_nothing(clock):
    """Refusals do not dig a hole: one refill interval later, one message passes again."""
    limit = RateLimit(rate=5, burst=10, clock=clock)
    assert allowed(limit, 50) == 10
    clock.now += 0.2
    assert limit.allow()


def test_refill_after_one_interval_allows_exactly_one(clock):
    """1/rate seconds after the bucket ran dry, one more message passes, not two."""
    limit = RateLimit(rate=5, burst=10, clock=clock)
    assert allowed(limit, 10) == 10
    clock.now += 1 / 5
    assert allowed(limit, 2) == 1


def test_part_of_an_interval_is_kept(clock):
    """Half an interval is not enough for a message, but two halves are."""
    limit = RateLimit(rate=4, burst=1, clock=clock)
    assert limit.allow()
    clock.now += 0.125
    assert not limit.allow()
    clock.now += 0.125
    assert limit.allow()


def test_rate_is_kept_over_time(clock):
    """Sending faster than the rate for a while, only the burst plus the rate gets through."""
    limit = RateLimit(rate=4, burst=2, clock=clock)
    passed = [allowed(limit, 3)]
    for _ in range(99):
        clock.now += 0.25
        passed.append(allowed(limit, 3))
    # The full bucket first, then one token for each quarter of a second
    assert passed == [2] + [1] * 99


def test_long_idle_refills_only_up_to_the_burst(clock):
    """After an hour of silence the bucket holds burst tokens, no more."""
    limit = RateLimit(rate=5, burst=10, clock=clock)
    assert allowed(limit, 10) == 10
    clock.now += 3600
    assert allowed(limit, 100) == 10


def test_bucket_starts_full(clock):
    """A new connection may burst at once, even with a clock that starts far from zero."""
    clock.now = 123_456.0
    limit = RateLimit(rate=1, burst=3, clock=clock)
    assert allowed(limit, 5) == 3


def test_connections_do_not_share_a_bucket(clock):
    """Two limits on one clock are independent: one running dry leaves the other full."""
    first = RateLimit(rate=5, burst=10, clock=clock)
    second = RateLimit(rate=5, burst=10, clock=clock)
    assert allowed(first, 11) == 10
    assert allowed(second, 11) == 10
