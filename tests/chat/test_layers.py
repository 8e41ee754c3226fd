"""The chat's channel layer on a real Redis: what group_send drops is counted, and a hub
reads its own channel in batches."""

import asyncio
import uuid

import pytest

from chat import hub
from chat.counters import counted
from chat.frames import OVER_CAPACITY
from chatproject.layers import ChatRedisLayer, library_name
from tests.chat.test_hub import Socket, arrival, echo

pytestmark = pytest.mark.live


@pytest.fixture
async def make_layer(redis_url):
    """Make the chat's layer, configured as given, on Redis keys of its own."""
    layers = []

    def make(**config) -> ChatRedisLayer:
        layers.append(ChatRedisLayer(hosts=[redis_url], prefix=f"test{uuid.uuid4().hex}", **config))
        return layers[-1]

    yield make
    for layer in layers:
        await layer.flush()


@pytest.fixture
def tiny_layer(make_layer):
    """The chat's layer with room for two messages in a channel."""
    return make_layer(capacity=2)


async def test_group_send_counts_what_is_over_capacity(tiny_layer):
    """Five messages for a channel that holds two: two kept, three counted as dropped."""
    await tiny_layer.group_add("room", "hub.one")
    before = counted(OVER_CAPACITY)
    for number in range(5):
        await tiny_layer.group_send("room", {"type": "chat.message", "number": number})
    assert counted(OVER_CAPACITY) == before + 3
    kept = await tiny_layer.receive_many("hub.one", 10)
    assert [message["number"] for message in kept] == [0, 1]


async def test_each_full_channel_counts_once_per_message(tiny_layer):
    """Two full channels in the group: every message dropped for both is counted twice."""
    for channel in ("hub.one", "hub.two"):
        await tiny_layer.group_add("room", channel)
    for number in range(2):
        await tiny_layer.group_send("room", {"type": "chat.message", "number": number})
    before = counted(OVER_CAPACITY)
    await tiny_layer.group_send("room", {"type": "chat.message", "number": 2})
    assert counted(OVER_CAPACITY) == before + 2


async def test_nothing_is_counted_below_capacity(tiny_layer):
    """A channel that is read keeps up: nothing dropped, nothing counted."""
    await tiny_layer.group_add("room", "hub.one")
    before = counted(OVER_CAPACITY)
    for number in range(4):
        await tiny_layer.group_send("room", {"type": "chat.message", "number": number})
        assert (await tiny_layer.receive_many("hub.one", 10))[0]["number"] == number
    assert counted(OVER_CAPACITY) == before


async def test_receive_many_takes_at_most_what_it_is_asked_for_in_order(make_layer):
    """A batch is the oldest messages first, no more than most; the rest wait their turn."""
    layer = make_layer()
    await layer.group_add("room", "hub.one")
    for number in range(5):
        await layer.group_send("room", {"type": "chat.message", "number": number})
    first = await layer.receive_many("hub.one", 3)
    rest = await layer.receive_many("hub.one", 3)
    assert [message["number"] for message in first + rest] == [0, 1, 2, 3, 4]
    assert first[0] == {"type": "chat.message", "number": 0}  # no layer bookkeeping left


async def test_receive_many_waits_for_the_first_message(make_layer):
    """With nothing waiting it blocks at Redis, and returns as soon as a message comes."""
    layer = make_layer()
    await layer.group_add("room", "hub.one")
    waiting = asyncio.create_task(layer.receive_many("hub.one", 10))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await layer.group_send("room", {"type": "chat.message", "number": 7})
    received = await asyncio.wait_for(waiting, 5)
    assert [message["number"] for message in received] == [7]


def test_the_start_up_line_names_the_library_class():
    """The chat's layer is logged as the channels-redis class it is made from."""
    assert library_name("chatproject.layers.ChatRedisLayer") == "RedisChannelLayer"
    pubsub = "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert library_name(pubsub) == "RedisPubSubChannelLayer"


async def test_a_hub_reads_a_plain_channel_of_its_own_in_batches(make_layer):
    """On the chat's layer a room's hub has a queue of its own (not the process's shared
    one), and writes every message it takes in a batch, in order."""
    layer = make_layer()
    socket = Socket("alice")
    room = await hub.join(layer, "room", socket, lambda: echo)
    try:
        assert room.channel_name.startswith("hub.") and "!" not in room.channel_name
        for number in range(5):
            await layer.group_send("room", {"type": "chat.message", "text": str(number)})
        async with asyncio.timeout(5):
            while len(socket.frames) < 5:
                await arrival(socket)
        assert socket.frames == ["0", "1", "2", "3", "4"]
    finally:
        await hub.leave(room, socket)
