"""The chat's channel layer, and the line that names it at start-up.

ChatRedisLayer is channels-redis's RedisChannelLayer with three changes:

- group_send counts what it drops. Past a channel's capacity channels-redis drops the
  message and only logs it at INFO; here every such drop is counted as ``over_capacity``
  (chat/counters.py), so that the count shows when a room lost live messages (which
  history still has).
- A room hub reads its own channel many messages at a time (receive_many). A hub's channel
  is a plain channel, not a process-specific one ("specific.<process>!…", which all of a
  process's channels share one Redis queue for, and so one capacity): each room's hub has
  its own queue and capacity, and a burst in one room neither fills another room's nor
  makes it wait behind the burst.
- group_renew is group_add that says whether the channel was still in the group. After a
  Sentinel failover the new primary lacks the last writes the old one took; a hub that
  joined its room just before hears nothing from then on, and this is how it finds out
  (chat/hub.py).

settings.py sizes the layer (capacity, expiry) and says why.
"""

import logging
import time
from urllib.parse import urlsplit

from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.utils.module_loading import import_string

from chat.counters import count
from chat.frames import OVER_CAPACITY
from chatproject.sentinel import is_sentinel_url, parse_sentinel_url

logger = logging.getLogger(__name__)

# channels-redis's script for group_send (4.3): a message goes to each channel's queue
# unless the queue is full; it returns how many were full
GROUP_SEND = """
local over_capacity = 0
local current_time = ARGV[#ARGV - 1]
local expiry = ARGV[#ARGV]
for i=1,#KEYS do
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


class ChatRedisLayer(RedisChannelLayer):
    """RedisChannelLayer whose group_send counts its drops, with a batch read for hubs and
    a renewal that says whether Redis had lost a membership."""

    async def group_send(self, group, message):
        """channels-redis's group_send, step for step, counting the channels over capacity."""
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        # Forget members that were not renewed within group_expiry
        await connection.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        channels = [name.decode("utf8") for name in await connection.zrange(key, 0, -1)]
        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channels, message
        )
        for index, keys in by_connection.items():
            over = await self.send_to_keys(index, keys, messages, capacities)
            if over:
                # Not a log line each: a full queue stays full for many messages, and the
                # summary line a minute says it once (chat/counters.py)
                count(OVER_CAPACITY, over)

    async def send_to_keys(self, index: int, keys: list, messages: dict, capacities: dict) -> int:
        """Add a message to each channel's queue on one Redis; how many queues were full."""
        connection = self.connection(index)
        # Messages older than expiry go first: nobody read them in time
        pipe = connection.pipeline()
        for key in keys:
            pipe.zremrangebyscore(key, min=0, max=int(time.time()) - int(self.expiry))
        await pipe.execute()
        args = [messages[key] for key in keys] + [capacities[key] for key in keys]
        return await connection.eval(GROUP_SEND, len(keys), *keys, *args, time.time(), self.expiry)

    async def group_renew(self, group: str, channel: str) -> bool:
        """group_add that says whether Redis still had channel in group (False: it had not).

        Redis replicates asynchronously: after a failover the new primary lacks the last
        writes the old one took, a hub's membership among them, and nothing else says so.
        """
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        # One round trip: every hub of every room does this every few seconds
        pipe = connection.pipeline(transaction=False)
        pipe.zadd(key, {channel: time.time()})
        pipe.expire(key, self.group_expiry)
        added, _ = await pipe.execute()
        return not added

    async def receive_many(self, channel: str, most: int) -> list[dict]:
        """Up to most messages from a plain channel, oldest first; waits for the first.

        One round trip for a batch, where receive() takes four for each message. What it
        took is gone from Redis, so this is for a reader that does not give up on its
        messages: a hub stops only when its last socket has left or Redis failed, and
        then its sockets catch up from history.
        """
        assert "!" not in channel, "receive_many() reads plain channels only"
        connection = self.connection(self.consistent_hash(channel))
        key = self.prefix + channel
        popped = await connection.zpopmin(key, most)
        while not popped:
            # Nothing waiting: block at Redis until something is
            found = await connection.bzpopmin(key, timeout=self.brpop_timeout)
            popped = [found[1:]] if found else []
        return [self.unpacked(content) for content, _ in popped]

    def unpacked(self, content: bytes) -> dict:
        message = self.deserialize(content)
        message.pop("__asgi_channel__", None)
        return message


def log_channel_layer() -> None:
    """Say, once at start-up, which channel layer this server process uses."""
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
        logger.info("Channel layer: %s %s", library_name(backend), where(settings.REDIS_URL))


def where(url: str) -> str:
    """Where the layer finds Redis, without passwords: at the URL, or through Sentinel."""
    if is_sentinel_url(url):
        return parse_sentinel_url(url).describe()
    return f"at {redacted(url)}"


def library_name(backend: str) -> str:
    """The channels-redis class a backend is or is made from (RedisChannelLayer for ours)."""
    layer = import_string(backend)
    return next(
        (kind.__name__ for kind in layer.__mro__ if kind.__module__.startswith("channels_redis")),
        layer.__name__,
    )


def redacted(url: str) -> str:
    """The URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
