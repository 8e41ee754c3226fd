"""The chat's tests run it in-process on the in-memory channel layer (tests/e2e has the
real processes and Redis)."""

import pytest


@pytest.fixture(params=[True, False], ids=["hub", "own-channel"])
def each_way(request, in_memory_layer, settings):
    """Run a test twice: sockets sharing the room's hub, and each with its own channel."""
    settings.CHAT_ROOM_HUB = request.param
