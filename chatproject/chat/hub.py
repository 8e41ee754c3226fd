"""One channel-layer subscription per group per process, shared by that process's sockets.

The tutorial's consumer adds its own channel to the room's group, so a message heard by N
sockets in one process makes the layer deliver it N times: N channel reads, N consumer
wake-ups, N JSON encodings of the same frame. A hub adds ONE channel to the group for the
whole process and writes the frame, encoded once, to every local socket of the group.

Nothing changes on the wire or across processes: senders still call ``group_send``, and each
process's hub is one member of the group, so a message reaches every process once.

HubConsumer is the plumbing a consumer needs for that (the hooks stay in the subclass, as
in Channels' generic consumers); CHAT_ROOM_HUB off gives each consumer its own channel.
"""

import asyncio
import contextlib
import logging
import uuid
import weakref
from collections.abc import Callable, Coroutine
from typing import NamedTuple, Protocol

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from . import frames
from .counters import count, start_summaries
from .outage import CLOSE_TRY_AGAIN_LATER, OUTAGE_RETRY_AFTER, REDIS_ERRORS, UNAVAILABLE, outage

logger = logging.getLogger(__name__)


class Delivery(NamedTuple):
    """A frame for a group's sockets, and the one socket it skips (its own typist, say).

    With user_id, only that user's sockets get it; with close_code, each socket that got it
    is closed with that code once the frame is written.
    """

    text: str
    skip: str | None = None
    user_id: int | None = None
    close_code: int | None = None

    def reaches(self, member: "Member") -> bool:
        if member.socket_id == self.skip:
            return False
        return self.user_id is None or member.user_id == self.user_id


# Turns one event from the group into what its sockets get (None: nothing to send). A hub
# makes its render once, when it starts, so a render may keep state for its group.
Render = Callable[[dict], Delivery | None]


class Member(Protocol):
    """A socket a hub writes to (a HubConsumer)."""

    socket_id: str
    user_id: int | None

    async def send(self, text_data: str) -> None: ...

    async def close(self, code: int | None = None) -> None: ...

    async def close_for_outage(self) -> None: ...

    def fell_behind(self) -> None: ...


# How long one message's writes may wait on clients that do not read. daphne never waits
# (it buffers); uvicorn waits while a client's buffer is full, and the room must not.
SLOW_WRITE_SECONDS = 2.0

# A client that fell behind may come back at once: the room is fine, its connection was not
FELL_BEHIND_RETRY_AFTER = 1.0

# Most events a hub takes from the layer at once, where the layer reads in batches
# (chatproject/layers.py): one round trip for up to this many, instead of four for each
RECEIVE_BATCH = 100

# How often a hub checks that Redis still has it in its group (one ZADD): a failover loses
# the writes the replica had not copied yet, and then the hub hears nothing, silently
MEMBERSHIP_CHECK_SECONDS = 2.0

# Counted when Redis had lost a hub's membership: its sockets missed the room's messages
# for up to MEMBERSHIP_CHECK_SECONDS and were sent to catch up from history
LOST_MEMBERSHIP = "hub_rejoined"

# This process's hubs by group, in each event loop: a server has one loop; tests run each
# in a loop of its own, and a hub belongs to the loop its task runs in
_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, "Hub"]] = (
    weakref.WeakKeyDictionary()
)


def _hubs_here() -> dict[str, "Hub"]:
    return _hubs.setdefault(asyncio.get_running_loop(), {})


