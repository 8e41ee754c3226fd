"""The exercise checks accept the right answers and explain wrong ones."""

import pytest

from tests.helpers import assert_japanese
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


class TestInJapanese:
    """What the Japanese edition prints for the same mistakes."""

    @pytest.mark.parametrize("answer", [None, "1.0.0"])
    def test_a_wrong_version_is_explained(self, answer, redis_url, japanese, capsys):
        """No answer yet, or a made-up version, gets the hint in Japanese."""
        assert not check_redis_version(answer, redis_url)
        assert_japanese(capsys.readouterr().out)

    def test_the_right_version_is_praised(self, redis_url, japanese, capsys):
        """The ✓ line names the version in Japanese."""
        import redis

        version = redis.Redis.from_url(redis_url).info("server")["redis_version"]
        assert check_redis_version(version, redis_url)
        assert_japanese(capsys.readouterr().out)

    @pytest.mark.parametrize(
        "answer",
        [
            None,
            '{"message": "hello"}',
            {**TestReplyFrame.FRAME, "room": "demoroom"},
            {**TestReplyFrame.FRAME, "message": "bye"},
            ["hello"],
        ],
    )
    def test_a_wrong_frame_is_explained(self, answer, japanese, capsys):
        """No answer, raw text, another room, another message or type, in Japanese."""
        assert not check_reply_frame(answer, "雑談", "hello")
        assert_japanese(capsys.readouterr().out)
