from django.urls import path, re_path

from . import consumers

websocket_urlpatterns = [
    path("ws/chat/<room:room_name>/", consumers.ChatConsumer.as_asgi(), name="room"),
    # Anything else (an empty or too-long room name, a typo) is refused cleanly, not a crash
    re_path(r"", consumers.RefuseConsumer.as_asgi()),
]
