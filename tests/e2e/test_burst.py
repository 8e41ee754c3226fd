"""Bursts across rooms on a real daphne and Redis: nothing acknowledged is lost live.

Many sockets of one room each send their whole burst allowance at once while a second room
has a steady sender (benchmarks/burst.py, the benchmark's scenario). Every message comes
back to its sender, and reaches every socket of its room within 2 s of that; the server
counted nothing over capacity.
"""

import re
import urllib.request

import pytest

from benchmarks.burst import Burst, BurstOutcome, run
from chat.frames import OVER_CAPACITY
from workbook.chat_client import room_url

pytestmark = pytest.mark.live

# The default limits per socket, whatever the environment says: each sender's 10 are
# allowed at once. Every sender here comes from 127.0.0.1, where a real burst comes from as
# many people's addresses, so the budgets per address are lifted
LIMITS = {
    "CHAT_MESSAGES_PER_SECOND": "5",
    "CHAT_MESSAGE_BURST": "10",
    "CHAT_CLIENT_SOCKETS": "1000000",
    "CHAT_CLIENT_MESSAGES_PER_SECOND": "1000000",
    "CHAT_CLIENT_MESSAGE_BURST": "1000000",
}


def counted_by(server, code: str) -> float:
    """What the server counted of code, from its /metrics (read from 127.0.0.1)."""
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    found = re.search(rf'^chat_refused_total\{{code="{code}"\}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def assert_all_live(outcome: BurstOutcome) -> None:
    figures = outcome.summary()
    assert outcome.acknowledged == outcome.burst.sent, figures
    assert outcome.quiet_acknowledged == outcome.burst.steady, figures
    assert outcome.lost == outcome.drops == outcome.late == outcome.disconnects == 0, figures
    assert not outcome.refused, figures


@pytest.mark.parametrize("senders", [50, 200])
async def test_a_burst_in_one_room_loses_nothing_live_in_either_room(start_chat_server, senders):
    """senders × 10 at once in one room, 10 steady in another: all delivered live."""
    server = start_chat_server(**LIMITS)
    burst = Burst(
        busy_urls=[room_url(server, "busy")],
        quiet_url=room_url(server, "quiet"),
        senders=senders,
        per_sender=10,
    )
    assert_all_live(await run(burst))
    assert counted_by(server, OVER_CAPACITY) == 0
    assert "Traceback" not in server.log()
