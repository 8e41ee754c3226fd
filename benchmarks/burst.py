"""A burst across rooms: many senders in one room send at once, a second room goes on.

Room A has ``senders`` sockets, each of which sends ``per_sender`` messages back to back,
all at the same moment (each inside its own burst allowance, CHAT_MESSAGE_BURST); room B
has one steady sender, ``steady`` messages at ``steady_rate`` a second from the same
moment, and one listener. Every socket reads every frame of its room.

A message is acknowledged when its sender gets it back with an id (it was saved and
broadcast); it is refused when the sender gets an error frame instead. What counts:

- lost: sent, yet neither acknowledged nor refused (the sender was never told);
- drops: a delivery that never happened (each message, lost ones too, once for each
  socket of its room);
- late: a delivery more than ``live_seconds`` after its sender's acknowledgement;
- seconds: from the first send to the last delivery, the time the burst takes to deliver.

The run ends when every message is answered and every socket has every acknowledged
message of its room, or when nothing has arrived for ``idle_timeout`` seconds (what is
missing then is lost or dropped).
"""

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .loadgen import CONNECT_BATCH, open_socket, percentile

# A message names its room, sender and number: "burst <room> <sender> <number>"
PREFIX = "burst"


@dataclass
class Burst:
    # Room A's URL on each server (senders take them in turn) and room B's
    busy_urls: list[str]
    quiet_url: str
    senders: int = 50
    per_sender: int = 10
    steady: int = 10
    steady_rate: float = 5.0
    live_seconds: float = 2.0
    idle_timeout: float = 10.0

    @property
    def sent(self) -> int:
        return self.senders * self.per_sender + self.steady


@dataclass
class BurstOutcome:
    burst: Burst = field(repr=False)
    connect_seconds: float
    acknowledged: int
    # Of them, room B's: its steady sender's messages that came back
    quiet_acknowledged: int
    refused: dict[str, int]
    # Every message sent and not refused, once for each socket of its room
    expected: int
    delivered: int
    late: int
    seconds: float
    # From a message's sending to each arrival (ms)
    latencies_ms: list[float] = field(repr=False)
    # Longest wait of a socket for a message after its sender had it back (ms)
    worst_lag_ms: float
    # Longest wait of a sender for its message to come back, in each room (ms)
    worst_ack_ms: float
    quiet_worst_ack_ms: float
    disconnects: int = 0

    @property
    def lost(self) -> int:
        return self.burst.sent - self.acknowledged - sum(self.refused.values())

    @property
    def drops(self) -> int:
        """Deliveries that never happened, of lost messages too."""
        return self.expected - self.delivered

    def percentile(self, percent: int) -> float:
        return percentile(self.latencies_ms, percent)

    def summary(self) -> dict:
        return {
            "senders": self.burst.senders,
            "per_sender": self.burst.per_sender,
            "steady": self.burst.steady,
            "sent": self.burst.sent,
            "acknowledged": self.acknowledged,
            "quiet_acknowledged": self.quiet_acknowledged,
            "refused": dict(self.refused),
            "lost": self.lost,
            "expected": self.expected,
            "delivered": self.delivered,
            "drops": self.drops,
            "late": self.late,
            "disconnects": self.disconnects,
            "connect_seconds": round(self.connect_seconds, 3),
            "seconds": round(self.seconds, 3),
            "deliveries_per_second": round(self.delivered / self.seconds, 1) if self.seconds else 0,
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "worst_lag_ms": round(self.worst_lag_ms, 1),
            "worst_ack_ms": round(self.worst_ack_ms, 1),
            "quiet_worst_ack_ms": round(self.quiet_worst_ack_ms, 1),
        }


class RoomState:
    """What the sockets of one room know: which messages were answered, and when."""

    def __init__(self, name: str, to_send: int) -> None:
        self.name = name
        self.to_send = to_send
        self.sent: dict[tuple[int, int], int] = {}  # (sender, number) -> ns
        self.acknowledged: dict[tuple[int, int], int] = {}
        self.refused: Counter[str] = Counter()
        self.sockets: list[Socket] = []

    @property
    def answered(self) -> bool:
        return len(self.acknowledged) + self.refused.total() == self.to_send

    def complete(self) -> bool:
        """Every message answered and every socket has every acknowledged one."""
        return self.answered and all(
            self.acknowledged.keys() <= one.arrivals.keys() for one in self.sockets
        )


class Arrivals:
    """The time of the latest frame any socket read, to tell when the room fell silent."""

    def __init__(self) -> None:
        self.last = time.perf_counter_ns()

    def now(self) -> int:
        self.last = time.perf_counter_ns()
        return self.last

    def silent_for(self) -> float:
        return (time.perf_counter_ns() - self.last) / 1e9


async def wait_until_complete(rooms: list[RoomState], clock: Arrivals, idle: float) -> None:
    """Until every room is complete, or no frame has come for idle seconds.

    Checked ten times a second: checking on every frame would cost more than reading it.
    """
    while not all(room.complete() for room in rooms) and clock.silent_for() < idle:
        await asyncio.sleep(0.1)


