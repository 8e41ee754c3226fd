"""Budgets per client address, shared by all of that client's sockets in this process.

Every limit of limits.py is per socket, so a client with many sockets has many budgets.
Here each client address (addresses.py) has, in this process:

- a cap on its open sockets (CHAT_CLIENT_SOCKETS): the socket past it is refused;
- one message budget for all its sockets, beside each socket's own (a token bucket);
- a history budget in bytes a second, and its history pages are read one at a time, so
  that however many sockets ask for pages, the database thread and the event loop serve
  at most one page of that client at once and everyone else's handshake is not kept waiting.

The counts are per process, like the memory, event loop and database thread they protect;
settings.py says why, and what that means with several processes.
"""

import asyncio
import contextlib
import math
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from django.conf import settings

from . import frames
from .limits import RateLimit


class OverBudget(frames.BadFrame):
    """The client's budget is spent: the answer is an error frame saying when to try again."""

    def __init__(self, reason: str, code: str, retry_after: float) -> None:
        super().__init__(reason, code=code)
        self.retry_after = retry_after


class ByteBudget(RateLimit):
    """A token bucket counted in bytes (rate: bytes a second), charged after the fact.

    A page's size is known only once it is read, so a page may start while any budget is
    left and is charged in full afterwards; the budget can go below zero by one page, and
    then waits until the rate has paid that back.
    """

    def seconds_until_open(self) -> float:
        """0 if a page may start now; else how long until one may."""
        self.refill()
        return 0.0 if self.tokens > 0 else (1 - self.tokens) / self.rate

    def spend(self, size: int) -> None:
        self.refill()
        self.tokens -= size


@dataclass(eq=False)
class Client:
    """One client address's budgets in this process, shared by its sockets."""

    address: str
    messages: RateLimit
    history: ByteBudget
    sockets: int = 0
    # One history page at a time per client
    history_turn: asyncio.Lock = field(default_factory=asyncio.Lock)

    def allow_message(self) -> bool:
        return self.messages.allow()

    @contextlib.asynccontextmanager
    async def history_page(self) -> AsyncIterator[Callable[[int], None]]:
        """Take the client's turn to read a history page; yields what charges its size.

        Raises OverBudget if the client read its share of history lately.
        """
        async with self.history_turn:
            wait = self.history.seconds_until_open()
            if wait > 0:
                raise OverBudget(
                    "too much history asked for from your address; ask again in "
                    f"{math.ceil(wait)} s",
                    frames.HISTORY_LIMITED,
                    retry_after=round(wait, 1),
                )
            yield self.history.spend

    def seconds_until_idle(self) -> float:
        """How long until both budgets are as full as a newcomer's (if no socket comes)."""
        return max(self.messages.seconds_until_full(), self.history.seconds_until_full())

    def is_idle(self) -> bool:
        """No sockets and full budgets: forgetting the client changes nothing."""
        return self.sockets == 0 and self.seconds_until_idle() == 0


def new_client(address: str) -> Client:
    return Client(
        address,
        RateLimit(settings.CHAT_CLIENT_MESSAGES_PER_SECOND, settings.CHAT_CLIENT_MESSAGE_BURST),
        ByteBudget(
            settings.CHAT_CLIENT_HISTORY_BYTES_PER_SECOND, settings.CHAT_CLIENT_HISTORY_BURST_BYTES
        ),
    )


# The clients with sockets (or budgets still refilling) in each event loop: a server has
# one loop; each test runs in a loop of its own and starts with fresh budgets
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Client]] = (
    weakref.WeakKeyDictionary()
)


def _clients_here() -> dict[str, Client]:
    return _clients.setdefault(asyncio.get_running_loop(), {})


def admit(address: str) -> Client | None:
    """Count one more socket of address; None if it already has CHAT_CLIENT_SOCKETS open."""
    clients = _clients_here()
    client = clients.get(address) or clients.setdefault(address, new_client(address))
    if client.sockets >= settings.CHAT_CLIENT_SOCKETS:
        return None
    client.sockets += 1
    return client


def release(client: Client) -> None:
    """One socket of client closed. Its budgets are kept until they have refilled, so that
    closing every socket and opening new ones does not start a client afresh."""
    client.sockets -= 1
    if client.sockets == 0:
        asyncio.get_running_loop().call_later(client.seconds_until_idle(), _forget_if_idle, client)


def _forget_if_idle(client: Client) -> None:
    clients = _clients_here()
    if client.is_idle() and clients.get(client.address) is client:
        del clients[client.address]


def open_sockets(address: str) -> int:
    """How many sockets address has open in this process (in this event loop)."""
    client = _clients_here().get(address)
    return client.sockets if client else 0
