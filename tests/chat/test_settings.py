"""The settings read the environment: which channel layer, and a clear error for a wrong one.

Each test imports the settings in a fresh process, as a server would at start-up.
"""

import json
import os
import subprocess
import sys

import pytest

from workbook import CHATPROJECT_DIR

REDIS_URL = "redis://127.0.0.1:1/0"  # never connected to: only read

# The layer's backend and hosts, and the presence store that goes with it; the start-up
# log line goes to stderr
SHOW_LAYER = """
import json, django
django.setup()
from django.conf import settings
from chat.presence import presence_store
from chatproject.layers import log_channel_layer
log_channel_layer()
layer = settings.CHANNEL_LAYERS["default"]
hosts = layer.get("CONFIG", {}).get("hosts", [{}])
keys = sorted(hosts[0]) if isinstance(hosts[0], dict) else []
print(json.dumps([layer["BACKEND"], keys, type(presence_store()).__name__]))
"""


def settings_process_env() -> dict[str, str]:
    """This environment without the variables that choose a layer."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("REDIS_URL", "CHAT_CHANNEL_LAYER", "DJANGO_SETTINGS_MODULE")
    }
    environment["DJANGO_SETTINGS_MODULE"] = "chatproject.settings"
    return environment


def settings_process(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SHOW_LAYER],
        cwd=CHATPROJECT_DIR,
        env={**settings_process_env(), **env},
        capture_output=True,
        text=True,
    )


def layer_of(**env: str) -> tuple[str, list[str], str, str]:
    """The backend, its host's keys, the presence store's class and the start-up log."""
    result = settings_process(**env)
    assert result.returncode == 0, result.stderr
    return (*json.loads(result.stdout), result.stderr)


HOST_KEYS = [
    "address",
    "driver_info",
    "max_connections",
    "retry_on_error",
    "socket_connect_timeout",
    "socket_timeout",
]


@pytest.mark.parametrize(
    ("chosen", "backend_path", "library_class"),
    [
        (None, "chatproject.layers.ChatRedisLayer", "RedisChannelLayer"),
        ("pubsub", "channels_redis.pubsub.RedisPubSubChannelLayer", "RedisPubSubChannelLayer"),
    ],
    ids=["redis-by-default", "pubsub"],
)
def test_redis_layers_share_their_host_settings(chosen, backend_path, library_class):
    """REDIS_URL alone gives RedisChannelLayer (the chat's), pubsub the pub/sub one: same
    hosts, presence."""
    choice = {"CHAT_CHANNEL_LAYER": chosen} if chosen else {}
    backend, keys, presence, log = layer_of(REDIS_URL=REDIS_URL, **choice)
    assert backend == backend_path
    assert f"Channel layer: {library_class} at {REDIS_URL}" in log
    assert keys == HOST_KEYS
    assert presence == "RedisPresence"


SHOW_QUEUES = """
import django
django.setup()
from django.conf import settings
config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
print(config.get("capacity"), config.get("expiry"), settings.CHAT_LAYER_QUEUES)
"""


@pytest.mark.parametrize(
    ("env", "sized"),
    [
        ({"REDIS_URL": REDIS_URL}, "1000 120"),
        ({"REDIS_URL": REDIS_URL, "CHAT_CHANNEL_LAYER": "pubsub"}, "None None"),
        ({}, "1000 None"),
    ],
    ids=["redis", "pubsub-has-no-queues", "memory"],
)
def test_the_layers_queues_are_sized_in_one_place(env, sized):
    """CHAT_LAYER_QUEUES sizes RedisChannelLayer's queues, and the in-memory one's capacity."""
    result = subprocess.run(
        [sys.executable, "-c", SHOW_QUEUES],
        cwd=CHATPROJECT_DIR,
        env={**settings_process_env(), **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(sized + " {'capacity': 1000, 'expiry': 120}")


def test_memory_gives_the_in_memory_layer_even_with_redis():
    """CHAT_CHANNEL_LAYER=memory: one process only, presence in it too, and the log says why."""
    backend, _, presence, log = layer_of(REDIS_URL=REDIS_URL, CHAT_CHANNEL_LAYER="memory")
    assert backend == "channels.layers.InMemoryChannelLayer"
    assert presence == "LocalPresence"
    assert "only this one process can chat. CHAT_CHANNEL_LAYER=memory chose it" in log


def test_no_redis_url_gives_the_in_memory_layer_whatever_is_chosen():
    """Without REDIS_URL there is no Redis to use: in-memory, as before."""
    backend, _, _, log = layer_of(CHAT_CHANNEL_LAYER="pubsub")
    assert backend == "channels.layers.InMemoryChannelLayer"
    assert "Set REDIS_URL" in log


def test_an_unknown_layer_is_refused_with_the_choices():
    """A typo stops start-up with ImproperlyConfigured naming the valid values."""
    result = settings_process(REDIS_URL=REDIS_URL, CHAT_CHANNEL_LAYER="rabbit")
    assert result.returncode != 0
    assert "ImproperlyConfigured: CHAT_CHANNEL_LAYER='rabbit'" in result.stderr
    assert "redis (the default), pubsub or memory" in result.stderr
