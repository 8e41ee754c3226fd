"""Checks for notebook 00 (welcome and setup check)."""

import redis

from ..checks import Mistake, Verdict, check_answer
from ..i18n import _
from .frames import find_frame_mistake


def check_redis_version(answer: object, redis_url: str, must_pass: bool = False) -> Verdict:
    """Exercise 00.1: the version string of the Redis server at redis_url."""
    client = redis.Redis.from_url(redis_url)
    actual = client.info("server")["redis_version"]
    client.close()
    hint = _(
        "ask the server: r.info('server') is a dict of facts about it; one key holds the version"
    )

    def find_mistake(version: object) -> None:
        if version != actual:
            raise Mistake(hint)

    return check_answer(
        answer,
        find_mistake,
        must_pass,
        if_none=hint,
        well_done=_("Correct: this Redis is version {version}.", version=actual),
    )


def check_reply_frame(answer: object, room: str, message: str, must_pass: bool = False) -> Verdict:
    """Exercise 00.2: the parsed frame the chat sent back for a message in a room."""

    return check_answer(
        answer,
        lambda frame: find_frame_mistake(frame, message, room),
        must_pass,
        hint=_(
            'send {{"message": "{text}"}} in room {room} and json.loads() what comes back',
            text=message,
            room=room,
        ),
    )
