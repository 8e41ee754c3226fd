"""The blog's asgi.py around the blog's consumer, on the chat project's settings.

Run it like the chat: ``daphne benchmarks.blog_asgi:application`` from chatproject/ with the
repository on PYTHONPATH.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from benchmarks.blog_consumer import ChatConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AuthMiddlewareStack(
            URLRouter([re_path(r"ws/chat/(?P<room_name>\w+)/$", ChatConsumer.as_asgi())])
        ),
    }
)
