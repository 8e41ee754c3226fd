"""The room hub: one channel-layer subscription per group per process, shared by its sockets.

The chat's sockets go through it in test_consumer.py, e2e/test_live.py (Redis, processes)
and e2e/test_faults.py (Redis outages); these tests look at the hub itself, on the in-memory layer.
"""

import asyncio
import uuid

import pytest
from channels.layers import InMemoryChannelLayer

from chat import hub
from chat.consumers import RoomMessages
from chat.counters import counted
from chat.presence import PresenceFrames
from chatproject.layers import ChatRedisLayer
from tests.helpers import say, users

GROUP = "chat_demoroom"


class Socket:
    """A member that records the frames the hub writes to it."""

    def __init__(self, socket_id: str, broken: bool = False, stuck: bool = False) -> None:
        self.socket_id = socket_id
        self.broken = broken
        # A client that stopped reading: the server's send waits for its buffer to drain
        self.stuck = stuck
        self.frames: list[str] = []
        self.arrived = asyncio.Event()
        self.closed_for_outage = False
        self.behind = False

    async def send(self, text_data: str) -> None:
        if self.broken:
            raise ConnectionResetError("this client went away a moment ago")
        if self.stuck:
            await asyncio.Event().wait()
        self.frames.append(text_data)
        self.arrived.set()

    async def close_for_outage(self) -> None:
        self.closed_for_outage = True

    def fell_behind(self) -> None:
        self.behind = True


def echo(event: dict) -> hub.Delivery | None:
    """The event's text for everyone but its sender, if it names one."""
    return hub.Delivery(event["text"], skip=event.get("sender")) if "text" in event else None


async def arrival(socket: Socket) -> None:
    await asyncio.wait_for(socket.arrived.wait(), timeout=2)
    socket.arrived.clear()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("uses_hub", "members"), [(True, 1), (False, 3)], ids=["hub", "own-channel"]
)
async def test_group_members_per_process(in_memory_layer, settings, uses_hub, members):
    """Three sockets of one room: one member of the group with the hub, three without it
    (the tutorial's way); none once they have left, and a next socket joins afresh."""
    settings.CHAT_ROOM_HUB = uses_hub
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    async with users("demoroom", "demoroom", "demoroom") as (alice, bob, _carol):
        assert len(layer.groups[GROUP]) == members
        await say(alice, "hogehoge")
        assert (await bob.receive_json_from(timeout=2))["message"] == "hogehoge"
    assert not layer.groups.get(GROUP)
    async with users("demoroom") as (dave,):
        assert len(layer.groups[GROUP]) == 1
        await say(dave, "again")
        assert (await dave.receive_json_from(timeout=2))["message"] == "again"


async def test_a_broken_socket_does_not_stop_the_others():
    """A socket that fails to write is skipped; the ones after it still get the frame."""
    layer = InMemoryChannelLayer()
    broken, alice = Socket("broken", broken=True), Socket("alice")
    room = await hub.join(layer, GROUP, broken, lambda: echo)
    await hub.join(layer, GROUP, alice, lambda: echo)
    try:
        await layer.group_send(GROUP, {"type": "x", "text": "hogehoge"})
        await arrival(alice)
        assert alice.frames == ["hogehoge"]
    finally:
        await hub.leave(room, broken)
        await hub.leave(room, alice)


async def test_a_client_that_stops_reading_does_not_hold_up_the_room():
    """A write that waits past the deadline drops that socket; the next ones still get it."""
    layer = InMemoryChannelLayer()
    alice, stuck, bob = Socket("alice"), Socket("stuck", stuck=True), Socket("bob")
    room = await hub.join(layer, GROUP, alice, lambda: echo)
    room.slow_write_seconds = 0.3
    await hub.join(layer, GROUP, stuck, lambda: echo)
    await hub.join(layer, GROUP, bob, lambda: echo)
    try:
        await layer.group_send(GROUP, {"type": "x", "text": "one"})
        await arrival(bob)
        await layer.group_send(GROUP, {"type": "x", "text": "two"})
        await arrival(bob)
        assert alice.frames == bob.frames == ["one", "two"]
        assert stuck.behind and stuck not in room.members
    finally:
        for member in (alice, stuck, bob):
            await hub.leave(room, member)


async def test_the_sender_is_skipped_when_named():
    """Events naming a sender (typing notices) reach everyone but that socket."""
    layer = InMemoryChannelLayer()
    alice, bob = Socket("alice"), Socket("bob")
    room = await hub.join(layer, GROUP, alice, lambda: echo)
    await hub.join(layer, GROUP, bob, lambda: echo)
    try:
        await layer.group_send(GROUP, {"type": "x", "text": "typing", "sender": "alice"})
        await layer.group_send(GROUP, {"type": "x", "text": "hello"})
        await arrival(bob)
        await arrival(alice)
        assert alice.frames == ["hello"]
        assert bob.frames == ["typing", "hello"]
    finally:
        await hub.leave(room, alice)
        await hub.leave(room, bob)


