"""The chat consumer: the tutorial's ChatConsumer, async, with memory and manners.

The steps of the tutorial stay visible (join the group, accept, group_send, chat_message);
frames, storage, presence, limits and Redis outages have modules of their own (frames.py,
history.py, presence.py, limits.py, outage.py).

One change of plumbing: a socket joins its room's group through this process's hub for the
room (hub.py), which is the group's one member for all local sockets. The room's events are
read once per process and their frames encoded once, instead of once per socket. With
CHAT_ROOM_HUB off, each consumer joins with a channel of its own, as in the tutorial, and
its chat_message handler sends each event's frame.
"""

import asyncio
import logging
import uuid

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from . import frames, history, hub
from .authors import author_for
from .limits import RateLimit, Throttle
from .outage import CLOSE_TRY_AGAIN_LATER, REDIS_ERRORS, UNAVAILABLE, outage
from .presence import Snapshot, presence_store
from .rooms import group_name_for, presence_group_for

logger = logging.getLogger(__name__)

# A typing notice shows for this long on other pages; a typist sends one at most every
# third of it, so a steady typist's notice never flickers off
TYPING_SECONDS = 4.0


class ChatMessages:
    """The room group's events as frames: the tutorial's chat_message handler, run once."""

    def __init__(self, room_name: str) -> None:
        self.room_name = room_name

    # Receive message from room group
    def __call__(self, event: dict) -> str | None:
        if event["type"] == "chat.message":
            return frames.encode(frames.message_frame(event, self.room_name))
        return None


class ChatPresence:
    """The presence group's events as frames: who is in the room, and who is typing."""

    def __init__(self, room_name: str) -> None:
        self.room_name = room_name
        self.version = -1

    def __call__(self, event: dict) -> str | None:
        if event["type"] == "chat.typing":
            return frames.typing_frame(event["author"], self.room_name, TYPING_SECONDS)
        # Changes can arrive out of order from different processes: keep the newest
        if event["type"] == "chat.presence" and event["version"] > self.version:
            self.version = event["version"]
            return frames.presence_frame(event["users"], self.room_name)
        return None