class Hub:
    """The process's one member of a group: reads the group's events, writes to sockets."""

    def __init__(self, layer, group: str, render: Render) -> None:
        self.layer = layer
        self.group = group
        self.render = render
        self.members: dict[Member, None] = {}  # an ordered set
        self.slow_write_seconds = SLOW_WRITE_SECONDS
        self.channel_name: str | None = None
        self.subscribed = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self.run(), name=f"hub {group}")

    async def run(self) -> None:
        renewal = None
        try:
            self.channel_name = await self.new_channel()
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

    async def new_channel(self) -> str:
        """A plain channel of the hub's own where the layer reads in batches, else a new one.

        A process's channels from new_channel() share one queue in RedisChannelLayer, so
        one room's burst would fill every room's (settings.py: the layer's sizes).
        """
        if hasattr(self.layer, "receive_many"):
            return f"hub.{uuid.uuid4().hex}"
        return await self.layer.new_channel()

    async def listen(self) -> None:
        while True:
            for event in await self.receive():
                await self.show(event)

    async def receive(self) -> list[dict]:
        """The group's next events: a batch where the layer can, else one."""
        if hasattr(self.layer, "receive_many"):
            return await self.layer.receive_many(self.channel_name, RECEIVE_BATCH)
        return [await self.layer.receive(self.channel_name)]

    async def show(self, event: dict) -> None:
        try:
            delivery = self.render(event)
        except Exception:
            logger.exception("Could not show an event to group %s: %r", self.group, event)
            return
        if delivery is not None:
            await self.write(delivery)

    async def write(self, delivery: Delivery) -> None:
        members = [member for member in self.members if delivery.reaches(member)]
        start = 0
        while start < len(members):
            start = await self.write_from(members, start, delivery.text)
        if delivery.close_code is not None:
            for member in members:
                await close_one(member, delivery.close_code)

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
            await member.send(text_data=text)
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
        """Join the group again before the layer forgets memberships (group_expiry), and
        often, where the layer can say, to see that Redis did not lose the membership."""
        checks = hasattr(self.layer, "group_renew")
        expiry = getattr(self.layer, "group_expiry", None)
        period = MEMBERSHIP_CHECK_SECONDS if checks else expiry and expiry / 2
        while period:
            await asyncio.sleep(period)
            if not checks:
                await self.layer.group_add(self.group, self.channel_name)
                continue
            try:
                kept = await self.layer.group_renew(self.group, self.channel_name)
            except REDIS_ERRORS:
                continue  # an outage: listen() meets it too, and ends the hub
            if not kept:
                self.lost_membership()

    def lost_membership(self) -> None:
        """Redis lost this hub's membership (a failover): the room's messages since then
        went to the other processes only, so every socket here catches up from history."""
        count(LOST_MEMBERSHIP)
        logger.warning(
            "The hub of %s was no longer in its group (Redis failed over?); joined again, "
            "and its %d sockets were asked to reconnect and catch up",
            self.group,
            len(self.members),
        )
        for member in list(self.members):
            self.members.pop(member, None)
            member.fell_behind()

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
        hubs = _hubs_here()
        if hubs.get(self.group) is self:
            del hubs[self.group]

    async def stop(self) -> None:
        self.forget()
        self.task.cancel()
        if self.channel_name is not None:
            # If Redis is down, the membership expires by itself (group_expiry)
            with contextlib.suppress(*REDIS_ERRORS):
                await self.layer.group_discard(self.group, self.channel_name)


async def close_one(member: Member, code: int) -> None:
    try:
        await member.close(code=code)
    except Exception:
        # Gone already: nothing left to close
        logger.debug("Could not close socket %s", member.socket_id, exc_info=True)


async def join(layer, group: str, member: Member, make_render: Callable[[], Render]) -> Hub:
    """Add a socket to this process's hub for group, starting the hub if it is the first.

    make_render is called only to start the hub: the group has one render, not one per socket.
    """
    hubs = _hubs_here()
    hub = hubs.get(group)
    if hub is None:
        hub = hubs[group] = Hub(layer, group, make_render())
    hub.members[member] = None
    try:
        # Until the hub is in the group, the socket could miss messages: wait for it
        await asyncio.shield(hub.subscribed)
    except BaseException:
        await leave(hub, member)
        raise
    return hub


async def leave(hub: Hub, member: Member) -> None:
    """Remove a socket (again is fine); the last one out takes the hub out of the group."""
    hub.members.pop(member, None)
    if not hub.members and _hubs_here().get(hub.group) is hub:
        await hub.stop()


