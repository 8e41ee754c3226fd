"""REDIS_URL through Sentinel: the URL read into the layer's host (or refused, saying why),
the start-up line without passwords, and the layer, presence and the chat working through a
real primary, replica and three Sentinels.

tests/e2e/test_sentinel.py kills the primary under a running daphne.
"""

import json
import os
import re
import subprocess
import sys
import uuid

import pytest

from chat.authors import GUEST_COOKIE, signed_guest_name
from chat.presence import RedisPresence
from chatproject.layers import ChatRedisLayer
from chatproject.redaction import without_passwords
from chatproject.sentinel import check_url, parse_sentinel_url, redis_host
from tests.helpers import PAGE_HEADERS, join, next_of_type, say
from workbook import CHATPROJECT_DIR

OPTIONS = {"socket_timeout": 10}
SENTINEL_OPTIONS = {"socket_timeout": 2}


class TestTheURL:
    def test_sentinels_a_master_and_a_database(self):
        """Each sentinel's host and port (26379 unless given), the master's name, the db."""
        url = "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380,sentinel-3/chat/2"
        parsed = parse_sentinel_url(url)
        assert parsed.sentinels == (
            ("10.0.0.1", 26379),
            ("10.0.0.2", 26380),
            ("sentinel-3", 26379),
        )
        assert (parsed.master_name, parsed.db) == ("chat", 2)

    def test_the_database_is_0_unless_given_and_ipv6_goes_in_brackets(self):
        parsed = parse_sentinel_url("REDIS+SENTINEL://[::1]:26379,[fd00::2]/mymaster")
        assert parsed.sentinels == (("::1", 26379), ("fd00::2", 26379))
        assert (parsed.master_name, parsed.db) == ("mymaster", 0)

    def test_the_primarys_credentials_and_the_sentinels_own(self):
        """user:password are the primary's, as in redis://; the Sentinels' go in the query."""
        url = "redis+sentinel://chat:p%40ss@h1,h2/mymaster/0?sentinel_password=t0p"
        parsed = parse_sentinel_url(url)
        assert parsed.credentials == {"username": "chat", "password": "p@ss"}
        assert parsed.sentinel_credentials == {"password": "t0p"}
        assert "p@ss" not in repr(parsed) and "t0p" not in repr(parsed)
        assert "p@ss" not in parsed.describe()

    @pytest.mark.parametrize(
        ("url", "said"),
        [
            ("redis+sentinel://h1:26379,h2:26379", "no master name"),
            ("redis+sentinel://h1:26379/", "no master name"),
            ("redis+sentinel://h1:263790/mymaster", "the port must be a number from 1 to 65535"),
            ("redis+sentinel://h1:port/mymaster", "the port must be a number"),
            ("redis+sentinel://h1,,h2/mymaster", "a sentinel without a host"),
            ("redis+sentinel:///mymaster", "a sentinel without a host"),
            ("redis+sentinel://::1:26379/mymaster", "an IPv6 address in brackets"),
            ("redis+sentinel://h1/mymaster/zero", "the database ('zero') must be a number"),
            ("redis+sentinel://h1/mymaster/0/1", "the master name and a database number only"),
            ("redis+sentinel://h1/mymaster?master=m", "unknown option master"),
            # Celery's form: one sentinel per URL, the master's name in another setting
            ("sentinel://h1:26379", "or redis+sentinel:// for Sentinels"),
            ("http://h1", "must specify one of the following schemes"),
        ],
    )
    def test_a_wrong_url_says_what_is_wrong(self, url, said):
        with pytest.raises(ValueError, match=re.escape(said)):
            check_url(url)

    def test_a_wrong_url_is_never_quoted(self):
        """The message names the wrong part only: the URL may hold a password."""
        with pytest.raises(ValueError) as refused:
            check_url("redis+sentinel://:s3cret@h1:bad/mymaster")
        assert "s3cret" not in str(refused.value)


class TestTheLayersHost:
    def test_one_server_is_an_address(self):
        assert redis_host("redis://h:6379/0", OPTIONS, SENTINEL_OPTIONS) == {
            "address": "redis://h:6379/0",
            "socket_timeout": 10,
        }

    def test_sentinels_are_the_host_channels_redis_takes_for_them(self):
        """sentinels, master_name and sentinel_kwargs for channels-redis; the rest for the
        connections to the primary."""
        url = "redis+sentinel://:pw@h1:26379,h2:26380/mymaster/1?sentinel_password=t0p"
        assert redis_host(url, OPTIONS, SENTINEL_OPTIONS) == {
            "sentinels": [("h1", 26379), ("h2", 26380)],
            "master_name": "mymaster",
            "sentinel_kwargs": {"socket_timeout": 2, "password": "t0p"},
            "db": 1,
            "password": "pw",
            "socket_timeout": 10,
        }


