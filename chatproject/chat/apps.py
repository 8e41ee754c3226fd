from django.apps import AppConfig
from django.urls import register_converter


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self):
        from .rooms import RoomNameConverter

        # <room:room_name> in urls.py and routing.py: a valid room name, else no match (404)
        register_converter(RoomNameConverter, "room")
