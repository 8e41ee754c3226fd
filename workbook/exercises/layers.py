"""Checks for notebook 05 (channel layers and group_send)."""

import asyncio
import json
from typing import Any

import redis
from websockets.exceptions import ConnectionClosed

from ..checks import Mistake, Verdict, acheck_answer, check_answer
from ..i18n import _


async def _frames_until(websocket: Any, text: str, timeout: float) -> tuple[list[dict], str]:
    """The frames a client received within timeout, and why reading stopped."""
    frames: list[dict] = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await websocket.recv())
                frames.append(frame)
                if frame.get("message") == text:
                    return frames, "found"
    except TimeoutError:
        return frames, "timeout"
    except ConnectionClosed:
        return frames, "closed"


async def check_lobby_announcement(
    event: object, lobby: Any, text: str, must_pass: bool = False, timeout: float = 1.0
) -> Verdict:
    """Exercise 05.1: the event sent with group_send reached the client in room lobby."""

    async def find_mistake(_event: object) -> None:
        frames, outcome = await _frames_until(lobby, text, timeout)
        if outcome == "found":
            return
        if outcome == "closed":
            raise Mistake(
                _(
                    "the lobby connection closed: the consumer failed on your event. It needs "
                    '"type": "chat.message" (handled by chat_message) and both "message" and '
                    '"time". Re-run the cell that opens `lobby`, then try again'
                )
            )
        if frames:
            got = [frame.get("message") for frame in frames]
            raise Mistake(
                _(
                    "the lobby client received {got}, not {text}: check the event's 'message'",
                    got=got,
                    text=repr(text),
                )
            )
        raise Mistake(
            _(
                "the lobby client received nothing within {seconds} s. Did you await "
                "channel_layer.group_send(...) with the group name chat_lobby (not the room "
                "name, not the Redis key)?",
                seconds=f"{timeout:g}",
            )
        )

    return await acheck_answer(
        event,
        find_mistake,
        must_pass,
        if_none=_("build the event dict and group_send it"),
        well_done=_("Correct: the lobby client received {text}.", text=repr(text)),
    )


def check_group_members(
    members: object, redis_url: str, room: str, must_pass: bool = False, prefix: str = "asgi"
) -> Verdict:
    """Exercise 05.2: the channel names in a room's group, as Redis holds them right now."""
    # chat is importable once setup_django() has put chatproject/ on sys.path
    from chat.rooms import group_name_for

    key = f"{prefix}:group:{group_name_for(room)}"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    actual = set(client.zrange(key, 0, -1))
    client.close()

    def find_mistake(answer: object) -> None:
        if isinstance(answer, str | bytes):
            raise Mistake(_("give the list of names, not one string"))
        names = list(answer)
        if any(isinstance(name, bytes) for name in names):
            raise Mistake(
                _(
                    "these are bytes: read them with the client r (decode_responses=True) "
                    "or .decode() them"
                )
            )
        if any(isinstance(name, tuple) for name in names):
            raise Mistake(_("these are (name, score) pairs: leave out withscores=True"))
        if len(names) != len(actual):
            raise Mistake(
                _(
                    "the group has {in_group} names, your list {in_list}: read the whole key",
                    in_group=len(actual),
                    in_list=len(names),
                )
            )
        if set(names) != actual:
            raise Mistake(_("these are not the names in the group of that room"))

    return check_answer(
        members,
        find_mistake,
        must_pass,
        hint=_(
            "list the keys asgi:group:*, find the one for room {room}, and ZRANGE it from 0 to -1",
            room=room,
        ),
        well_done=_("Correct: {key} holds {count} channel names.", key=key, count=len(actual)),
    )


def check_kept_messages(kept: object, capacity: int, sent: int, must_pass: bool = False) -> Verdict:
    """Exercise 05.3: which numbered messages a full channel kept when group_send went on."""
    expected = list(range(min(capacity, sent)))

    def find_mistake(answer: object) -> None:
        numbers = list(answer)
        if not numbers:
            raise Mistake(_("the list is empty: receive the messages waiting in the channel"))
        newest = list(range(sent - len(numbers), sent))
        if numbers == newest and numbers != expected:
            raise Mistake(
                _("these are the newest messages: a full channel keeps the ones it already has")
            )
        if len(numbers) > capacity:
            raise Mistake(_("a channel of capacity {capacity} holds no more", capacity=capacity))
        if numbers != expected:
            raise Mistake(_("you received {numbers}", numbers=numbers))

    return check_answer(
        kept,
        find_mistake,
        must_pass,
        hint=_(
            "group_send {sent} numbered messages without receiving, then receive the waiting ones",
            sent=sent,
        ),
        well_done=_(
            "Correct: the first {capacity} stayed; the other {dropped} were dropped "
            "without an error.",
            capacity=capacity,
            dropped=sent - capacity,
        ),
    )
