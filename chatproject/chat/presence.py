"""Who is in a room right now, shared by every server process that serves the room.

Each open socket is one entry, refreshed by its consumer three times per TTL and
forgotten TTL seconds (settings.CHAT_PRESENCE_TTL) after its last refresh: a process that
crashes without saying goodbye leaves no ghosts for longer than that. With the Redis
channel layer the entries live in Redis (one sorted set per room, scored by expiry time), so
every process sees every socket; with the in-memory layer, which serves one process only,
they live in that process.

Every change bumps a per-room version number, read in the same atomic step as the entries,
so a consumer that hears about two changes out of order keeps the newer one.
"""

import asyncio
import json
import time
import weakref
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio
import redis.exceptions
from django.conf import settings
from redis.driver_info import DriverInfo

# Seconds an entry lives without a refresh (settings.CHAT_PRESENCE_TTL)
DEFAULT_TTL = 30.0
# Connections to Redis per process and event loop, and how long a command may wait
POOL_SIZE = 100
REDIS_TIMEOUT = 10.0


@dataclass(frozen=True)
class Snapshot:
    """The room's people at one version; changed says whether this step altered them.

    names is None when nothing changed: nobody needs them then, and reading a busy room's
    entries on every socket's heartbeat was most of a thousand idle sockets' CPU time.
    """

    version: int
    names: list[str] | None
    changed: bool


class PresenceStore(Protocol):
    ttl: float

    async def join(self, room: str, socket: str, name: str) -> Snapshot: ...
    async def refresh(self, room: str, socket: str, name: str) -> Snapshot: ...
    async def leave(self, room: str, socket: str, name: str) -> Snapshot: ...


def names_in(members) -> list[str]:
    """Each person once, in order (two tabs of one user are one person)."""
    return sorted({json.loads(member)[0] for member in members})


def member(socket: str, name: str) -> str:
    return json.dumps([name, socket], ensure_ascii=False)


# KEYS: the room's entries (a sorted set) and its version counter.
# ARGV: "join", "refresh" or "leave"; the entry; the TTL in seconds.
# Redis's own clock scores the entries, so processes on hosts with skewed clocks agree.
_UPDATE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local ttl = tonumber(ARGV[3])
local changed = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] == 'leave' then
    changed = changed + redis.call('ZREM', KEYS[1], ARGV[2])
else
    -- A refresh can add the entry back too: after a Redis restart, or a long pause
    changed = changed + redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
end
local version
if changed > 0 then
    version = redis.call('INCR', KEYS[2])
else
    version = tonumber(redis.call('GET', KEYS[2]) or '0')
end
redis.call('EXPIRE', KEYS[1], math.ceil(ttl * 2))
redis.call('EXPIRE', KEYS[2], math.ceil(ttl * 2))
local names = {}
if changed > 0 then
    -- Each person once, decoded here: a room of a thousand sockets of a few people sends
    -- back a few names, not a thousand entries
    local seen = {}
    for _, entry in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
        local name = cjson.decode(entry)[1]
        if not seen[name] then
            seen[name] = true
            table.insert(names, name)
        end
    end
end
return {version, changed, names}
"""


_DRIVER_INFO = DriverInfo()


class RedisPresence:
    """Entries in Redis: every process serving the room sees every socket."""

    prefix = "chat:presence:"

    def __init__(self, url: str, ttl: float = DEFAULT_TTL) -> None:
        self.url = url
        self.ttl = ttl
        # One client per event loop: a redis.asyncio connection belongs to the loop it was
        # made in (daphne has one loop; tests make one per test)
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url,
                # A burst of joins waits its turn for a connection instead of failing
                max_connections=POOL_SIZE,
                timeout=REDIS_TIMEOUT,
                socket_connect_timeout=REDIS_TIMEOUT,
                # As the channel layer's: a server too busy to read a reply for a few seconds
                # is not a Redis outage
                socket_timeout=REDIS_TIMEOUT,
                # One immediate retry: after a Redis restart the pooled connection is dead
                retry_on_error=[redis.exceptions.ConnectionError],
                # Its version looked up once, not per new connection (see settings.py)
                driver_info=_DRIVER_INFO,
            )
            self._clients[loop] = redis.asyncio.Redis(connection_pool=pool)
        return self._clients[loop]

    async def _update(self, action: str, room: str, socket: str, name: str) -> Snapshot:
        keys = [f"{self.prefix}{room}", f"{self.prefix}{room}:version"]
        args = [action, member(socket, name), self.ttl]
        version, changed, names = await self._client().eval(_UPDATE, len(keys), *keys, *args)
        people = sorted(name.decode() for name in names) if changed else None
        return Snapshot(int(version), people, changed > 0)

    async def join(self, room: str, socket: str, name: str) -> Snapshot:
        return await self._update("join", room, socket, name)

    async def refresh(self, room: str, socket: str, name: str) -> Snapshot:
        return await self._update("refresh", room, socket, name)

    async def leave(self, room: str, socket: str, name: str) -> Snapshot:
        return await self._update("leave", room, socket, name)


class LocalPresence:
    """Entries in this process, for the in-memory channel layer (one process only)."""

    def __init__(self, ttl: float = DEFAULT_TTL, clock=time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[str, dict[str, float]] = {}
        self._versions: dict[str, int] = {}

    def _update(self, action: str, room: str, socket: str, name: str) -> Snapshot:
        now = self.clock()
        entries = self._entries.setdefault(room, {})
        expired = [key for key, expires in entries.items() if expires <= now]
        for key in expired:
            del entries[key]
        changed = len(expired)
        key = member(socket, name)
        if action == "leave":
            changed += entries.pop(key, None) is not None
        else:
            changed += key not in entries
            entries[key] = now + self.ttl
        if changed:
            self._versions[room] = self._versions.get(room, 0) + 1
        if not entries:
            del self._entries[room]
        names = names_in(entries) if changed else None
        return Snapshot(self._versions.get(room, 0), names, changed > 0)

    async def join(self, room: str, socket: str, name: str) -> Snapshot:
        return self._update("join", room, socket, name)

    async def refresh(self, room: str, socket: str, name: str) -> Snapshot:
        return self._update("refresh", room, socket, name)

    async def leave(self, room: str, socket: str, name: str) -> Snapshot:
        return self._update("leave", room, socket, name)


_stores: dict[str, PresenceStore] = {}


def presence_store(layer_alias: str = "default") -> PresenceStore:
    """The store that matches the channel layer: Redis when the layer is Redis."""
    layer = settings.CHANNEL_LAYERS[layer_alias]
    hosts = layer.get("CONFIG", {}).get("hosts") or [""]
    url = hosts[0] if layer["BACKEND"].startswith("channels_redis") else ""
    if isinstance(url, dict):  # channels_redis also takes {"address": url, ...}
        url = url.get("address", "")
    if url not in _stores:
        ttl = getattr(settings, "CHAT_PRESENCE_TTL", DEFAULT_TTL)
        _stores[url] = RedisPresence(url, ttl) if url else LocalPresence(ttl)
    return _stores[url]
