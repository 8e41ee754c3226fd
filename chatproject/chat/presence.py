"""Who is in a room right now, shared by every server process that serves the room.

Each open socket is one entry, refreshed by its consumer three times per TTL and
forgotten TTL seconds (settings.CHAT_PRESENCE_TTL) after its last refresh: a process that
crashes without saying goodbye leaves no ghosts for longer than that. With Redis
(settings.CHAT_REDIS) the entries live there (one sorted set per room, scored by expiry
time), so every process sees every socket; with the in-memory layer, which serves one
process only, they live in that process.

Every change bumps a per-room version number, read in the same atomic step as the entries,
so a consumer that hears about two changes out of order keeps the newer one.

RoomPresence is one socket's part in it: join, heartbeat, typing notices, leave, each change
told to the room's presence group; PresenceFrames shows the group's events to its sockets.
"""

import asyncio
import contextlib
import json
import time
import weakref
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio
from django.conf import settings
from django.core.signals import setting_changed

from chatproject.sentinel import master_client

from . import frames
from .hub import Delivery
from .limits import Throttle
from .outage import REDIS_ERRORS, outage
from .rooms import presence_group_for

# Seconds an entry lives without a refresh (settings.CHAT_PRESENCE_TTL)
DEFAULT_TTL = 30.0

# A typing notice shows for this long on other pages; a typist sends one at most every
# third of it, so a steady typist's notice never flickers off
TYPING_SECONDS = 4.0


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
    async def names(self, room: str) -> list[str]: ...


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


class RedisPresence:
    """Entries in Redis: every process serving the room sees every socket."""

    prefix = "chat:presence:"

    def __init__(self, host: dict, ttl: float = DEFAULT_TTL, connections: int = 100) -> None:
        # A host as settings.CHAT_REDIS describes it, the channel layer's own
        self.host = host
        self.ttl = ttl
        self.connections = connections
        # One client per event loop: a redis.asyncio connection belongs to the loop it was
        # made in (daphne has one loop; tests make one per test)
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            self._clients[loop] = self._new_client()
        return self._clients[loop]

    def _new_client(self) -> redis.asyncio.Redis:
        """The layer's connections to the host, but a burst of updates waits for one of
        self.connections instead of opening more (see settings.CHAT_REDIS). Through
        Sentinel, to whichever server is the primary now."""
        # A command waits for a connection as long as for a reply
        pool = {"max_connections": self.connections, "timeout": self.host.get("socket_timeout")}
        if "address" not in self.host:
            return master_client(self.host, **pool)
        options = {key: value for key, value in self.host.items() if key != "address"}
        blocking = redis.asyncio.BlockingConnectionPool
        return redis.asyncio.Redis(
            connection_pool=blocking.from_url(self.host["address"], **options | pool)
        )

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

    async def names(self, room: str) -> list[str]:
        """Who is in the room (a crashed process's ghosts too, until they expire)."""
        return names_in(await self._client().zrange(f"{self.prefix}{room}", 0, -1))


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

    async def names(self, room: str) -> list[str]:
        """Who is in the room (a crashed process's ghosts too, until they expire)."""
        return names_in(self._entries.get(room, {}))


_store: PresenceStore | None = None


def presence_store() -> PresenceStore:
    """The store for settings.CHAT_REDIS: in Redis when the chat uses Redis, else local."""
    global _store
    if _store is None:
        ttl = getattr(settings, "CHAT_PRESENCE_TTL", DEFAULT_TTL)
        host = getattr(settings, "CHAT_REDIS", None)
        connections = settings.CHAT_REDIS_PRESENCE_CONNECTIONS
        _store = RedisPresence(host, ttl, connections) if host else LocalPresence(ttl)
    return _store


def forget_store(setting: str, **kwargs) -> None:
    """Settings changed (in a test): the next presence_store() follows them."""
    global _store
    if setting in ("CHAT_REDIS", "CHAT_REDIS_PRESENCE_CONNECTIONS", "CHAT_PRESENCE_TTL"):
        _store = None


setting_changed.connect(forget_store)


class PresenceFrames:
    """The presence group's events as frames: who is in the room, and who is typing."""

    def __init__(self, room_name: str) -> None:
        self.room_name = room_name
        self.version = -1

    def __call__(self, event: dict) -> Delivery | None:
        if event["type"] == "chat.typing":
            text = frames.typing_frame(event["author"], self.room_name, TYPING_SECONDS)
            # The typist's own pages know already
            return Delivery(text, skip=event["sender"])
        # Changes can arrive out of order from different processes: keep the newest
        if event["type"] == "chat.presence" and event["version"] > self.version:
            self.version = event["version"]
            return Delivery(frames.presence_frame(event["users"], self.room_name))
        return None


class RoomPresence:
    """One socket in its room's presence: it joins, stays, types and leaves, and the room's
    presence group hears of every change."""

    def __init__(self, layer, room_group: str, socket_id: str, name: str) -> None:
        self.layer = layer
        self.group = presence_group_for(room_group)
        self.store = presence_store()
        self.entry = (room_group, socket_id, name)
        self.typing = Throttle(TYPING_SECONDS / 3)
        self.joined = False

    async def join(self) -> Snapshot:
        snapshot = await self.store.join(*self.entry)
        self.joined = True
        return snapshot

    async def leave(self) -> None:
        """Leave (once, however often it is called) and tell the room."""
        if not self.joined:
            return
        self.joined = False
        await self.announce(await self.store.leave(*self.entry))

    async def leave_quietly(self) -> None:
        """leave() for a socket that ended without a disconnect (a crash in a handler).

        Redis may be what failed: then the entry expires by itself (CHAT_PRESENCE_TTL).
        """
        with contextlib.suppress(*REDIS_ERRORS):
            await self.leave()

    async def announce(self, snapshot: Snapshot) -> None:
        """Tell the room who is in it, when that changed."""
        if snapshot.changed:
            event = {"type": "chat.presence", "version": snapshot.version, "users": snapshot.names}
            await self.layer.group_send(self.group, event)

    async def keep_present(self) -> None:
        """Refresh this socket's entry until it leaves; announce expired ghosts."""
        while True:
            await asyncio.sleep(self.store.ttl / 3)
            if not self.joined:
                return
            try:
                await self.announce(await self.store.refresh(*self.entry))
            except REDIS_ERRORS as error:
                # The channel layer's own receive fails too and closes this socket
                outage.failed(error)

    async def say_typing(self) -> None:
        # Extra notices inside the throttle interval change nothing on the pages: drop them
        if self.typing.allow():
            room_group, socket_id, name = self.entry
            event = {"type": "chat.typing", "author": name, "sender": socket_id}
            await self.layer.group_send(self.group, event)
