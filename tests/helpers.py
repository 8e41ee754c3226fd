"""What tests in several folders share: the rule for a missing dependency, a chat socket
in-process, an echo app, a clock the test moves, the browser, and messages saved without a
broadcast. Test modules import from here, never from each other or from a conftest."""

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from channels.testing import WebsocketCommunicator
from playwright.sync_api import Locator, Page, expect

from chatproject.environment import env_flag
from workbook.chat_client import guest_cookie, join_when_ready, next_frame, wait_for_presence
from workbook.chat_client import say as say_in_socket

IN_CI = env_flag("CI", False)


def require(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (under CI=true) unless condition holds.

    A test that can silently skip in CI is a test that does not exist.
    """
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason}; under CI=true a missing dependency fails the run")
    pytest.skip(reason)


# A chat socket in-process, through the whole ASGI application daphne serves

# A socket opened by a page the chat served, as a browser sends it: the Host it connects to,
# and the Origin of the page, the same site
PAGE_HEADERS = ((b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000"))


def socket_path(room: str) -> str:
    return f"/ws/chat/{quote(room)}/"


async def join(
    room: str, headers=PAGE_HEADERS, client: str | None = None, query: str = ""
) -> WebsocketCommunicator:
    """A connected socket in room (the test fails if the chat refuses it), from the client
    address given (by default none, as from a UNIX socket), with ?query if given."""
    # Imported when first used: importing it sets up the chat and logs its channel layer,
    # which the tests of other folders do not need
    from chatproject.asgi import application

    path = f"{socket_path(room)}?{query}" if query else socket_path(room)
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    if client is not None:
        # The application reads its scope when it starts, at connect()
        communicator.scope["client"] = [client, 50000]
    connected, _ = await communicator.connect()
    assert connected, f"could not join {room!r}"
    return communicator


@asynccontextmanager
async def each_joined(open_one, items: Iterable):
    """A socket for each item, opened one after another by open_one(item); all disconnect
    afterwards, pass or fail."""
    opened = []
    try:
        for item in items:
            opened.append(await open_one(item))
        yield opened
    finally:
        for communicator in opened:
            await communicator.disconnect()


def users(*rooms: str):
    """Join each room as a separate user; everyone disconnects afterwards, pass or fail."""
    return each_joined(join, rooms)


async def next_of_type(communicator: WebsocketCommunicator, kind: str) -> dict:
    """The next frame of one type, skipping others (presence may come before or after a
    message); each read has a timeout."""
    while (frame := await communicator.receive_json_from(timeout=5))["type"] != kind:
        pass
    return frame


async def say(communicator: WebsocketCommunicator, message: str) -> None:
    await communicator.send_json_to({"message": message})


async def echo_app(scope, receive, send):
    """An ASGI WebSocket app that accepts and sends every text back as it came."""
    while (event := await receive())["type"] != "websocket.disconnect":
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        else:
            await send({"type": "websocket.send", "text": event["text"]})


# Another process's transaction on a chat's SQLite file: it takes the write lock, says so,
# and keeps it until told (a line on its stdin) or for 8 s, well past CHAT_SAVE_SECONDS
LOCK_HOLD_SECONDS = 8
LOCK_HOLDER = f"""
import sqlite3, sys, select
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
select.select([sys.stdin], [], [], {LOCK_HOLD_SECONDS})
db.execute("ROLLBACK")
"""


@contextmanager
def write_lock_held(path: str):
    """Another process holds the SQLite file's write lock until the block ends (or 8 s)."""
    command = [sys.executable, "-c", LOCK_HOLDER, path]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as holder:
        try:
            assert holder.stdout.readline().strip() == b"locked"
            yield
        finally:
            holder.stdin.close()  # end of input: select() returns, the lock is given back
            holder.wait(timeout=LOCK_HOLD_SECONDS + 5)


class FakeClock:
    """A monotonic clock that moves only when a test moves it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# The browser: Debian's Chromium (browser downloads are impossible here); CHROMIUM points
# elsewhere
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# How long a browser test waits for any one thing on a page
TIMEOUT_MS = 10_000


def require_chromium() -> None:
    require(
        os.access(CHROMIUM, os.X_OK),
        f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)",
    )


def say_in_page(page: Page, text: str) -> None:
    """Type text into the room page's message box and press Enter, as a user would."""
    box = page.locator("#chat-message-input")
    box.fill(text)
    box.press("Enter")
    # The page empties the box once the message is on the socket
    expect(box).to_have_value("")


def say_not_saved(page: Page, text: str) -> None:
    """Send text while the chat cannot save it: the page says so, keeps the text in the
    box, and stays connected."""
    box = page.locator("#chat-message-input")
    box.fill(text)
    box.press("Enter")
    expect(page.locator("#chat-log li.notice")).to_have_text(
        [re.compile(r"^Not sent: your message was not saved")]
    )
    expect(box).to_have_value(text)
    expect(page.locator("#chat-status")).to_have_attribute("data-state", "open")


# Counts the sockets a page opens (window.socketsOpened), for a context's add_init_script
COUNT_SOCKETS = """
window.socketsOpened = 0;
window.WebSocket = class extends window.WebSocket {
    constructor(...args) {
        super(...args);
        window.socketsOpened += 1;
    }
};
"""


def messages(page: Page) -> Locator:
    """The texts of the chat messages the room page shows."""
    return page.locator("#chat-log li.message .text")


def save_unheard(chat_database: str, room: str, texts: list[str]) -> None:
    """Save messages that no live socket hears about, straight into the room's database,
    numbered on from the room's last seq as the chat would."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(chat_database) as database:
        room_id, last_seq = database.execute(
            "SELECT id, last_seq FROM chat_room WHERE name = ?", (room,)
        ).fetchone()
        database.executemany(
            "INSERT INTO chat_message (room_id, seq, author_name, text, created)"
            " VALUES (?, ?, 'guest-0001', ?, ?)",
            [(room_id, last_seq + n, text, now) for n, text in enumerate(texts, start=1)],
        )
        database.execute(
            "UPDATE chat_room SET last_seq = ? WHERE id = ?", (last_seq + len(texts), room_id)
        )


JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def assert_japanese(text: str) -> None:
    """Every sentence of text (each line, cut at 。) says something in Japanese: a message
    left in English, or an English part joined to a Japanese one, fails."""
    sentences = [part for line in text.splitlines() for part in line.split("。")]
    english = [part for part in sentences if part.strip(" ✓✗") and not JAPANESE.search(part)]
    assert text.strip() and not english, f"not in Japanese: {english} in {text!r}"


async def resume_after_failover(server, room: str, group, told, resume_seconds: float):
    """The failover story, under one daphne or through nginx: two guests chat; the Redis
    primary of group (workbook/sentinel.py) is killed; each socket is told (told(socket),
    within 10 s); they knock again until the chat takes them, as the page does, and a
    message goes from one to the other again; a newcomer shows in presence, and is gone
    when she leaves. Returns the old primary, the new one, how long after the kill the
    Sentinels all named it, and how long until the chat delivered again."""

    alice_cookie, bob_cookie, carol_cookie = [
        await asyncio.to_thread(guest_cookie, server, room) for _ in range(3)
    ]
    alice = await join_when_ready(server, room, alice_cookie, time.monotonic() + resume_seconds)
    bob = await join_when_ready(server, room, bob_cookie, time.monotonic() + resume_seconds)
    people = await wait_for_presence(alice, 2)
    await say_in_socket(alice, "before the failover")
    await next_frame(bob, message="before the failover")

    old = group.primary_address()
    killed = time.monotonic()
    group.kill_primary()

    def promotion() -> tuple[tuple[str, int], float]:
        """The new primary, and how long after the kill the Sentinels all named it."""
        return group.wait_for_failover(old), time.monotonic() - killed

    failover = asyncio.create_task(asyncio.to_thread(promotion))
    await asyncio.wait_for(asyncio.gather(told(alice), told(bob)), 10)
    deadline = killed + resume_seconds
    alice = await join_when_ready(server, room, alice_cookie, deadline)
    bob = await join_when_ready(server, room, bob_cookie, deadline)
    await say_in_socket(alice, "after the failover")
    await next_frame(bob, message="after the failover")
    resumed = time.monotonic() - killed
    new, promoted = await failover

    carol = await join_when_ready(server, room, carol_cookie, time.monotonic() + resume_seconds)
    assert set(people) < set(await wait_for_presence(alice, 3))
    await carol.close()
    assert await wait_for_presence(alice, 2) == people
    await alice.close()
    await bob.close()
    return old, new, promoted, resumed
