"""The exercise checks accept the right answers and explain wrong ones."""

import pytest

from workbook.checks import ExerciseFailed
from workbook.exercises.welcome import check_redis_version, check_reply_frame


class TestRedisVersion:
    def test_right_version_passes(self, redis_url):
        """The server's own version string passes."""
        import redis

        version = redis.Redis.from_url(redis_url).info("server")["redis_version"]
        assert check_redis_version(version, redis_url, must_pass=True)

    def test_wrong_version_fails_in_a_solution(self, redis_url):
        """A made-up version fails a solution cell."""
        with pytest.raises(ExerciseFailed, match="r.info"):
            check_redis_version("1.0.0", redis_url, must_pass=True)


class TestReplyFrame:
    FRAME = {"type": "message", "message": "hello", "room": "雑談"}

    def test_the_parsed_frame_passes(self):
        """The parsed frame from the right room with the right message passes."""
        assert check_reply_frame(dict(self.FRAME), "雑談", "hello", must_pass=True)

    @pytest.mark.parametrize(
        ("answer", "says"),
        [
            ('{"message": "hello"}', "json.loads"),
            ({**FRAME, "room": "demoroom"}, "from room 'demoroom', not '雑談'"),
            ({**FRAME, "message": "bye"}, "carries 'bye', not 'hello'"),
            (["hello"], "a list, not a dict"),
        ],
    )
    def test_wrong_answers_are_explained(self, answer, says, capsys):
        """A raw string, another room or another message is explained."""
        assert not check_reply_frame(answer, "雑談", "hello")
        assert says in capsys.readouterr().out