class ChatConsumer(AsyncWebsocketConsumer):
    accepted = False
    heartbeat = None
    left = False
    room_hub = None
    presence_hub = None

    async def __call__(self, scope, receive, send):
        self.uses_hub = settings.CHAT_ROOM_HUB
        if self.uses_hub:
            # No channel of its own: the room's events come through the process's hub, so
            # the consumer does not wait on the channel layer as well as on its socket
            self.channel_layer_alias = None
        try:
            await super().__call__(scope, receive, send)
        except REDIS_ERRORS as error:
            # Redis went away under this socket (the channel layer or presence): the server
            # stays up, the client hears why and reconnects, the log says it once
            outage.failed(error)
            await self.close_for_outage()
        finally:
            if self.heartbeat is not None:
                self.heartbeat.cancel()
            await self.leave_hubs()

    async def dispatch(self, message):
        # Channels runs close_old_connections() in a worker thread before every handler. Here
        # every database call goes through database_sync_to_async, which tidies in the
        # database thread anyway: the extra hop only made each frame wait for a thread, up
        # to Python's 5 ms GIL switch interval when the event loop is busy.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        self.accepted = True

    async def connect(self):
        # The URL route has already checked the room name (see rooms.RoomNameConverter)
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = group_name_for(self.room_name)
        self.presence_group_name = presence_group_for(self.room_group_name)
        self.author = author_for(self.scope)
        self.rate_limit = RateLimit(settings.CHAT_MESSAGES_PER_SECOND, settings.CHAT_MESSAGE_BURST)
        # History pages cost a database read each: a limit of their own
        self.history_limit = RateLimit()
        self.typing_throttle = Throttle(TYPING_SECONDS / 3)
        query = self.scope.get("query_string", b"")
        self.wants_presence = frames.wants_presence(query)
        self.presence = presence_store()
        # Names this socket in the room's presence and in typing notices, across processes
        self.socket_id = uuid.uuid4().hex
        self.channel_layer = get_channel_layer()
        self.messages = ChatMessages(self.room_name)
        self.presence_frames = ChatPresence(self.room_name)

        # Join room group. Before reading history: a message saved in between then arrives
        # twice (the page drops the repeated id) rather than never.
        await self.join_groups()
        self.room = await self.room_row()

        # Before anything is sent: if Redis fails here, the client gets no half a welcome
        joined = await self.presence.join(*self.presence_entry())
        await self.accept()
        await self.send_requested_history()
        await self.announce(joined)
        self.heartbeat = asyncio.create_task(self.keep_present())
        outage.recovered()

    async def disconnect(self, close_code):
        await self.leave_room()

    async def leave_room(self) -> None:
        """Leave the room's presence and its groups (once, however often it is called)."""
        if self.heartbeat is None or self.left:
            return
        self.left = True
        self.heartbeat.cancel()
        # Leave room group (a hub first: that needs no Redis, which may be what failed)
        await self.leave_hubs()
        if not self.uses_hub:
            await self.channel_layer.group_discard(self.room_group_name, self.channel_name)
            if self.wants_presence:
                await self.channel_layer.group_discard(self.presence_group_name, self.channel_name)
        await self.announce(await self.presence.leave(*self.presence_entry()))

    async def join_groups(self) -> None:
        """The room's group, and the presence group if asked: through the hub, or directly."""
        if self.uses_hub:
            self.room_hub = await hub.join(
                self.channel_layer, self.room_group_name, self, self.messages
            )
            if self.wants_presence:
                self.presence_hub = await hub.join(
                    self.channel_layer, self.presence_group_name, self, self.presence_frames
                )
        else:
            await self.channel_layer.group_add(self.room_group_name, self.channel_name)
            if self.wants_presence:
                await self.channel_layer.group_add(self.presence_group_name, self.channel_name)

    async def room_row(self):
        """The room in the database; with a hub, looked up once per room per process."""
        if not self.uses_hub:
            return await history.aroom_named(self.room_name)
        if self.room_hub.room is None:
            # Every connect looked it up again: a fifth of a connect's time
            self.room_hub.room = await history.aroom_named(self.room_name)
        return self.room_hub.room

    async def leave_hubs(self) -> None:
        for joined in (self.room_hub, self.presence_hub):
            if joined is not None:
                await hub.leave(joined, self)
        self.room_hub = self.presence_hub = None

    # Receive message from WebSocket
    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = frames.read_client_frame(text_data, bytes_data)
        except frames.BadFrame as bad:
            await self.refuse(bad)
            return
        if isinstance(frame, frames.HistoryRequest):
            if self.history_limit.allow():
                await self.send_history(frame)
            else:
                await self.refuse(frames.BadFrame("too many history requests; wait a moment"))
            return
        if isinstance(frame, frames.Typing):
            await self.say_typing()
            return
        if not self.rate_limit.allow():
            limit = f"at most {self.rate_limit.rate:g} messages a second"
            await self.refuse(
                frames.BadFrame(f"too many messages ({limit}); this one was not sent")
            )
            return

        # Save first: a message the room hears about is one that history can give back
        event = await history.asave_message(self.room, self.author, frame)

        # Send message to room group
        await self.channel_layer.group_send(self.room_group_name, {"type": "chat.message", **event})

    # Receive message from room group (without a hub: through this consumer's channel)
    async def chat_message(self, event):
        await self.send_frame(self.messages(event))

    # Receive a change of who is in the room, or a typing notice, from the presence group
    async def chat_presence(self, event):
        text = self.presence_frames(event)
        if text is not None:
            await self.send_frame(text)

    async def chat_typing(self, event):
        if event["sender"] != self.socket_id:
            await self.send_frame(self.presence_frames(event))

    # A frame for this socket: from chat_message and friends, or from the room's hub
    async def send_frame(self, text: str) -> None:
        # Send message to WebSocket
        await self.send(text_data=text)

    def presence_entry(self) -> tuple[str, str, str]:
        return self.room_group_name, self.socket_id, self.author.name

    async def announce(self, snapshot: Snapshot) -> None:
        """Tell the room who is in it, when that changed."""
        if snapshot.changed:
            event = {"type": "chat.presence", "version": snapshot.version, "users": snapshot.names}
            await self.channel_layer.group_send(self.presence_group_name, event)

    async def keep_present(self) -> None:
        """Refresh this socket's presence entry until it closes; announce expired ghosts."""
        while True:
            await asyncio.sleep(self.presence.ttl / 3)
            try:
                await self.announce(await self.presence.refresh(*self.presence_entry()))
            except REDIS_ERRORS as error:
                # The channel layer's own receive fails too and closes this socket
                outage.failed(error)

    async def close_for_outage(self) -> None:
        """Tell the client that the room is out of reach, and close so that it retries."""
        try:
            if not self.accepted:
                # Accept first: a refused handshake cannot say why
                await self.accept()
            await self.send(text_data=frames.error_frame(UNAVAILABLE, retry=True))
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
        except Exception:  # the client may be gone already: nothing to tell
            logger.debug("Could not tell a client about the outage", exc_info=True)

    def fell_behind(self) -> None:
        """The hub gave up writing to this socket: its client should reconnect and catch up."""
        self.behind = asyncio.create_task(self.close_behind())

    async def close_behind(self) -> None:
        try:
            reason = "this connection fell behind the room; reconnect to catch up from history"
            await self.send(text_data=frames.error_frame(reason, retry=True))
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
        except Exception:  # the client went away meanwhile: nothing to tell
            logger.debug("Could not close a socket that fell behind", exc_info=True)

    async def say_typing(self) -> None:
        # Extra notices inside the throttle interval change nothing on the pages: drop them
        if self.typing_throttle.allow():
            event = {"type": "chat.typing", "author": self.author.name, "sender": self.socket_id}
            await self.channel_layer.group_send(self.presence_group_name, event)

    async def send_requested_history(self) -> None:
        """Answer the socket URL's ?after=<id> or ?recent=<n>; without them, send nothing."""
        try:
            request = frames.read_history_query(self.scope.get("query_string", b""))
        except frames.BadFrame as bad:
            await self.refuse(bad)
            return
        if request is not None:
            await self.send_history(request)

    async def send_history(self, request: frames.HistoryRequest) -> None:
        if request.after is not None:
            messages, more = await history.amessages_after(self.room, request.after)
        else:
            messages, more = await history.arecent_messages(self.room, request.recent)
        await self.send(text_data=frames.history_frame(messages, self.room_name, more))

    async def refuse(self, bad: frames.BadFrame) -> None:
        """Answer a bad frame only to its sender: an error frame, then a close if it must."""
        logger.info("Refused a frame in room %r: %s", self.room_name, bad)
        # The error frame comes first because daphne does not pass close reasons on
        await self.send(text_data=frames.error_frame(str(bad)))
        if bad.close_code is not None:
            await self.close(code=bad.close_code)


class RefuseConsumer(AsyncWebsocketConsumer):
    """Refuses the handshake (an HTTP 403) for WebSocket paths that name no valid room."""

    async def connect(self):
        await self.close()
