"""Say, once at start-up, which channel layer this server process uses."""

import logging
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)


def log_channel_layer() -> None:
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    if backend.endswith("InMemoryChannelLayer"):
        # Chosen on purpose (a benchmark, say) even though Redis is there, or for want of it
        advice = (
            "CHAT_CHANNEL_LAYER=memory chose it although REDIS_URL is set."
            if settings.REDIS_URL
            else "Set REDIS_URL (for example redis://127.0.0.1:6379/0) to chat across processes."
        )
        logger.warning("Channel layer: in-memory, so only this one process can chat. %s", advice)
    else:
        name = backend.rsplit(".", 1)[-1]
        logger.info("Channel layer: %s at %s", name, redacted(settings.REDIS_URL))


def redacted(url: str) -> str:
    """The URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
