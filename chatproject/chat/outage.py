"""When Redis goes away: one clear log line per outage, and one when it is back.

A consumer that loses Redis tells its client and closes (see ChatConsumer.__call__); the
page reconnects with backoff, and its first connection after the outage brings history.
Dozens of sockets fail at once in an outage, so the log says it once, not once per socket.
"""

import logging
import time

import redis.exceptions

logger = logging.getLogger(__name__)

# What redis-py raises when the server is down, restarting, or unreachable
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

# The close code that says "try again later": RFC 6455's 1013 in the private range that
# daphne lets applications use (as 4009 stands for 1009)
CLOSE_TRY_AGAIN_LATER = 4013

# How long a client should wait before it tries again during an outage: Redis restarts in a
# second or two, and each earlier try costs the server a handshake it can only refuse. The
# page doubles its wait on every failed try from there (room.js)
OUTAGE_RETRY_AFTER = 3.0

UNAVAILABLE = (
    "the chat lost its connection to Redis, so this room cannot be reached right now; "
    "reconnecting (nothing you sent before this is lost)"
)


class Outage:
    """Whether this process currently finds Redis unreachable, and since when."""

    def __init__(self) -> None:
        self.since: float | None = None

    def failed(self, error: Exception) -> None:
        if self.since is None:
            self.since = time.monotonic()
            logger.error(
                "Redis is unreachable (%s: %s); rooms are paused and their clients were "
                "told to reconnect",
                type(error).__name__,
                error,
            )

    def recovered(self) -> None:
        if self.since is not None:
            logger.warning("Redis is back after %.1f s; rooms work again", self.since_seconds())
            self.since = None

    def since_seconds(self) -> float:
        return time.monotonic() - self.since if self.since is not None else 0.0


outage = Outage()
