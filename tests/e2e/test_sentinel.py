"""Redis with Sentinel under a running daphne: the primary is killed, the Sentinels promote
the replica, and the chat works again without a restart, presence too.

The test prints how long the failover and the chat's return took (pytest -s shows it).
"""

import asyncio
import time

import pytest

from chat.outage import CLOSE_TRY_AGAIN_LATER
from workbook.chat_client import (
    guest_cookie,
    join_when_ready,
    next_frame,
    say,
    wait_for_presence,
)

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
    alice_cookie, bob_cookie, carol_cookie = (guest_cookie(server, ROOM) for _ in range(3))
    pid = server.pid

    async def scenario():
        alice = await join_when_ready(server, ROOM, alice_cookie, time.monotonic() + RESUME_SECONDS)
        bob = await join_when_ready(server, ROOM, bob_cookie, time.monotonic() + RESUME_SECONDS)
        people = await wait_for_presence(alice, 2)
        await say(alice, "before the failover")
        await next_frame(bob, message="before the failover")

        old = sentinel_group.primary_address()
        killed = time.monotonic()
        sentinel_group.kill_primary()
        # Both sockets are told at once, whatever the Sentinels are doing
        await asyncio.gather(told_to_come_back(alice), told_to_come_back(bob))

        def promotion() -> tuple[tuple[str, int], float]:
            """The new primary, and how long after the kill the Sentinels all named it."""
            return sentinel_group.wait_for_failover(old), time.monotonic() - killed

        failover = asyncio.create_task(asyncio.to_thread(promotion))

        # The clients knock again until the chat takes them, as the room page does
        deadline = killed + RESUME_SECONDS
        alice = await join_when_ready(server, ROOM, alice_cookie, deadline)
        bob = await join_when_ready(server, ROOM, bob_cookie, deadline)
        await say(alice, "after the failover")
        await next_frame(bob, message="after the failover")
        resumed = time.monotonic() - killed
        new, promoted = await failover

        # Presence works on the new primary: a newcomer is listed, and gone when she leaves
        carol = await join_when_ready(server, ROOM, carol_cookie, time.monotonic() + RESUME_SECONDS)
        assert set(people) < set(await wait_for_presence(alice, 3))
        await carol.close()
        assert await wait_for_presence(alice, 2) == people
        await alice.close()
        await bob.close()
        return old, new, promoted, resumed

    old, new, promoted, resumed = await asyncio.wait_for(scenario(), SCENARIO_SECONDS)
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