# The layer's host, the presence store's class and the start-up log of a server process
# started with this environment
SHOW_LAYER = """
import json, django
django.setup()
from django.conf import settings
from chat.presence import presence_store
from chatproject.layers import log_channel_layer
log_channel_layer()
host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
print(json.dumps([sorted(host), host["sentinels"], type(presence_store()).__name__]))
"""


def settings_process(redis_url: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatproject.settings"}
    environment.pop("CHAT_CHANNEL_LAYER", None)
    environment["REDIS_URL"] = redis_url
    return subprocess.run(
        [sys.executable, "-c", SHOW_LAYER],
        cwd=CHATPROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )


class TestTheSetting:
    def test_a_sentinel_url_gives_the_layer_and_presence_their_sentinels(self):
        """REDIS_URL alone: the layer's host names the Sentinels, presence is in Redis, and
        the start-up line says Sentinel, the master and the sentinels, not the passwords."""
        sentinels = "127.0.0.21:26379,127.0.0.22:26379,127.0.0.23:26379"
        url = f"redis+sentinel://:s3cret@{sentinels}/mymaster/0?sentinel_password=t0p"
        result = settings_process(url)
        assert result.returncode == 0, result.stderr
        keys, found, presence = json.loads(result.stdout)
        assert {"sentinels", "master_name", "sentinel_kwargs", "password"} <= set(keys)
        assert "address" not in keys
        assert found == [["127.0.0.21", 26379], ["127.0.0.22", 26379], ["127.0.0.23", 26379]]
        assert presence == "RedisPresence"
        shown = ", ".join(sentinels.split(","))
        line = "Channel layer: RedisChannelLayer through Sentinel: master mymaster, db 0, "
        assert f"{line}sentinels {shown}" in result.stderr
        assert "s3cret" not in result.stderr and "t0p" not in result.stderr

    def test_a_wrong_url_stops_start_up_saying_why(self):
        result = settings_process("redis+sentinel://:s3cret@h1,h2/")
        assert result.returncode != 0
        assert "ImproperlyConfigured: REDIS_URL: no master name" in result.stderr
        assert "s3cret" not in result.stderr


def sentinel_host(group) -> dict:
    """The chat's host for the group, as the settings make it from REDIS_URL."""
    return redis_host(group.url, OPTIONS, SENTINEL_OPTIONS)


@pytest.mark.live
class TestThroughSentinel:
    async def test_group_send_reaches_a_reader(self, sentinel_group):
        """The layer finds the primary through the Sentinels, and its keys are there."""
        layer = ChatRedisLayer(hosts=[sentinel_host(sentinel_group)], prefix=uuid.uuid4().hex)
        try:
            await layer.group_add("room", "hub.one")
            await layer.group_send("room", {"type": "chat.message", "text": "hello"})
            assert await layer.receive_many("hub.one", 10) == [
                {"type": "chat.message", "text": "hello"}
            ]
        finally:
            await layer.flush()

    async def test_presence_is_kept_on_the_primary(self, sentinel_group):
        store = RedisPresence(sentinel_host(sentinel_group), ttl=30)
        joined = await store.join("sentinel-room", "socket-a", "alice")
        assert (joined.names, joined.changed) == (["alice"], True)
        assert await store.names("sentinel-room") == ["alice"]
        left = await store.leave("sentinel-room", "socket-a", "alice")
        assert (left.names, left.version) == ([], joined.version + 1)

    @pytest.mark.django_db(transaction=True)
    async def test_the_chat_in_process(self, sentinel_group, settings):
        """Two guests in a room through the Sentinels: each sees the other, and a message."""
        host = sentinel_host(sentinel_group)
        layer = {"BACKEND": "chatproject.layers.ChatRedisLayer", "CONFIG": {"hosts": [host]}}
        settings.CHANNEL_LAYERS = {"default": layer}
        settings.CHAT_REDIS = host
        alice, bob = await guest("guest-alice"), await guest("guest-bob")
        try:
            while (await next_of_type(alice, "presence"))["users"] != ["guest-alice", "guest-bob"]:
                pass
            await say(bob, "hello through Sentinel")
            assert (await next_of_type(alice, "message"))["message"] == "hello through Sentinel"
        finally:
            for socket in (alice, bob):
                # A receive that timed out has already cancelled the application
                if not socket.future.done():
                    await socket.disconnect()


async def guest(name: str):
    """A socket in the room with presence, as a guest whose page set its name."""
    cookie = (b"cookie", f"{GUEST_COOKIE}={signed_guest_name(name)}".encode())
    return await join("sentinel-room", headers=[*PAGE_HEADERS, cookie], query="presence=1")


def test_error_pages_hide_both_passwords_of_a_sentinel_url():
    """The primary's password and the Sentinels' (a query option) are both blanked."""
    url = "redis+sentinel://:s3cret@h1:26379,h2:26379/mymaster/0?sentinel_password=t0p"
    assert without_passwords(url) == (
        "redis+sentinel://:***@h1:26379,h2:26379/mymaster/0?sentinel_password=***"
    )