class HubConsumer(AsyncWebsocketConsumer):
    """Channels' AsyncWebsocketConsumer whose groups are joined through this process's hubs.

    A subclass joins a group with ``group_join(group, make_render)``: with a hub, the
    hub's render writes the group's events to every local socket; with CHAT_ROOM_HUB off,
    the consumer's own channel is in the group and its handlers (``chat_message`` …) pass
    each event to ``group_event()``. Either way, a Redis outage closes the socket with a
    reason and 4013 (try again later), and whatever the socket started ends with it.
    """

    accepted = False
    # The logged-in user the socket speaks for (a subclass sets it), None for a guest
    user_id: int | None = None

    async def __call__(self, scope, receive, send):
        # The process's summary of what it refused or dropped starts with its first socket
        start_summaries()
        self.uses_hub = settings.CHAT_ROOM_HUB
        if self.uses_hub:
            # No channel of its own: the group's events come through the process's hub,
            # so the consumer does not wait on the channel layer as well as on its socket
            self.channel_layer_alias = None
        # Names this socket in its hubs, and to its collaborators (presence, typing)
        self.socket_id = uuid.uuid4().hex
        self.hubs: list[Hub] = []
        self.renders: dict[str, Render] = {}
        async with contextlib.AsyncExitStack() as self.cleanup:
            # Whatever ends the socket, it leaves its hubs (no Redis needed for that)
            self.cleanup.push_async_callback(self.leave_hubs)
            try:
                await super().__call__(scope, receive, send)
            except REDIS_ERRORS as error:
                # Redis went away under this socket: the server stays up, the client hears
                # why and reconnects, the log says it once
                outage.failed(error)
                await self.close_for_outage()

    async def websocket_connect(self, message):
        if self.uses_hub:
            # Channels gives a consumer without a channel no layer; group_send needs one
            self.channel_layer = get_channel_layer()
        await super().websocket_connect(message)

    async def dispatch(self, message):
        # Channels runs close_old_connections() in a worker thread before every handler.
        # Here every database call goes through database_sync_to_async, which tidies in
        # the database thread anyway: the extra hop only made each frame wait for a thread,
        # up to Python's 5 ms GIL switch interval when the event loop is busy.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        self.accepted = True

    def spawn(self, coroutine: Coroutine) -> asyncio.Task:
        """Run coroutine beside the socket; it is cancelled when the socket ends."""
        task = asyncio.create_task(coroutine)
        self.cleanup.callback(task.cancel)
        return task

    async def group_join(self, group: str, make_render: Callable[[], Render]) -> None:
        """Join group: through the process's hub, or with this consumer's own channel."""
        if self.uses_hub:
            self.hubs.append(await join(self.channel_layer, group, self, make_render))
        else:
            self.renders[group] = make_render()
            await self.channel_layer.group_add(group, self.channel_name)

    async def group_event(self, group: str, event: dict) -> None:
        """Without a hub: show an event from group on this socket, as the group's render says."""
        delivery = self.renders[group](event)
        if delivery is not None and delivery.reaches(self):
            await self.send(text_data=delivery.text)
            if delivery.close_code is not None:
                await self.close(code=delivery.close_code)

    async def group_leave_all(self) -> None:
        """Leave every group joined (the hubs first: that needs no Redis, which may be down)."""
        await self.leave_hubs()
        for group in self.renders:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.renders.clear()

    async def leave_hubs(self) -> None:
        for joined in self.hubs:
            await leave(joined, self)
        self.hubs.clear()

    async def close_for_outage(self) -> None:
        """Tell the client that the room is out of reach, and close so that it retries."""
        await self.close_to_retry(UNAVAILABLE, frames.UNAVAILABLE, OUTAGE_RETRY_AFTER)

    def fell_behind(self) -> None:
        """The hub gave up writing to this socket: its client should reconnect and catch up."""
        reason = "this connection fell behind the room; reconnect to catch up from history"
        self.spawn(self.close_to_retry(reason, frames.FELL_BEHIND, FELL_BEHIND_RETRY_AFTER))

    async def close_to_retry(self, reason: str, code: str, retry_after: float) -> None:
        """Say why, and how long to wait at least, then close with 4013 (try again later)."""
        count(code)
        try:
            if not self.accepted:
                # Accept first: a refused handshake cannot say why
                await self.accept()
            frame = frames.error_frame(reason, code, retry=True, retry_after=retry_after)
            await self.send(text_data=frame)
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
        except Exception:  # the client may be gone already: nothing to tell
            logger.debug("Could not tell a client to retry: %s", reason, exc_info=True)
