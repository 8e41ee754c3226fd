"""The chat consumer: the tutorial's ChatConsumer, async, with memory and manners.

The steps of the tutorial stay visible (join the group, accept, group_send, chat_message);
the room's history and presence are two small collaborators (history.RoomHistory,
presence.RoomPresence), and frames, limits and Redis outages have modules of their own.

The plumbing is in HubConsumer (hub.py): a socket joins its room's group through this
process's hub for the room, the group's one member for all local sockets, so the room's
events are read once per process and their frames encoded once, instead of once per
socket. With CHAT_ROOM_HUB off, each consumer joins with a channel of its own, as in the
tutorial, and its chat_message handler sends each event's frame.
"""

import logging
from functools import partial

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from . import budgets, frames
from .addresses import client_address
from .authors import author_for
from .counters import count
from .database import NotSaved
from .history import RoomHistory
from .hub import Delivery, HubConsumer
from .limits import RateLimit
from .outage import outage
from .presence import PresenceFrames, RoomPresence
from .rooms import group_name_for
from .signout import SIGN_OUTS, SignedOutFrames

logger = logging.getLogger(__name__)


class RoomMessages:
    """The room group's events as frames: the tutorial's chat_message, once per event."""

    def __init__(self, room_name: str) -> None:
        self.room_name = room_name

    def __call__(self, event: dict) -> Delivery | None:
        if event["type"] == "chat.message":
            return Delivery(frames.encode(frames.message_frame(event, self.room_name)))
        return None


class ChatConsumer(HubConsumer):
    async def connect(self):
        # The URL route has already checked the room name (see rooms.RoomNameConverter)
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = group_name_for(self.room_name)
        self.author = author_for(self.scope)
        self.rate_limit = RateLimit(settings.CHAT_MESSAGES_PER_SECOND, settings.CHAT_MESSAGE_BURST)
        self.history = RoomHistory(self.room_name)
        # History pages cost a database read each: a limit of their own
        self.history_limit = RateLimit()
        self.presence = RoomPresence(
            self.channel_layer, self.room_group_name, self.socket_id, self.author.name
        )
        # One set of budgets per client address, however many sockets it opens
        if not await self.admit_client():
            return
        query = self.scope.get("query_string", b"")

        # Join room group. Before reading history: a message saved in between then arrives
        # twice (the page drops the repeated seq) rather than never.
        await self.group_join(self.room_group_name, partial(RoomMessages, self.room_name))
        if frames.wants_presence(query):
            await self.group_join(self.presence.group, partial(PresenceFrames, self.room_name))
        self.user_id = self.author.user_id
        if self.user_id is not None:
            # Signing out closes this socket (chat/signout.py)
            await self.group_join(SIGN_OUTS, SignedOutFrames)

        # Before anything is sent: if Redis fails here, the client gets no half a welcome
        joined = await self.presence.join()
        # Whatever ends the socket, a disconnect or an error, it leaves the room's presence
        self.cleanup.push_async_callback(self.presence.leave_quietly)
        await self.accept()
        await self.send_requested_history(query)
        await self.presence.announce(joined)
        self.spawn(self.presence.keep_present())
        outage.recovered()

    async def admit_client(self) -> bool:
        """Count this socket against its client's cap; refuse it (and say why) if over."""
        self.client = budgets.admit(client_address(self.scope))
        if self.client is not None:
            self.cleanup.callback(budgets.release, self.client)
            return True
        # Accept first: a refused handshake cannot say why
        await self.accept()
        limit = f"at most {settings.CHAT_CLIENT_SOCKETS}"
        reason = f"too many connections from your address ({limit}); close one and reconnect"
        await self.refuse(frames.BadFrame(reason, frames.CLOSE_CLIENT_CAP, frames.CLIENT_CAP))
        return False

    async def disconnect(self, close_code):
        # Leave room group
        await self.group_leave_all()
        await self.presence.leave()

    # Receive message from WebSocket
    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = frames.read_client_frame(text_data)
        except frames.BadFrame as bad:
            await self.refuse(bad)
            return
        if isinstance(frame, frames.HistoryRequest):
            await self.send_history(frame, limited=True)
            return
        if isinstance(frame, frames.Typing):
            await self.presence.say_typing()
            return
        if not self.rate_limit.allow():
            limit = f"at most {self.rate_limit.rate:g} messages a second"
            await self.refuse(
                frames.BadFrame(
                    f"too many messages ({limit}); this one was not sent",
                    code=frames.RATE_LIMITED,
                )
            )
            return
        if not self.client.allow_message():
            await self.refuse(
                frames.BadFrame(
                    "too many messages from your address; this one was not sent",
                    code=frames.RATE_LIMITED,
                )
            )
            return

        # Save first: a message the room hears about is one that history can give back
        try:
            event = await self.history.save(self.author, frame)
        except NotSaved as failure:
            await self.say_not_saved(failure)
            return

        # Send message to room group
        await self.channel_layer.group_send(self.room_group_name, {"type": "chat.message", **event})

    # Receive message from room group (without a hub: through this consumer's channel)
    async def chat_message(self, event):
        await self.group_event(self.room_group_name, event)

    # Who is in the room, and who is typing, from the presence group (without a hub too)
    async def chat_presence(self, event):
        await self.group_event(self.presence.group, event)

    chat_typing = chat_presence

    # The user signed out (without a hub too)
    async def chat_signed_out(self, event):
        await self.group_event(SIGN_OUTS, event)

    async def send_requested_history(self, query: bytes) -> None:
        """Answer the socket URL's ?after_seq=, ?after= or ?recent=; without them, nothing."""
        try:
            request = frames.read_history_query(query)
        except frames.BadFrame as bad:
            await self.refuse(bad)
            return
        if request is not None:
            await self.send_history(request)

    async def send_history(self, request: frames.HistoryRequest, limited: bool = False) -> None:
        if limited and not self.history_limit.allow():
            await self.refuse(
                frames.BadFrame(
                    "too many history requests; wait a moment", code=frames.HISTORY_LIMITED
                )
            )
            return
        try:
            # The client's turn: one page at a time per address, within its byte budget
            async with self.client.history_page() as charge:
                page = await self.history.page(request)
                charge(len(page.encode()))
        except budgets.OverBudget as over:
            await self.refuse(over)
            return
        await self.send(text_data=page)

    async def say_not_saved(self, failure: NotSaved) -> None:
        """Tell the sender alone that its message is not saved; the socket stays open."""
        count(frames.NOT_SAVED)
        reason = f"your message was not saved ({failure}), so no one got it; send it again"
        await self.send(text_data=frames.error_frame(reason, frames.NOT_SAVED, retry=True))

    async def refuse(self, bad: frames.BadFrame) -> None:
        """Answer a bad frame only to its sender: an error frame, then a close if it must."""
        logger.info("Refused a frame in room %r: %s", self.room_name, bad)
        count(bad.code)
        # The error frame comes first because daphne does not pass close reasons on
        retry_after = getattr(bad, "retry_after", None)
        await self.send(text_data=frames.error_frame(str(bad), bad.code, retry_after=retry_after))
        if bad.close_code is not None:
            await self.close(code=bad.close_code)


class RefuseConsumer(AsyncWebsocketConsumer):
    """Refuses the handshake (an HTTP 403) for WebSocket paths that name no valid room."""

    async def connect(self):
        await self.close()
