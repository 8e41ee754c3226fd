"""One channel-layer subscription per group per process, shared by that process's sockets.

The tutorial's consumer adds its own channel to the room's group, so a message heard by N
sockets in one process makes the layer deliver it N times: N channel reads, N consumer
wake-ups, N JSON encodings of the same frame. A hub adds ONE channel to the group for the
whole process and writes the frame, encoded once, to every local socket of the room.

Nothing changes on the wire or across processes: senders still call ``group_send``, and each
process's hub is one member of the group, so a message reaches every process once.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from .outage import REDIS_ERRORS, outage

logger = logging.getLogger(__name__)


class Member(Protocol):
    """A socket a hub writes to (a ChatConsumer)."""

    socket_id: str

    async def send_frame(self, text: str) -> None: ...

    async def close_for_outage(self) -> None: ...

    def fell_behind(self) -> None: ...


# How long one message's writes may wait on clients that do not read. daphne never waits
# (it buffers); uvicorn waits while a client's buffer is full, and the room must not.
SLOW_WRITE_SECONDS = 2.0


# Turns one event from the group into the frame every member gets (None: nothing to send)
Render = Callable[[dict], str | None]

# This process's hubs, by event loop, layer and group. Tests run each in a loop of its own
# and swap layers; a server has one loop and one layer.
_hubs: dict[tuple, "Hub"] = {}


class Hub:
    """The process's one member of a group: reads the group's events, writes to sockets."""

    def __init__(self, layer, group: str, render: Render) -> None:
        self.layer = layer
        self.group = group
        self.render = render
        self.key = (asyncio.get_running_loop(), id(layer), group)
        self.members: dict[Member, None] = {}  # an ordered set
        # The room's database row, looked up by the first socket and shared by the others
        self.room = None
        self.slow_write_seconds = SLOW_WRITE_SECONDS
        self.channel_name: str | None = None
        self.subscribed = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self.run(), name=f"hub {group}")

    async def run(self) -> None:
        renewal = None
        try:
            self.channel_name = await self.layer.new_channel()
            await self.layer.group_add(self.group, self.channel_name)
            self.subscribed.set_result(None)
            renewal = asyncio.create_task(self.renew())
            await self.listen()
        except REDIS_ERRORS as error:
            outage.failed(error)
            await self.fail(error)
        except Exception as error:
            logger.exception("The hub of %s failed; its sockets were told to reconnect", self.group)
            await self.fail(error)
        finally:
            if renewal is not None:
                renewal.cancel()

    async def listen(self) -> None:
        while True:
            event = await self.layer.receive(self.channel_name)
            try:
                text = self.render(event)
            except Exception:
                logger.exception("Could not show an event to group %s: %r", self.group, event)
                continue
            if text is not None:
                await self.write(text, skip=event.get("sender"))

    async def write(self, text: str, skip: str | None = None) -> None:
        members = [member for member in self.members if member.socket_id != skip]
        start = 0
        while start < len(members):
            start = await self.write_from(members, start, text)

    async def write_from(self, members: list[Member], start: int, text: str) -> int:
        """Write to members from start on; where to go on from if one held everyone up.

        One after another, without a task each (a task per socket per message is what the
        hub saves). A send only waits when the server holds back for a client that does
        not read (uvicorn does, daphne never): one deadline per message bounds that.
        """
        loop = asyncio.get_running_loop()
        index, waiting_since = start, loop.time()
        try:
            async with asyncio.timeout(self.slow_write_seconds):
                for index in range(start, len(members)):
                    waiting_since = loop.time()
                    await self.write_one(members[index], text)
        except TimeoutError:
            if loop.time() - waiting_since < self.slow_write_seconds / 2:
                return index  # the deadline ran out on a socket that had only just waited
            self.drop_slow(members[index])
            return index + 1
        return len(members)

    async def write_one(self, member: Member, text: str) -> None:
        try:
            await member.send_frame(text)
        except Exception:
            # A socket that closed a moment ago: the others must still hear the message
            logger.debug("Could not write to socket %s", member.socket_id, exc_info=True)

    def drop_slow(self, member: Member) -> None:
        """A client that stopped reading leaves the room's writes; it catches up from history."""
        logger.info(
            "Socket %s fell behind in %s and was asked to reconnect", member.socket_id, self.group
        )
        self.members.pop(member, None)
        member.fell_behind()

    async def renew(self) -> None:
        """Join the group again before the layer forgets memberships (group_expiry)."""
        expiry = getattr(self.layer, "group_expiry", None)
        while expiry:
            await asyncio.sleep(expiry / 2)
            await self.layer.group_add(self.group, self.channel_name)

    async def fail(self, error: Exception) -> None:
        """The hub cannot go on: its sockets are told and closed, so that they retry."""
        self.forget()
        if not self.subscribed.done():
            # The sockets still joining raise the error themselves, and say so
            self.subscribed.set_exception(error)
            return
        for member in list(self.members):
            await member.close_for_outage()

    def forget(self) -> None:
        if _hubs.get(self.key) is self:
            del _hubs[self.key]

    async def stop(self) -> None:
        self.forget()
        self.task.cancel()
        if self.channel_name is not None:
            # If Redis is down, the membership expires by itself (group_expiry)
            with contextlib.suppress(*REDIS_ERRORS):
                await self.layer.group_discard(self.group, self.channel_name)


async def join(layer, group: str, member: Member, render: Render) -> Hub:
    """Add a socket to this process's hub for group, starting the hub if it is the first."""
    key = (asyncio.get_running_loop(), id(layer), group)
    hub = _hubs.get(key)
    if hub is None:
        hub = _hubs[key] = Hub(layer, group, render)
    hub.members[member] = None
    try:
        # Until the hub is in the group, the socket could miss messages: wait for it
        await asyncio.shield(hub.subscribed)
    except BaseException:
        await leave(hub, member)
        raise
    return hub


async def leave(hub: Hub, member: Member) -> None:
    """Remove a socket; the last one out takes the hub out of the group."""
    hub.members.pop(member, None)
    if not hub.members and _hubs.get(hub.key) is hub:
        await hub.stop()


def hub_count() -> int:
    """How many hubs this process runs (one per group that has a local socket)."""
    return len(_hubs)
