"""Watch what a Redis server is asked to do: a bounded MONITOR capture, and a condition wait.

MONITOR makes Redis echo every command it runs, from every client, to one connection. A
capture here runs it in a thread for a short while (a command limit and a time limit bound
it) and hands back the commands as lines you can print next to the action that caused them.
It can keep only the commands about some keys (keys="asgi": the channel layer's), so that
other programs using the same Redis do not crowd them out.
"""

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis

from .i18n import _

# MONITOR prints a script's newlines as "\n": one space is enough to read it
_ESCAPED_NEWLINES = re.compile(r"(\\n\s*)+")


@dataclass(frozen=True)
class Command:
    """One command Redis ran: when (seconds after the first one captured), who sent it, what."""

    seconds: float
    client: str
    text: str
    width: int = 110

    def __str__(self) -> str:
        line = f"{self.seconds:6.3f} s  {self.client:>15}  {self.text}"
        return line if len(line) <= self.width else line[: self.width - 1] + "…"

    def names_key(self, prefix: str) -> bool:
        """Whether an argument of the command starts with prefix (a key, most likely)."""
        return any(word.startswith(prefix) for word in self.text.split()[1:])


class MonitorCapture:
    """Record the commands Redis runs between start() and stop(), from a thread.

    The capture ends by itself after `limit` commands or `timeout` seconds, so a forgotten
    stop() never leaves it running. With keys, it keeps the commands that name a key starting
    with keys, and the other commands of the connections that sent those (MULTI, EXEC).
    """

    def __init__(
        self,
        url: str,
        limit: int = 200,
        timeout: float = 10.0,
        width: int = 110,
        keys: str | None = None,
    ) -> None:
        self.url = url
        self.limit = limit
        self.timeout = timeout
        self.width = width
        self.keys = keys
        self._seen: list[Command] = []
        self._marker = f"redis-watch-end-{uuid.uuid4().hex}"
        self._started = threading.Event()
        self._ended = threading.Event()
        self._error: BaseException | None = None
        # Connected before MONITOR starts, so that its own handshake is not captured
        self._marker_client: redis.Redis | None = None
        self._thread = threading.Thread(target=self._capture, name="redis-monitor", daemon=True)

    def start(self) -> "MonitorCapture":
        """Begin capturing; return once Redis has confirmed MONITOR."""
        self._marker_client = redis.Redis.from_url(self.url)
        self._marker_client.ping()
        self._thread.start()
        if not self._started.wait(5.0) or self._error is not None:
            self.stop()
            raise RuntimeError(_("MONITOR did not start: {error}", error=self._error))
        return self

    def stop(self, until: str | None = None, count: int = 1, timeout: float = 5.0) -> list[Command]:
        """End the capture and return the commands, oldest first.

        With until="ZREM", first wait (up to timeout seconds) until `count` commands contain
        that text: another process acts a moment later than the cell that caused it.
        """
        seen = until is None or self._wait_for(until, count, timeout)
        if self._thread.is_alive():
            # A command of our own marks the end: everything sent before it has been seen
            self._marker_client.echo(self._marker)
            self._thread.join(timeout)
        if self._marker_client is not None:
            self._marker_client.close()
            self._marker_client = None
        if not seen:
            raise TimeoutError(
                _(
                    "Redis ran {command} fewer than {count} times in {seconds} s",
                    command=repr(until),
                    count=count,
                    seconds=f"{timeout:.0f}",
                )
            )
        return self.commands

    def _wait_for(self, text: str, count: int, timeout: float) -> bool:
        """Wait until count captured commands contain text; False if timeout passed first."""
        deadline = time.monotonic() + timeout
        while len(self.lines(containing=text)) < count:
            if self._ended.is_set() or time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    @property
    def commands(self) -> list[Command]:
        """The captured commands, oldest first; with keys, only those about such keys."""
        seen = list(self._seen)
        if self.keys is None:
            return seen
        # A script's commands (client "lua") have no connection: each must name a key itself
        connections = {c.client for c in seen if c.client != "lua" and c.names_key(self.keys)}
        return [c for c in seen if c.client in connections or c.names_key(self.keys)]

    def lines(self, containing: str | None = None) -> list[str]:
        """The captured commands as printable lines, optionally only those containing a text."""
        return [str(c) for c in self.commands if containing is None or containing in c.text]

    def _capture(self) -> None:
        client = redis.Redis.from_url(self.url)
        try:
            with client.monitor() as monitor:
                self._started.set()
                self._record(monitor)
        except Exception as error:  # reported by start() or visible as a short capture
            self._error = error
            self._started.set()
        finally:
            client.close()
            self._ended.set()

    def _record(self, monitor: redis.client.Monitor) -> None:
        began: float | None = None
        deadline = time.monotonic() + self.timeout
        while len(self._seen) < self.limit and time.monotonic() < deadline:
            if not monitor.connection.can_read(timeout=0.05):
                continue
            seen = monitor.next_command()
            if self._marker in seen["command"]:
                return
            client = seen["client_type"]
            if client == "tcp":
                client = f"{seen['client_address']}:{seen['client_port']}"
            text = _ESCAPED_NEWLINES.sub(" ", seen["command"])
            # Times come from the server's clock: count from the first command seen
            began = seen["time"] if began is None else began
            self._seen.append(Command(seen["time"] - began, client, text, self.width))

    def __enter__(self) -> "MonitorCapture":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def watch_redis(
    url: str, limit: int = 200, timeout: float = 10.0, keys: str | None = None
) -> MonitorCapture:
    """Start a MONITOR capture on the Redis at url (stop it with .stop()).

    With keys, keep only the commands about keys that start with it (see MonitorCapture).
    """
    return MonitorCapture(url, limit=limit, timeout=timeout, keys=keys).start()


def wait_until(
    condition: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02
) -> float:
    """Wait until condition() is true; return the seconds it took, TimeoutError after timeout."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise TimeoutError(
                _("the condition was still false after {seconds} s", seconds=f"{timeout:.0f}")
            )
        time.sleep(interval)
    return time.monotonic() - began
