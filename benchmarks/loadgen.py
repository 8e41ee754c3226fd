"""The load generator: many listeners in one room, one sender, every arrival timed.

Every client is a real `websockets` connection over 127.0.0.1 (compression off, as browsers
behind a server without per-message deflate). Listeners are spread over the servers' URLs in
turn, each sending the Origin a page from its server would; the sender is listener 0, on the
first server, and also a listener, so that it reads its socket like a browser does. Each
message carries its sequence number and the time it was sent (this process's monotonic clock,
so latencies need no clock sync); each listener records when each message arrives. Nothing
waits on a guess: the run ends when every listener has every message, or when nothing has
arrived for ``idle_timeout`` seconds (the rest are drops).
"""

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

# Listeners connect in batches, so that a thousand handshakes do not arrive in one instant
CONNECT_BATCH = 50


@dataclass
class Load:
    # One room's URL on each server; the listeners take them in turn (url_of)
    urls: list[str]
    listeners: int
    messages: int
    # Messages a second the sender offers; None: as fast as the server takes them
    rate: float | None = None
    idle_timeout: float = 5.0

    def url_of(self, listener: int) -> str:
        return self.urls[listener % len(self.urls)]


@dataclass
class Outcome:
    listeners: int
    messages: int
    rate: float | None
    connect_seconds: float
    expected: int
    delivered: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    # Listeners whose socket the server closed before the end
    disconnects: int = 0
    # Handshakes that failed (the server refused, timed out or dropped them)
    connect_failures: int = 0

    @property
    def drops(self) -> int:
        return self.expected - self.delivered

    @property
    def deliveries_per_second(self) -> float:
        return self.delivered / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, percent: int) -> float:
        return percentile(self.latencies_ms, percent)

    def summary(self) -> dict:
        return {
            "listeners": self.listeners,
            "messages": self.messages,
            "rate": self.rate,
            "connect_seconds": round(self.connect_seconds, 3),
            "expected": self.expected,
            "delivered": self.delivered,
            "drops": self.drops,
            "disconnects": self.disconnects,
            "connect_failures": self.connect_failures,
            "seconds": round(self.seconds, 3),
            "deliveries_per_second": round(self.deliveries_per_second, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
        }


def percentile(values: list[float], percent: int) -> float:
    """The percent-th percentile of values (NaN for none)."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


class Listener:
    """One client that reads every frame and notes when each benchmark message arrived."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.arrivals: dict[int, int] = {}  # sequence number -> arrival time (ns)
        self.latencies_ns: list[int] = []
        self.closed = False

    async def read(self, expected: int, progress: asyncio.Event) -> None:
        try:
            await self._read(expected, progress)
        except ConnectionClosed:
            # The server closed this socket: what it did not deliver counts as dropped
            self.closed = True

    async def _read(self, expected: int, progress: asyncio.Event) -> None:
        async for text in self.websocket:
            now = time.perf_counter_ns()
            message = json.loads(text).get("message")
            if not isinstance(message, str) or not message.startswith("bench "):
                continue  # presence, history or anything else the server says
            _, sequence, sent = message.split()
            self.arrivals[int(sequence)] = now
            self.latencies_ns.append(now - int(sent))
            progress.set()
            if len(self.arrivals) == expected:
                return


async def open_listeners(load: Load) -> tuple[list[Listener], int]:
    """Connect in batches; the listeners that got in, and how many handshakes failed."""
    attempts: list = []
    for start in range(0, load.listeners, CONNECT_BATCH):
        batch = range(start, min(start + CONNECT_BATCH, load.listeners))
        handshakes = (open_socket(load.url_of(listener)) for listener in batch)
        attempts += await asyncio.gather(*handshakes, return_exceptions=True)
    sockets = [one for one in attempts if isinstance(one, ClientConnection)]
    if not sockets:
        raise ConnectionError(f"no listener could connect to {load.urls}: {attempts[0]!r}")
    return [Listener(websocket) for websocket in sockets], len(attempts) - len(sockets)


def open_socket(url: str):
    # The Origin of a page served by that server, as a browser would send it
    origin = urlsplit(url)._replace(scheme="http", path="", query="").geturl()
    # No compression, no keepalive pings: the benchmark measures chat frames only
    return connect(url, origin=origin, compression=None, ping_interval=None, max_queue=None)


async def send_messages(sender: ClientConnection, load: Load) -> int:
    """Send the messages (paced when a rate is set); the time the first one left, in ns."""
    first = time.perf_counter_ns()
    for sequence in range(load.messages):
        if load.rate:
            delay = first / 1e9 + sequence / load.rate - time.perf_counter_ns() / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
        payload = {"message": f"bench {sequence} {time.perf_counter_ns()}"}
        await sender.send(json.dumps(payload))
    return first


async def wait_for_arrivals(tasks: list[asyncio.Task], progress: asyncio.Event, idle: float):
    """Until every listener is done, or nothing arrives for idle seconds."""
    pending = set(tasks)
    while pending:
        progress.clear()
        done, pending = await asyncio.wait(pending, timeout=idle)
        if not done and not progress.is_set():
            break
    for task in pending:
        task.cancel()


async def run(load: Load, connected: Callable[[], None] | None = None) -> Outcome:
    """Connect the listeners, send, wait for every arrival (or silence), close everything.

    connected, if given, is called once every listener is in and before anything is sent
    (to measure the server holding that many idle sockets).
    """
    started = time.perf_counter()
    listeners, connect_failures = await open_listeners(load)
    connect_seconds = time.perf_counter() - started
    if connected:
        connected()
    progress = asyncio.Event()
    tasks = [asyncio.create_task(one.read(load.messages, progress)) for one in listeners]
    try:
        first_sent = await send_messages(listeners[0].websocket, load)
        await wait_for_arrivals(tasks, progress, load.idle_timeout)
    finally:
        await asyncio.gather(*(one.websocket.close() for one in listeners), return_exceptions=True)
    arrivals = [time for one in listeners for time in one.arrivals.values()]
    seconds = (max(arrivals) - first_sent) / 1e9 if arrivals else 0.0
    return Outcome(
        listeners=load.listeners,
        messages=load.messages,
        rate=load.rate,
        connect_seconds=connect_seconds,
        # A listener that never got in counts all its messages as drops
        expected=load.listeners * load.messages,
        delivered=len(arrivals),
        seconds=seconds,
        latencies_ms=[ns / 1e6 for one in listeners for ns in one.latencies_ns],
        disconnects=sum(one.closed for one in listeners),
        connect_failures=connect_failures,
    )
