from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import pre_save
from django.urls import register_converter


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self):
        from .rooms import RoomNameConverter
        from .signout import on_logged_out, on_user_saved

        # <room:room_name> in urls.py and routing.py: a valid room name, else no match (404)
        register_converter(RoomNameConverter, "room")
        # A log-out or a new password closes the user's open sockets (chat/signout.py)
        user_logged_out.connect(on_logged_out, dispatch_uid="chat.signout.logged_out")
        pre_save.connect(
            on_user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="chat.signout.user_saved"
        )
