"""The chat consumer: the tutorial's ChatConsumer, async, with memory and manners.

The steps of the tutorial stay visible (join the group, accept, group_send, chat_message);
parsing, storage and limits live in frames.py, history.py and limits.py.
"""

import logging

from channels.generic.websocket import AsyncWebsocketConsumer

from . import frames, history
from .authors import author_for
from .limits import MESSAGES_PER_SECOND, RateLimit
from .rooms import group_name_for

logger = logging.getLogger(__name__)


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        # The URL route has already checked the room name (see rooms.RoomNameConverter)
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = group_name_for(self.room_name)
        self.author = author_for(self.scope)
        self.rate_limit = RateLimit()
        self.room = await history.aroom_named(self.room_name)

        # Join room group. Before reading history: a message saved in between then arrives
        # twice (the page drops the repeated id) rather than never.
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)

        await self.accept()
        await self.send_requested_history()

    async def disconnect(self, close_code):
        # Leave room group
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    # Receive message from WebSocket
    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = frames.read_client_frame(text_data, bytes_data)
        except frames.BadFrame as bad:
            await self.refuse(bad)
            return
        if isinstance(frame, frames.HistoryRequest):
            await self.send_history(frame)
            return
        if not self.rate_limit.allow():
            limit = f"at most {MESSAGES_PER_SECOND:g} messages a second"
            await self.refuse(
                frames.BadFrame(f"too many messages ({limit}); this one was not sent")
            )
            return

        # Save first: a message the room hears about is one that history can give back
        event = await history.asave_message(self.room, self.author, frame)

        # Send message to room group
        await self.channel_layer.group_send(self.room_group_name, {"type": "chat.message", **event})

    # Receive message from room group
    async def chat_message(self, event):
        # Send message to WebSocket
        frame = frames.message_frame(event, self.room_name)
        await self.send(text_data=frames.encode(frame))

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
