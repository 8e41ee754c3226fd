"""Budgets per client address: who the client is, its socket cap, and the message and
history budgets its sockets share (chat/addresses.py, chat/budgets.py)."""

import asyncio

import pytest

from chat import budgets, frames
from chat.addresses import UNKNOWN, client_address
from chat.counters import counted
from tests.helpers import FakeClock, each_joined, join, next_of_type, say

ROOM = "budgets"


def scope_from(peer: str | None, forwarded: list[str] = ()) -> dict:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return {"client": [peer, 50000] if peer else None, "headers": headers}


class TestClientAddress:
    def test_the_peer_is_the_client(self):
        """Without proxies, the TCP peer's address is the client's."""
        assert client_address(scope_from("203.0.113.7"), []) == "203.0.113.7"

    def test_a_header_from_an_untrusted_peer_is_ignored(self):
        """A client that writes X-Forwarded-For itself does not change its address."""
        scope = scope_from("203.0.113.7", ["198.51.100.1"])
        assert client_address(scope, []) == "203.0.113.7"
        assert client_address(scope, ["10.0.0.0/8"]) == "203.0.113.7"

    def test_a_trusted_proxy_names_the_client(self):
        """From a trusted proxy, the address it appended is the client's."""
        scope = scope_from("10.0.0.2", ["198.51.100.1"])
        assert client_address(scope, ["10.0.0.2"]) == "198.51.100.1"

    def test_a_spoofed_entry_before_the_proxys_is_ignored(self):
        """The client's own claim comes first; the proxy's entry, last, is believed."""
        scope = scope_from("10.0.0.2", ["6.6.6.6, 198.51.100.1"])
        assert client_address(scope, ["10.0.0.2"]) == "198.51.100.1"

    def test_a_chain_of_trusted_proxies_is_walked(self):
        """Two trusted hops (on two header lines): the first untrusted address is the client."""
        scope = scope_from("10.0.0.2", ["6.6.6.6, 198.51.100.1", "10.0.0.9"])
        assert client_address(scope, ["10.0.0.0/8"]) == "198.51.100.1"

    def test_garbage_from_a_trusted_proxy_stops_at_the_proxy(self):
        """An entry that is no address is not believed: the budget falls to the proxy."""
        scope = scope_from("10.0.0.2", ["198.51.100.1, not-an-address"])
        assert client_address(scope, ["10.0.0.2"]) == "10.0.0.2"

    def test_ipv6_clients_are_counted_by_their_64(self):
        """Two addresses of one /64 are one client; an IPv4-mapped address is the IPv4 one."""
        first = client_address(scope_from("2001:db8:1:2::1"), [])
        second = client_address(scope_from("2001:db8:1:2:ffff::9"), [])
        assert first == second == "2001:db8:1:2::/64"
        assert client_address(scope_from("::ffff:192.0.2.1"), []) == "192.0.2.1"

    def test_no_peer_is_unknown(self):
        """A connection without a TCP peer (a UNIX socket, an in-process test)."""
        assert client_address({"headers": []}, []) == UNKNOWN

    def test_the_setting_lists_the_trusted_proxies(self, settings):
        """CHAT_TRUSTED_PROXIES is read when no list is given."""
        scope = scope_from("10.0.0.2", ["198.51.100.1"])
        settings.CHAT_TRUSTED_PROXIES = []
        assert client_address(scope) == "10.0.0.2"
        settings.CHAT_TRUSTED_PROXIES = ["10.0.0.2"]
        assert client_address(scope) == "198.51.100.1"


def sockets_from(*addresses: str):
    """A connected socket from each address; all disconnect afterwards, pass or fail."""
    return each_joined(lambda address: join(ROOM, client=address), addresses)


@pytest.mark.django_db(transaction=True)
class TestSocketCap:
    async def test_a_socket_over_the_cap_is_told_and_closed(self, in_memory_layer, settings):
        """The third socket of an address capped at two gets client_cap and a 4008 close."""
        settings.CHAT_CLIENT_SOCKETS = 2
        before = counted(frames.CLIENT_CAP)
        async with sockets_from("192.0.2.1", "192.0.2.1"):
            # Accepted, so that the client hears why
            third = await join(ROOM, client="192.0.2.1")
            error = await third.receive_json_from(timeout=5)
            assert error["code"] == frames.CLIENT_CAP
            assert "at most 2" in error["error"]
            closed = await third.receive_output(timeout=5)
            assert closed == {"type": "websocket.close", "code": frames.CLOSE_CLIENT_CAP}
            assert budgets.open_sockets("192.0.2.1") == 2
        assert counted(frames.CLIENT_CAP) == before + 1

    async def test_other_addresses_and_freed_places_are_admitted(self, in_memory_layer, settings):
        """The cap is per address, and a closed socket frees its place."""
        settings.CHAT_CLIENT_SOCKETS = 1
        async with sockets_from("192.0.2.1", "192.0.2.2"):
            assert budgets.open_sockets("192.0.2.1") == 1
        assert budgets.open_sockets("192.0.2.1") == 0
        async with sockets_from("192.0.2.1"):
            pass


