"""/metrics: the refusal counts in Prometheus's text format, for local or staff requests only;
and the log's summary line of what was counted."""

import asyncio
import logging
import re

import pytest
from django.contrib.auth.models import User
from prometheus_client import CONTENT_TYPE_LATEST

from chat import counters
from chat.counters import Summary, count, counted
from chat.frames import OVER_CAPACITY
from tests.helpers import join

# A client on another machine
REMOTE = "203.0.113.9"


async def get_metrics(client, address: str = "127.0.0.1", headers: dict[str, str] | None = None):
    """GET /metrics from a client at address, as daphne puts it in the ASGI scope."""
    sent = [(b"host", b"testserver")]
    sent += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    return await client.request(
        method="GET", path="/metrics", query_string="", client=[address, 40000], headers=sent
    )


def sample(text: str, code: str) -> float:
    """The value of chat_refused_total{code=...} in a /metrics answer."""
    match = re.search(rf'^chat_refused_total\{{code="{code}"\}} (\S+)$', text, re.MULTILINE)
    assert match, f"no chat_refused_total for {code} in:\n{text}"
    return float(match.group(1))


# The async ORM works from a thread of its own, which needs a transactional test database
@pytest.mark.django_db(transaction=True)
class TestWhoMayRead:
    async def test_a_local_request_reads_the_counts(self, async_client):
        """From 127.0.0.1, not forwarded: 200, in Prometheus's text format."""
        count(OVER_CAPACITY)
        response = await get_metrics(async_client)
        assert response.status_code == 200
        assert response["Content-Type"] == CONTENT_TYPE_LATEST
        assert sample(response.content.decode(), OVER_CAPACITY) == counted(OVER_CAPACITY)

    async def test_ipv6_loopback_is_local(self, async_client):
        """::1 and IPv4's loopback on a dual-stack socket are this machine too."""
        for address in ("::1", "::ffff:127.0.0.1"):
            response = await get_metrics(async_client, address)
            assert response.status_code == 200, address

    async def test_an_anonymous_remote_request_finds_nothing(self, async_client):
        """From another address: 404, as if there were no such page."""
        response = await get_metrics(async_client, REMOTE)
        assert response.status_code == 404
        assert b"chat_refused" not in response.content

    @pytest.mark.parametrize(
        "header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"], ids=["xff", "forwarded", "real"]
    )
    async def test_a_forwarded_request_is_not_local(self, async_client, header):
        """A proxy on this machine forwards others' requests: they only look local."""
        response = await get_metrics(async_client, headers={header: REMOTE})
        assert response.status_code == 404

    async def test_a_staff_user_reads_them_from_anywhere(self, async_client):
        """A logged-in staff user gets the counts from a remote address."""
        staff = await User.objects.acreate(username="admin", is_staff=True)
        await async_client.aforce_login(staff)
        response = await get_metrics(async_client, REMOTE)
        assert response.status_code == 200
        assert "chat_refused_total" in response.content.decode()

    async def test_a_user_who_is_not_staff_finds_nothing(self, async_client):
        """Logged in is not enough from elsewhere: 404."""
        alice = await User.objects.acreate(username="alice")
        await async_client.aforce_login(alice)
        response = await get_metrics(async_client, REMOTE)
        assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_a_refused_frame_shows_in_the_counts(async_client, in_memory_layer):
    """A frame the chat refuses is one more bad_frame at /metrics."""
    before = counted("bad_frame")
    alice = await join("demoroom")
    await alice.send_to(text_data="not json")
    assert (await alice.receive_json_from(timeout=2))["code"] == "bad_frame"
    await alice.disconnect()
    response = await get_metrics(async_client)
    assert sample(response.content.decode(), "bad_frame") == before + 1


class TestSummary:
    def test_says_what_was_counted_since_the_last_line(self):
        """One line by code, with only what is new since the line before."""
        summary = Summary(60)
        count(OVER_CAPACITY, 12)
        count("rate_limited", 3)
        assert (
            summary.line()
            == "Refused or dropped in the last 60 s: over_capacity 12, rate_limited 3"
        )
        count("rate_limited")
        assert summary.line() == "Refused or dropped in the last 60 s: rate_limited 1"

    def test_says_nothing_when_nothing_was_counted(self):
        """No line for a quiet minute."""
        summary = Summary(60)
        assert summary.line() is None

    async def test_the_process_logs_it_every_interval_from_one_task(self, settings, caplog):
        """start_summaries() starts one task per process; it logs the line when due."""
        settings.CHAT_COUNTS_LOG_SECONDS = 0.05
        caplog.set_level(logging.WARNING, logger="chat.counters")
        task = counters.start_summaries()
        assert counters.start_summaries() is task
        try:
            count(OVER_CAPACITY, 2)
            async with asyncio.timeout(5):
                while "over_capacity 2" not in caplog.text:
                    await asyncio.sleep(0.01)
            assert "Refused or dropped in the last 0.05 s: over_capacity 2" in caplog.text
        finally:
            task.cancel()