class Socket:
    """One client of a room: it may send, and it reads every frame of its room."""

    def __init__(self, websocket: ClientConnection, room: RoomState, index: int) -> None:
        self.websocket = websocket
        self.room = room
        self.index = index
        self.arrivals: dict[tuple[int, int], int] = {}
        self.closed = False
        room.sockets.append(self)

    async def send(self, number: int) -> None:
        text = f"{PREFIX} {self.room.name} {self.index} {number}"
        self.room.sent[(self.index, number)] = time.perf_counter_ns()
        await self.websocket.send(json.dumps({"message": text}))

    async def read(self, clock: "Arrivals") -> None:
        try:
            async for text in self.websocket:
                self.note(json.loads(text), clock.now())
                # recv() does not wait while frames are queued: without a turn for the
                # others, one socket's backlog would make every other arrival look late
                await asyncio.sleep(0)
        except ConnectionClosed:
            self.closed = True

    def note(self, frame: dict, now: int) -> None:
        if frame.get("type") == "error":
            # Error frames go to their sender only: one of this socket's messages
            self.room.refused[frame.get("code", "")] += 1
            return
        words = str(frame.get("message", "")).split()
        if frame.get("type") != "message" or len(words) != 4 or words[0] != PREFIX:
            return
        key = (int(words[2]), int(words[3]))
        self.arrivals[key] = now
        if key[0] == self.index and "id" in frame:
            self.room.acknowledged.setdefault(key, now)


async def open_room(urls: list[str], room: RoomState, count: int) -> list[Socket]:
    """count sockets to the room, over urls in turn, connecting in batches."""
    sockets: list[Socket] = []
    for start in range(0, count, CONNECT_BATCH):
        batch = range(start, min(start + CONNECT_BATCH, count))
        opened = await asyncio.gather(*(open_socket(urls[i % len(urls)]) for i in batch))
        sockets += [Socket(websocket, room, i) for i, websocket in zip(batch, opened, strict=True)]
    return sockets


async def send_burst(senders: list[Socket], per_sender: int) -> None:
    """Every sender sends all its messages at once, all senders together."""

    async def send_all(sender: Socket) -> None:
        for number in range(per_sender):
            await sender.send(number)

    await asyncio.gather(*(send_all(sender) for sender in senders))


async def send_steadily(sender: Socket, messages: int, rate: float) -> None:
    start = time.perf_counter()
    for number in range(messages):
        await asyncio.sleep(max(0.0, start + number / rate - time.perf_counter()))
        await sender.send(number)


def outcome(burst: Burst, rooms: list[RoomState], connect: float, first: int) -> BurstOutcome:
    """The figures of a finished run (rooms: the busy one, then the quiet one)."""
    arrivals = [
        (key, at, room)
        for room in rooms
        for one in room.sockets
        for key, at in one.arrivals.items()
    ]
    lags = [at - room.acknowledged[key] for key, at, room in arrivals if key in room.acknowledged]
    return BurstOutcome(
        burst=burst,
        connect_seconds=connect,
        acknowledged=sum(len(room.acknowledged) for room in rooms),
        quiet_acknowledged=len(rooms[-1].acknowledged),
        refused=dict(sum((room.refused for room in rooms), Counter())),
        # A refused message was not sent on (its sender was told): no one expects it
        expected=sum((room.to_send - room.refused.total()) * len(room.sockets) for room in rooms),
        delivered=len(arrivals),
        late=sum(lag > burst.live_seconds * 1e9 for lag in lags),
        seconds=max((at - first for _, at, _ in arrivals), default=0) / 1e9,
        latencies_ms=[(at - room.sent[key]) / 1e6 for key, at, room in arrivals],
        worst_lag_ms=max(lags, default=0) / 1e6,
        worst_ack_ms=worst_ack(rooms[0]) / 1e6,
        quiet_worst_ack_ms=worst_ack(rooms[-1]) / 1e6,
        disconnects=sum(one.closed for room in rooms for one in room.sockets),
    )


def worst_ack(room: RoomState) -> int:
    """The longest a sender of room waited for its message to come back (ns)."""
    return max((at - room.sent[key] for key, at in room.acknowledged.items()), default=0)


async def run(burst: Burst, connected: Callable[[], None] | None = None) -> BurstOutcome:
    """Connect both rooms, send the burst and the steady messages, wait, close everything.

    connected, if given, is called once every socket is in and before anything is sent.
    """
    busy = RoomState("a", burst.senders * burst.per_sender)
    quiet = RoomState("b", burst.steady)
    started = time.perf_counter()
    # Room B: its steady sender and one listener
    sockets = await open_room([burst.quiet_url], quiet, 2)
    sockets += await open_room(burst.busy_urls, busy, burst.senders)
    connect_seconds = time.perf_counter() - started
    if connected:
        connected()
    clock = Arrivals()
    readers = [asyncio.create_task(one.read(clock)) for one in sockets]
    try:
        first = time.perf_counter_ns()
        await asyncio.gather(
            send_burst(busy.sockets, burst.per_sender),
            send_steadily(quiet.sockets[0], burst.steady, burst.steady_rate),
        )
        await wait_until_complete([busy, quiet], clock, burst.idle_timeout)
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*(one.websocket.close() for one in sockets), return_exceptions=True)
    return outcome(burst, [busy, quiet], connect_seconds, first)