@pytest.mark.django_db(transaction=True)
class TestSharedMessageBudget:
    async def test_an_addresss_sockets_share_one_budget(self, in_memory_layer, settings):
        """Three messages from an address with a budget of three, over two sockets: the
        fourth is refused; a socket of another address still sends."""
        settings.CHAT_CLIENT_MESSAGE_BURST = 3
        settings.CHAT_CLIENT_MESSAGES_PER_SECOND = 0.001
        async with sockets_from("192.0.2.1", "192.0.2.1", "192.0.2.2") as (one, two, other):
            for communicator in (one, two, one):
                await say(communicator, "within the budget")
                assert (await next_of_type(communicator, "message"))["id"]
            await say(two, "one too many")
            refused = await next_of_type(two, "error")
            assert refused["code"] == frames.RATE_LIMITED
            assert "your address" in refused["error"]
            await say(other, "another client")
            while (await next_of_type(other, "message"))["message"] != "another client":
                pass

    async def test_closing_every_socket_does_not_refill_the_budget(self, in_memory_layer, settings):
        """A client that reconnects keeps its spent budget: no fresh start by reconnecting."""
        settings.CHAT_CLIENT_MESSAGE_BURST = 1
        settings.CHAT_CLIENT_MESSAGES_PER_SECOND = 0.001
        async with sockets_from("192.0.2.1") as (first,):
            await say(first, "the only one")
            await next_of_type(first, "message")
        async with sockets_from("192.0.2.1") as (again,):
            await say(again, "after reconnecting")
            assert (await next_of_type(again, "error"))["code"] == frames.RATE_LIMITED


@pytest.mark.django_db(transaction=True)
class TestHistoryBudget:
    async def test_an_address_over_its_history_bytes_waits(self, in_memory_layer, settings):
        """A page may start while any budget is left; the next, from any socket of the
        address, is refused with history_limited and when to ask again."""
        settings.CHAT_CLIENT_HISTORY_BURST_BYTES = 10
        settings.CHAT_CLIENT_HISTORY_BYTES_PER_SECOND = 1
        async with sockets_from("192.0.2.1", "192.0.2.1", "192.0.2.2") as (one, two, other):
            await one.send_json_to({"type": "history", "after": 0})
            assert (await next_of_type(one, "history"))["messages"] == []
            await two.send_json_to({"type": "history", "after": 0})
            refused = await next_of_type(two, "error")
            assert refused["code"] == frames.HISTORY_LIMITED
            # The page of about 60 bytes is paid back at 1 byte a second
            assert refused["retry_after"] > 30
            await other.send_json_to({"type": "history", "after": 0})
            assert (await next_of_type(other, "history"))["more"] is False

    async def test_the_handshakes_history_counts_too(self, in_memory_layer, settings):
        """?recent= at the handshake spends the same budget (a reconnect loop is no way round)."""
        settings.CHAT_CLIENT_HISTORY_BURST_BYTES = 10
        settings.CHAT_CLIENT_HISTORY_BYTES_PER_SECOND = 1
        async with sockets_from("192.0.2.1") as (first,):
            await first.send_json_to({"type": "history", "after": 0})
            await next_of_type(first, "history")
        again = await join(ROOM, client="192.0.2.1", query="recent=10")
        try:
            assert (await next_of_type(again, "error"))["code"] == frames.HISTORY_LIMITED
        finally:
            await again.disconnect()


class TestClientBudgets:
    def client(self, clock: FakeClock) -> budgets.Client:
        return budgets.Client(
            "192.0.2.1",
            budgets.RateLimit(rate=1, burst=2, clock=clock),
            budgets.ByteBudget(rate=100, burst=1000, clock=clock),
        )

    async def test_history_pages_are_read_one_at_a_time(self):
        """A second page of the same client starts only when the first is done."""
        client = self.client(FakeClock())
        order = []

        async def page(name: str, hold: asyncio.Event | None) -> None:
            async with client.history_page() as charge:
                order.append(f"{name} starts")
                if hold is not None:
                    await hold.wait()
                charge(10)
                order.append(f"{name} ends")

        release = asyncio.Event()
        first = asyncio.create_task(page("first", release))
        second = asyncio.create_task(page("second", None))
        await asyncio.sleep(0.01)
        assert order == ["first starts"]
        release.set()
        await asyncio.gather(first, second)
        assert order == ["first starts", "first ends", "second starts", "second ends"]

    async def test_a_client_is_idle_once_its_budgets_refill(self):
        """Forgotten only when a newcomer would have the same budgets."""
        clock = FakeClock()
        client = self.client(clock)
        assert client.is_idle()
        client.allow_message()
        client.history.spend(1500)
        # 1 token at 1 a second; 1,500 bytes at 100 a second
        assert client.seconds_until_idle() == pytest.approx(15)
        clock.now += 15
        assert client.is_idle()
        client.sockets = 1
        assert not client.is_idle()
