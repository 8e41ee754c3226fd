"""What the chat refused or dropped, counted: nothing is turned away silently.

One Prometheus counter, ``chat_refused_total``, with the error frame's stable code as its
label (frames.py): rate_limited, not_saved, fell_behind, over_capacity and so on. The chat
keeps its own registry, so that what it exposes (at /metrics, chat/metrics.py) is these
counts, not the client library's process metrics. Each server process counts its own.

Once a minute (settings.CHAT_COUNTS_LOG_SECONDS), when anything was counted, one line in
the log says what, by code: a task each server process starts once (start_summaries).
"""

import asyncio
import logging
import weakref

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter

logger = logging.getLogger(__name__)

registry = CollectorRegistry()

refused = Counter(
    "chat_refused",
    "Frames, sockets, saves and deliveries the chat refused or dropped, by error code",
    ["code"],
    registry=registry,
)


def count(code: str, amount: int = 1) -> None:
    """Count amount refusals or drops of the kind code names (an error frame's code)."""
    refused.labels(code=code).inc(amount)


def counted(code: str) -> float:
    """How many of code this process counted so far."""
    return registry.get_sample_value("chat_refused_total", {"code": code}) or 0.0


def totals() -> dict[str, float]:
    """Every code counted so far in this process, with its count."""
    return {
        sample.labels["code"]: sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == "chat_refused_total"
    }


class Summary:
    """What was counted since the last line, as one line of the log."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.seen = totals()

    def line(self) -> str | None:
        """The codes counted since the last call and how many times; None if none."""
        now = totals()
        new = {code: now[code] - self.seen.get(code, 0.0) for code in sorted(now)}
        self.seen = now
        counts = ", ".join(f"{code} {amount:g}" for code, amount in new.items() if amount)
        if not counts:
            return None
        return f"Refused or dropped in the last {self.seconds:g} s: {counts}"

    async def log_every(self) -> None:
        while True:
            await asyncio.sleep(self.seconds)
            line = self.line()
            if line:
                logger.warning(line)


# The summary task of each event loop: a server has one loop; tests run each in its own
_summaries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = (
    weakref.WeakKeyDictionary()
)


def start_summaries() -> asyncio.Task:
    """Start this process's summary line, once (again: the task already running)."""
    loop = asyncio.get_running_loop()
    task = _summaries.get(loop)
    if task is None or task.done():
        summary = Summary(settings.CHAT_COUNTS_LOG_SECONDS)
        task = _summaries[loop] = loop.create_task(summary.log_every(), name="counts summary")
    return task
