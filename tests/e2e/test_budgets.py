"""Budgets per client against a real daphne (chatproject.bounded_daphne) over 127.0.0.1:
history asked for by many sockets of one client, clients that stop reading, and request
bodies too large. Each test prints what it measured."""

import asyncio
import json
import time

import psutil
import pytest
from django.conf import settings
from websockets.asyncio.client import connect

from workbook.chat_client import join, next_frame, room_url, say

pytestmark = pytest.mark.live

ROOM = "budgets"
MB = 1024 * 1024

# The load itself comes from one sender on 127.0.0.1: its per-socket and per-address
# message limits are lifted, as the benchmark's are; every other budget keeps its default
FAST_SENDER = {
    "CHAT_MESSAGES_PER_SECOND": "1000000",
    "CHAT_MESSAGE_BURST": "1000000",
    "CHAT_CLIENT_MESSAGES_PER_SECOND": "1000000",
    "CHAT_CLIENT_MESSAGE_BURST": "1000000",
}


async def fill_room(server, count: int, text: str) -> None:
    """Save count messages in the room (each acknowledged before this returns)."""
    async with join(server, ROOM) as sender:
        for number in range(count):
            await say(sender, f"{number} {text}")
        await next_frame(sender, message=f"{count - 1} {text}", timeout=60)


def rss(server) -> int:
    return psutil.Process(server.pid).memory_info().rss


async def timed_handshake(server, source: str) -> tuple[float, float]:
    """Seconds until a new socket from source is open, and until it has its ?recent=
    history too."""
    started = time.monotonic()
    url = room_url(server, ROOM, "recent=10")
    async with connect(url, origin=server.url, local_addr=(source, 0)) as probe:
        opened = time.monotonic() - started
        await next_frame(probe, "history", timeout=10)
    return opened, time.monotonic() - started


async def ask_for_pages(websocket, pages: int) -> list[int | str]:
    """Ask for the room's first page (200 messages) pages times at once; each answer: the
    page's size in bytes, or the error's code."""
    for _ in range(pages):
        await websocket.send(json.dumps({"type": "history", "after": 0}))
    answers = []
    while len(answers) < pages:
        frame = await next_frame(websocket, None, timeout=60)
        if frame["type"] == "history":
            # The server writes it the same way (frames.encode)
            answers.append(len(json.dumps(frame, ensure_ascii=False).encode()))
        elif frame["type"] == "error":
            answers.append(frame["code"])
    return answers


async def test_history_asked_by_150_sockets_leaves_handshakes_answered(start_chat_server):
    """150 sockets of one client each ask for 10 pages of ~130 KB at once; meanwhile a new
    client's handshake is answered within 1 s every time."""
    server = start_chat_server(**FAST_SENDER)
    await fill_room(server, 201, "x" * 500)
    sockets = [await join(server, ROOM) for _ in range(150)]
    try:
        started = time.monotonic()
        load = asyncio.gather(*(ask_for_pages(websocket, 10) for websocket in sockets))
        await asyncio.sleep(0.1)
        # From another address (all of 127.0.0.0/8 is this machine)
        handshakes = [await timed_handshake(server, "127.0.0.2")]
        while not load.done():
            handshakes.append(await timed_handshake(server, "127.0.0.2"))
        answers = sum(await load, [])
        took = time.monotonic() - started
    finally:
        await asyncio.gather(*(websocket.close() for websocket in sockets))
    pages = [answer for answer in answers if isinstance(answer, int)]
    opened, with_history = (max(times) for times in zip(*handshakes, strict=True))
    print(
        f"{len(answers)} asked, {len(pages)} pages ({sum(pages) / MB:.1f} MB) sent in "
        f"{took:.1f} s; meanwhile {len(handshakes)} handshakes, the slowest {opened:.2f} s "
        f"({with_history:.2f} s with its history)"
    )
    assert opened < 1.0
    # The client's burst and rate, and at most one page more (charged once it is read)
    burst = settings.CHAT_CLIENT_HISTORY_BURST_BYTES
    rate = settings.CHAT_CLIENT_HISTORY_BYTES_PER_SECOND
    assert burst <= sum(pages) <= burst + rate * took + max(pages)
    assert answers.count("history_limited") == len(answers) - len(pages)


