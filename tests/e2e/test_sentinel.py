"""Redis with Sentinel under a running daphne: the primary is killed, the Sentinels promote
the replica, and the chat works again without a restart, presence too.

The test prints how long the failover and the chat's return took (pytest -s shows it).
"""

import asyncio

import pytest

from chat.outage import CLOSE_TRY_AGAIN_LATER
from tests.helpers import resume_after_failover
from workbook.chat_client import next_frame

pytestmark = pytest.mark.live

# From the kill to a message going from one socket to another again
RESUME_SECONDS = 10
# The whole test: one that cannot finish fails instead of hanging
SCENARIO_SECONDS = 60
ROOM = "sentinel-failover"


async def told_to_come_back(websocket) -> None:
    """The socket hears that Redis is out of reach, and is closed with "try again later"."""
    assert (await next_frame(websocket, "error"))["code"] == "unavailable"
    await websocket.wait_closed()
    assert websocket.close_code == CLOSE_TRY_AGAIN_LATER


async def test_the_chat_resumes_when_its_redis_primary_is_killed(start_chat_server, sentinel_group):
    """kill -9 the primary: Sentinel promotes the replica, and within 10 s a message sent on
    one socket reaches another again, on the same daphne; presence follows new people."""
    server = start_chat_server(redis=sentinel_group.url)
    assert "Channel layer: RedisChannelLayer through Sentinel: master mymaster" in server.log()
    pid = server.pid
    scenario = resume_after_failover(
        server, ROOM, sentinel_group, told_to_come_back, RESUME_SECONDS
    )
    old, new, promoted, resumed = await asyncio.wait_for(scenario, SCENARIO_SECONDS)
    print(f"\nprimary {old} killed; Sentinel promoted {new} within {promoted:.1f} s;")
    print(f"the chat delivered again {resumed:.1f} s after the kill")
    assert new != old
    assert resumed < RESUME_SECONDS

    # The same daphne all along: it said so once per outage, and noticed the recovery
    assert server.is_running() and server.pid == pid
    log = server.log()
    assert log.count("Redis is unreachable") == 1, log
    assert "Redis is back" in log
    assert "Traceback" not in log
