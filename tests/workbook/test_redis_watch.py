"""The MONITOR capture and the condition wait that notebook 05 uses."""

import threading

import pytest
import redis

from tests.helpers import assert_japanese
from workbook.redis_watch import Command, MonitorCapture, wait_until, watch_redis


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    # Connected now, so that captures do not contain its handshake
    client.ping()
    yield client
    client.close()


class TestMonitorCapture:
    def test_captures_commands_in_order(self, redis_url, client):
        """Commands of another client between start and stop are captured, oldest first."""
        monitor = watch_redis(redis_url)
        client.set("watch:a", "1")
        client.get("watch:a")
        texts = [command.text for command in monitor.stop() if "watch:a" in command.text]
        assert texts == ["SET watch:a 1", "GET watch:a"]

    def test_leaves_out_its_own_commands(self, redis_url, client):
        """The capture's end marker and its connection's handshake are not in the result."""
        with MonitorCapture(redis_url) as monitor:
            client.set("watch:b", "1")
        assert [command.text for command in monitor.commands] == ["SET watch:b 1"]

    def test_waits_for_a_late_command(self, redis_url, client):
        """stop(until=...) waits for a command another thread sends a moment later."""
        monitor = watch_redis(redis_url)
        threading.Timer(0.2, client.delete, args=["watch:c"]).start()
        monitor.stop(until="DEL watch:c")
        assert monitor.lines(containing="DEL watch:c")

    def test_waits_for_several(self, redis_url, client):
        """stop(until=..., count=n) waits until n commands contain the text."""
        monitor = watch_redis(redis_url)
        for delay in (0.1, 0.3):
            threading.Timer(delay, client.incr, args=["watch:d"]).start()
        monitor.stop(until="INCRBY", count=2)
        assert len(monitor.lines(containing="INCRBY watch:d")) == 2

    def test_a_command_that_never_comes_times_out(self, redis_url):
        """Waiting for a command nobody sends ends with TimeoutError, not a hang."""
        monitor = watch_redis(redis_url)
        with pytest.raises(TimeoutError, match="fewer than 1 times"):
            monitor.stop(until="NEVER-SENT", timeout=0.2)

    def test_the_timeout_is_explained_in_japanese(self, redis_url, japanese):
        """The Japanese edition says in Japanese which command never came."""
        monitor = watch_redis(redis_url)
        with pytest.raises(TimeoutError) as timeout:
            monitor.stop(until="NEVER-SENT", timeout=0.2)
        assert_japanese(str(timeout.value))
        assert "'NEVER-SENT'" in str(timeout.value)

    def test_limit_bounds_the_capture(self, redis_url, client):
        """After `limit` commands the capture ends by itself."""
        monitor = MonitorCapture(redis_url, limit=3).start()
        for n in range(6):
            client.set(f"watch:e{n}", n)
        assert len(monitor.stop()) == 3

    def test_script_commands_come_from_lua(self, redis_url, client):
        """Commands a Lua script runs show as client 'lua', the script on one line."""
        monitor = watch_redis(redis_url)
        client.eval("\n  return redis.call('SET', KEYS[1], 'x')\n", 1, "watch:f")
        commands = monitor.stop()
        assert any(c.client == "lua" and c.text == "SET watch:f x" for c in commands)
        assert any(c.text.startswith("EVAL  return redis.call") for c in commands)

    def test_keys_keeps_the_commands_about_those_keys(self, redis_url, client):
        """With keys, a capture keeps the commands that name such a key and their connection's
        MULTI and EXEC; another connection's commands and its script's are left out."""
        other = redis.Redis.from_url(redis_url)
        other.ping()
        monitor = watch_redis(redis_url, keys="watch:g")
        other.set("elsewhere:g", "1")
        other.eval("return redis.call('DEL', KEYS[1])", 1, "elsewhere:g")
        with client.pipeline() as pipe:
            pipe.set("watch:g", "1").expire("watch:g", 5).execute()
        client.eval("return redis.call('DEL', KEYS[1])", 1, "watch:g")
        texts = [command.text for command in monitor.stop(until="DEL watch:g")]
        other.close()
        assert texts == [
            "MULTI",
            "SET watch:g 1",
            "EXPIRE watch:g 5",
            "EXEC",
            "EVAL return redis.call('DEL', KEYS[1]) 1 watch:g",
            "DEL watch:g",
        ]

    def test_keys_counts_only_the_kept_commands(self, redis_url, client):
        """stop(until=...) waits for commands about the keys, not for others that match."""
        monitor = watch_redis(redis_url, keys="watch:h")
        client.delete("elsewhere:h")
        with pytest.raises(TimeoutError):
            monitor.stop(until="DEL", timeout=0.2)


class TestCommand:
    def test_long_lines_are_cut(self):
        """A command longer than the width ends in an ellipsis at exactly that width."""
        line = str(Command(0.0, "lua", "ZADD key " + "x" * 200, width=60))
        assert len(line) == 60
        assert line.endswith("…")

    def test_short_lines_stay_whole(self):
        """A short command prints with its time and client."""
        assert str(Command(1.5, "lua", "DEL key")) == " 1.500 s              lua  DEL key"


class TestWaitUntil:
    def test_returns_the_seconds_waited(self):
        """A condition that turns true is waited for, and the time it took returned."""
        flag = threading.Event()
        threading.Timer(0.1, flag.set).start()
        assert 0.05 < wait_until(flag.is_set, timeout=5) < 5

    def test_times_out(self):
        """A condition that stays false ends in TimeoutError."""
        with pytest.raises(TimeoutError, match="still false"):
            wait_until(lambda: False, timeout=0.1)

    def test_times_out_in_japanese(self, japanese):
        """The Japanese edition says so in Japanese."""
        with pytest.raises(TimeoutError) as timeout:
            wait_until(lambda: False, timeout=0.1)
        assert_japanese(str(timeout.value))