async def read_all(websocket) -> None:
    async for _ in websocket:
        pass


class BusyRoom:
    """A sender keeping a room busy with large messages, at the pace the server takes them:
    ten at a time, each ten acknowledged before the next (a backlog of its own frames in
    the server would be memory this test does not mean to measure)."""

    # Near the 4,000-character limit, three bytes each: 12 KB a frame, so that the room is
    # busy without thousands of saves a second
    TEXT = "雑" * 3990

    def __init__(self, sender) -> None:
        self.sender = sender
        self.sent = 0

    async def ten_more(self) -> None:
        for _ in range(10):
            self.sent += 1
            await say(self.sender, f"{self.sent} {self.TEXT}")
        await next_frame(self.sender, message=f"{self.sent} {self.TEXT}", timeout=30)


def fell_behind(server) -> int:
    return server.log().count("Closed a socket of")


async def test_clients_that_stop_reading_are_closed_and_bounded(start_chat_server):
    """20 clients that never read, in a room kept busy: each is told it fell behind and
    closed once 512 KiB waits for it (the kernel's buffers hold a few MB more first), and
    the process grows by less than 40 MB, then no more."""
    server = start_chat_server(**FAST_SENDER)
    async with join(server, ROOM) as sender, join(server, ROOM) as listener:
        reading = asyncio.create_task(read_all(listener))
        room = BusyRoom(sender)
        await room.ten_more()
        before = rss(server)
        # A queue of one frame: the client library stops reading from the socket at once
        url = room_url(server, ROOM)
        stalled = [await connect(url, origin=server.url, max_queue=1) for _ in range(20)]
        peak, deadline = before, time.monotonic() + 40
        while fell_behind(server) < 20 and time.monotonic() < deadline:
            await room.ten_more()
            peak = max(peak, rss(server))
        # Then the room goes on: nothing more is kept for them
        settled = time.monotonic() + 5
        while time.monotonic() < settled:
            await room.ten_more()
            peak = max(peak, rss(server))
        reading.cancel()
        for websocket in stalled:
            websocket.transport.abort()
    growth = (peak - before) / MB
    sent = room.sent * len(room.TEXT.encode()) / MB
    print(
        f"RSS {before / MB:.0f} MB, peak {peak / MB:.0f} MB (+{growth:.0f} MB); "
        f"{sent:.0f} MB sent to each; {fell_behind(server)} closed"
    )
    assert fell_behind(server) == 20
    assert growth < 40


def body_request(length: int) -> bytes:
    return (
        b"POST /chat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Length: %d\r\n\r\n" % length
    )


async def post_too_big(server, length: int) -> bytes:
    """Start a POST of length bytes, send 1 MB of it, and read the answer's status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(body_request(length) + b"z" * MB)
        return await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.transport.abort()


async def test_a_body_too_large_is_refused_before_it_is_read(start_chat_server):
    """Four POSTs announcing 200 MB at once are answered 413 at once; RSS does not jump."""
    server = start_chat_server()
    before = rss(server)
    statuses = await asyncio.gather(*(post_too_big(server, 200 * MB) for _ in range(4)))
    growth = (rss(server) - before) / MB
    print(f"RSS {before / MB:.0f} MB, after four 200 MB POSTs +{growth:.1f} MB")
    assert statuses == [b"HTTP/1.1 413 Content Too Large\r\n"] * 4
    assert growth < 5
    assert server.log().count("Refused a request body over") == 4


async def test_a_chunked_body_too_large_is_refused_at_the_limit(start_chat_server):
    """Without a Content-Length the body is counted as it comes, and refused past 1 MiB."""
    server = start_chat_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        head = b"POST /chat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"z" * 64 * 1024)
        writer.write(head + chunk * 17)
        status = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.transport.abort()
    assert status == b"HTTP/1.1 413 Content Too Large\r\n"


async def test_a_small_body_still_reaches_django(start_chat_server):
    """Under the limit nothing changes: Django answers (here 403, for the missing CSRF token)."""
    server = start_chat_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(body_request(3) + b"a=b")
        status = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    assert status.startswith(b"HTTP/1.1 403")
