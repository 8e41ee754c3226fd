"""How fast one connection may send: a token bucket, so short bursts pass and floods don't."""

import time
from collections.abc import Callable

# Five messages a second on average, up to ten in a burst (a pasted list, a quick reply)
MESSAGES_PER_SECOND = 5.0
BURST = 10


class RateLimit:
    def __init__(
        self,
        rate: float = MESSAGES_PER_SECOND,
        burst: int = BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()

    def allow(self) -> bool:
        """Take one token if there is one: True means the message may go."""
        self.refill()
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def refill(self) -> None:
        """Add the tokens earned since the last look, up to the burst."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def seconds_until_full(self) -> float:
        """How long until the whole burst is back (0: it is)."""
        self.refill()
        return max(self.burst - self.tokens, 0) / self.rate


class Throttle:
    """At most one event per interval; the rest are dropped (typing notices, say)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self.last: float | None = None

    def allow(self) -> bool:
        now = self.clock()
        if self.last is not None and now - self.last < self.interval:
            return False
        self.last = now
        return True
