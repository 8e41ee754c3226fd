"""Checks for notebook 00 (welcome and setup check)."""

import redis

from ..checks import Verdict, check_value


def check_redis_version(answer: object, redis_url: str, must_pass: bool = False) -> Verdict:
    """Exercise 00.1: the version string of the Redis server at redis_url."""
    client = redis.Redis.from_url(redis_url)
    actual = client.info("server")["redis_version"]
    client.close()
    return check_value(
        answer,
        lambda value: value == actual,
        "ask the server: r.info('server') is a dict of facts about it; one key holds the version",
        must_pass,
        well_done=f"Correct: this Redis is version {actual}.",
    )


def check_reply_frame(answer: object, room: str, message: str, must_pass: bool = False) -> Verdict:
    """Exercise 00.2: the parsed frame the chat sent back for a message in a room."""

    def is_right(frame) -> bool:
        assert isinstance(frame, dict), f"reply is a {type(frame).__name__}; use json.loads()"
        assert frame.get("room") == room, f"the frame is from room {frame.get('room')!r}"
        assert frame.get("message") == message, f"the message is {frame.get('message')!r}"
        return True

    return check_value(
        answer,
        is_right,
        f'send {{"message": "{message}"}} in room {room} and json.loads() what comes back',
        must_pass,
    )
