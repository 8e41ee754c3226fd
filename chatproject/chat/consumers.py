"""The chat consumer: the tutorial's ChatConsumer, async, and careful with what it is sent."""

import logging
from datetime import UTC, datetime

from channels.generic.websocket import AsyncWebsocketConsumer

from . import frames
from .rooms import group_name_for

logger = logging.getLogger(__name__)


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        # The URL route has already checked the room name (see rooms.RoomNameConverter)
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = group_name_for(self.room_name)

        # Join room group
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)

        await self.accept()

    async def disconnect(self, close_code):
        # Leave room group
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    # Receive message from WebSocket
    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = frames.read_chat_message(text_data, bytes_data)
        except frames.BadFrame as bad:
            await self.refuse(bad)
            return

        # Send message to room group
        await self.channel_layer.group_send(
            self.room_group_name,
            {
                "type": "chat.message",
                "message": message,
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            },
        )

    # Receive message from room group
    async def chat_message(self, event):
        # Send message to WebSocket
        await self.send(
            text_data=frames.encode(
                {
                    "type": "message",
                    "message": event["message"],
                    "room": self.room_name,
                    "time": event["time"],
                }
            )
        )

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