async def test_membership_is_renewed_before_the_layer_forgets_it():
    """Past the layer's group_expiry, the hub's sockets still hear the room."""
    layer = InMemoryChannelLayer(group_expiry=0.3)
    alice = Socket("alice")
    room = await hub.join(layer, GROUP, alice, lambda: echo)
    try:
        # Time passing is the point here: three expiry periods without any traffic
        await asyncio.sleep(1.0)
        await layer.group_send(GROUP, {"type": "x", "text": "still here"})
        await arrival(alice)
        assert alice.frames == ["still here"]
    finally:
        await hub.leave(room, alice)


@pytest.mark.live
async def test_a_membership_redis_lost_sends_the_sockets_to_catch_up(redis_url, monkeypatch):
    """When Redis no longer has the hub in its group (a failover loses the writes the
    replica had not copied), the hub sees it, says so, and its sockets catch up."""
    monkeypatch.setattr(hub, "MEMBERSHIP_CHECK_SECONDS", 0.05)
    layer = ChatRedisLayer(hosts=[redis_url], prefix=f"test{uuid.uuid4().hex}")
    alice, bob = Socket("alice"), Socket("bob")
    before = counted(hub.LOST_MEMBERSHIP)
    room = await hub.join(layer, GROUP, alice, lambda: echo)
    await hub.join(layer, GROUP, bob, lambda: echo)
    try:
        # The new primary's view after a failover: the room's group without this hub
        await layer.group_discard(GROUP, room.channel_name)
        async with asyncio.timeout(2):
            while not (alice.behind and bob.behind):
                await asyncio.sleep(0.01)
        assert counted(hub.LOST_MEMBERSHIP) == before + 1
        # In the group again, for the sockets that come back
        carol = Socket("carol")
        assert await hub.join(layer, GROUP, carol, lambda: echo) is room
        await layer.group_send(GROUP, {"type": "x", "text": "welcome back"})
        await arrival(carol)
        assert carol.frames == ["welcome back"]
        await hub.leave(room, carol)
    finally:
        await hub.leave(room, alice)
        await hub.leave(room, bob)
        await layer.flush()


async def test_a_failing_layer_closes_every_socket_for_a_retry():
    """When the layer's receive fails (Redis gone), each socket is told to reconnect."""
    import redis.exceptions

    class FailingLayer(InMemoryChannelLayer):
        async def receive(self, channel):
            raise redis.exceptions.ConnectionError("Connection refused")

    layer = FailingLayer()
    alice, bob = Socket("alice"), Socket("bob")
    room = await hub.join(layer, GROUP, alice, lambda: echo)
    await hub.join(layer, GROUP, bob, lambda: echo)
    await asyncio.wait_for(room.task, timeout=2)
    assert alice.closed_for_outage and bob.closed_for_outage
    # A new socket of the room gets a new hub, not the failed one
    carol = Socket("carol")
    again = await hub.join(InMemoryChannelLayer(), GROUP, carol, lambda: echo)
    assert again is not room
    await hub.leave(again, carol)


def test_message_frames_are_encoded_once_per_event():
    """The room's render gives every socket the same text: the tutorial's frame."""
    render = RoomMessages("demoroom")
    event = {"type": "chat.message", "message": "hogehoge", "time": "t", "id": 1}
    assert render(event) == hub.Delivery(
        '{"type": "message", "message": "hogehoge", "room": "demoroom", "time": "t", "id": 1}'
    )
    assert render({"type": "something.else"}) is None


def test_presence_frames_keep_only_the_newest_version():
    """Presence changes from other processes can arrive late: older versions are dropped."""
    render = PresenceFrames("demoroom")
    newer = {"type": "chat.presence", "version": 5, "users": ["alice", "bob"]}
    older = {"type": "chat.presence", "version": 4, "users": ["alice"]}
    assert '"users": ["alice", "bob"]' in render(newer).text
    assert render(older) is None


def test_typing_notices_skip_their_typist():
    """A typing notice goes to everyone in the room but the socket that typed."""
    render = PresenceFrames("demoroom")
    delivery = render({"type": "chat.typing", "author": "alice", "sender": "socket-a"})
    assert delivery.skip == "socket-a"
    assert '"author": "alice"' in delivery.text


async def test_a_group_has_one_render_made_when_its_hub_starts():
    """Later sockets join the running hub; their render factory is never called."""
    layer = InMemoryChannelLayer()
    alice, bob = Socket("alice"), Socket("bob")
    made = []

    def make_render():
        made.append(1)
        return echo

    room = await hub.join(layer, GROUP, alice, make_render)
    again = await hub.join(layer, GROUP, bob, make_render)
    try:
        assert again is room
        assert made == [1]
    finally:
        await hub.leave(room, alice)
        await hub.leave(room, bob)
