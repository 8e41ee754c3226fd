"""ASGI entry point: HTTP goes to Django, WebSockets to the chat consumers.

Run it with daphne (``daphne chatproject.asgi:application``) or ``manage.py runserver``.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")

# Django must be set up before anything imports models, so this comes first
from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

import chat.routing  # noqa: E402
from chatproject.layers import log_channel_layer  # noqa: E402
from chatproject.origin import SameOriginValidator  # noqa: E402
from chatproject.proxy import ProxyPrefix  # noqa: E402

if settings.DEBUG:
    # Serve the page's CSS and JS from daphne too, as runserver does (a deployment
    # collects them with collectstatic and serves them elsewhere)
    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Only pages of this very site (scheme, host and port) may open a socket (else 403)
        "websocket": SameOriginValidator(
            AuthMiddlewareStack(  # put the session's user on scope["user"]
                URLRouter(chat.routing.websocket_urlpatterns)
            )
        ),
    }
)

if settings.CHAT_PROXY_PREFIX:
    # Behind Jupyter's proxy (settings.py): every path under its prefix
    application = ProxyPrefix(application, settings.CHAT_PROXY_PREFIX)

log_channel_layer()
