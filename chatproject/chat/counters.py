"""What the chat refused or dropped, counted: nothing is turned away silently.

One Prometheus counter, ``chat_refused_total``, with the error frame's stable code as its
label (frames.py): rate_limited, not_saved, fell_behind and so on. The chat keeps its own
registry, so that what it exposes is these counts, not the client library's process metrics.
"""

from prometheus_client import CollectorRegistry, Counter

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
