"""The chat pages in a real browser: headless Chromium against real daphne and Redis.

Each browser context is an independent user (its own cookies, storage and sockets). Nothing
here sleeps: Playwright's expect() polls until the page shows what it should, or times out.
"""

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.helpers import (
    COUNT_SOCKETS,
    TIMEOUT_MS,
    messages,
    save_unheard,
    say_in_page,
    say_not_saved,
    write_lock_held,
)
from workbook import RedisServer

pytestmark = pytest.mark.browser

# How long a page may take to connect, or a message to arrive
# A restarted server is found by the page's own backoff (0.5 s, 1 s, 2 s … with jitter)
RECONNECT_TIMEOUT_MS = 20_000


def room_path(room: str) -> str:
    """The room page's path as the browser shows it: the name percent-encoded as UTF-8."""
    return f"/chat/{quote(room, safe='')}/"


def open_room(context: BrowserContext, server, room: str = "demoroom") -> Page:
    """Open the room page in a new tab of context and wait until its socket is open."""
    page = context.new_page()
    page.goto(server.url + room_path(room))
    wait_until_connected(page)
    return page


def wait_until_connected(page: Page, timeout: float = TIMEOUT_MS) -> None:
    expect(page.locator("#chat-status")).to_have_attribute("data-state", "open", timeout=timeout)


def two_users(new_context, server, room: str = "demoroom") -> tuple[Page, Page]:
    """Two users in room, each in a browser context (cookies, sockets) of their own."""
    return open_room(new_context(), server, room), open_room(new_context(), server, room)


def say_first(sender: Page, text: str, *readers: Page) -> None:
    """sender says the room's first message; each reader's log then shows it, and only it."""
    say_in_page(sender, text)
    for reader in readers:
        expect(messages(reader)).to_have_text([text])


def test_two_users_in_one_room_both_see_a_message(start_chat_server, new_context):
    """A message typed by one user in demoroom appears in both users' logs."""
    alice, bob = two_users(new_context, start_chat_server())
    say_first(alice, "hogehoge", alice, bob)


def test_a_user_in_another_room_does_not_receive_the_message(start_chat_server, new_context):
    """A user in another room sees only that room's messages, never demoroom's."""
    server = start_chat_server()
    alice, bob = two_users(new_context, server)
    carol = open_room(new_context(), server, "otherroom")

    say_first(alice, "hogehoge", bob)
    # Carol's own message arriving proves her socket is live; anything sent to her before it
    # (such as a leaked "hogehoge") would already be in her log
    say_in_page(carol, "fugafuga")
    expect(messages(carol)).to_have_text(["fugafuga"])
    expect(messages(bob)).to_have_text(["hogehoge"])


def test_japanese_room_name_from_the_index_page(start_chat_server, new_context):
    """Typing 雑談 on the index page leads to its room, where two users can chat."""
    server = start_chat_server()
    alice = new_context().new_page()
    alice.goto(server.url + "/chat/")
    alice.locator("#room-name-input").fill("雑談")
    alice.locator("#room-name-submit").click()

    expect(alice).to_have_url(server.url + "/chat/%E9%9B%91%E8%AB%87/")
    expect(alice.locator("h1")).to_have_text("雑談")
    expect(alice.locator("#chat-status")).to_have_text("Connected to 雑談")
    bob = open_room(new_context(), server, "雑談")

    say_in_page(alice, "こんにちは")
    expect(messages(bob)).to_have_text(["こんにちは"])
    say_in_page(bob, "やあ")
    expect(messages(alice)).to_have_text(["こんにちは", "やあ"])


def test_html_in_a_message_is_shown_as_text(start_chat_server, new_context):
    """Markup in a message appears as literal text and is never run or rendered."""
    alice, bob = two_users(new_context, start_chat_server())
    markup = '<img src=x onerror="window.__pwned=1"><b>bold</b>'

    say_in_page(alice, markup)

    for page in (bob, alice):
        expect(messages(page)).to_have_count(1)
        assert messages(page).text_content() == markup
        expect(page.locator("#chat-log img")).to_have_count(0)
        expect(page.locator("#chat-log b")).to_have_count(0)
        assert page.evaluate("typeof window.__pwned") == "undefined"


def test_index_page_refuses_bad_room_names(start_chat_server, new_context):
    """The server's rule answers on the index page: an empty name, "/", a direction override."""
    server = start_chat_server()
    page = new_context().new_page()
    page.goto(server.url + "/chat/")
    name_box = page.locator("#room-name-input")
    error = page.locator("#room-name-error")
    expect(error).to_be_hidden()

    page.locator("#room-name-submit").click()
    expect(error).to_be_visible()
    expect(error).to_have_text("A room name cannot be empty.")

    for typed, why in [("a/b", "cannot contain '/'"), ("\u202egnp.exe", "invisible")]:
        name_box.fill(typed)
        name_box.press("Enter")
        expect(error).to_contain_text(why)
        expect(name_box).to_have_value(typed)
        expect(page.locator("h1")).to_have_text("Chat rooms")


def test_room_page_reconnects_after_a_server_restart(start_chat_server, new_context):
    """The room page notices the server going away, reconnects by itself, and chats again."""
    server = start_chat_server()
    alice = open_room(new_context(), server)
    status = alice.locator("#chat-status")

    server.stop()
    # State and text checked together: "closed" with its countdown, between retries
    expect(alice.locator("#chat-status[data-state=closed]")).to_contain_text(
        re.compile(r"Disconnected; reconnecting in \d+\.\d s")
    )

    restarted = start_chat_server(port=server.port)
    wait_until_connected(alice, timeout=RECONNECT_TIMEOUT_MS)
    expect(status).to_have_text("Connected to demoroom")
    bob = open_room(new_context(), restarted)

    # Alice hears her own message too: her new socket has joined the room's group again
    say_first(alice, "hogehoge", bob, alice)


def test_chat_log_still_answers_the_tutorials_value(start_chat_server, new_context):
    """#chat-log.value reads like the tutorial's textarea: one line per message."""
    alice, bob = two_users(new_context, start_chat_server())
    say_first(alice, "hogehoge", bob)

    assert "hogehoge\n" in bob.eval_on_selector("#chat-log", "el => el.value")
    assert bob.eval_on_selector("#chat-log", "el => el.value") == "hogehoge\n"


def test_reloading_the_page_shows_the_history(start_chat_server, new_context):
    """The room keeps its messages: a reload (or a new visitor) shows them, with authors."""
    server = start_chat_server()
    alice = open_room(new_context(), server)
    say_in_page(alice, "hogehoge")
    say_in_page(alice, "fugafuga")
    expect(messages(alice)).to_have_text(["hogehoge", "fugafuga"])
    name = alice.locator("#chat-identity strong").text_content()

    alice.reload()
    wait_until_connected(alice)
    expect(messages(alice)).to_have_text(["hogehoge", "fugafuga"])
    expect(alice.locator("#chat-log li.message .author")).to_have_text([name, name])
    bob = open_room(new_context(), server)
    expect(messages(bob)).to_have_text(["hogehoge", "fugafuga"])


def test_messages_sent_while_the_page_was_cut_off_appear_once(start_chat_server, new_context):
    """Alice's server is killed; Bob chats through another process; her page catches up."""
    first, second = start_chat_server(), start_chat_server()
    alice = open_room(new_context(), first)
    bob = open_room(new_context(), second)
    say_in_page(bob, "before")
    expect(messages(alice)).to_have_text(["before"])

    first.kill()
    expect(alice.locator("#chat-status[data-state=closed]")).to_be_visible()
    for text in ("while you were away", "and this"):
        say_in_page(bob, text)
    expect(messages(bob)).to_have_text(["before", "while you were away", "and this"])

    start_chat_server(port=first.port)
    wait_until_connected(alice, timeout=RECONNECT_TIMEOUT_MS)
    expect(messages(alice)).to_have_text(["before", "while you were away", "and this"])
    say_in_page(alice, "back")
    expect(messages(bob)).to_have_text(["before", "while you were away", "and this", "back"])
    expect(messages(alice)).to_have_text(["before", "while you were away", "and this", "back"])


def test_who_is_here_and_who_is_typing(start_chat_server, new_context):
    """Both names are listed; Bob sees Alice typing until her message arrives."""
    server = start_chat_server()
    # A room of its own: servers stopped by other tests leave entries for CHAT_PRESENCE_TTL
    alice, bob = two_users(new_context, server, "who-is-here")
    alice_name = alice.locator("#chat-identity strong").text_content()
    bob_name = bob.locator("#chat-identity strong").text_content()
    both = sorted([alice_name, bob_name])
    expect(alice.locator("#chat-presence li")).to_have_text(both)
    expect(bob.locator("#chat-presence li")).to_have_text(both)

    alice.locator("#chat-message-input").press_sequentially("hoge")
    expect(bob.locator("#chat-typing")).to_have_text(f"{alice_name} is typing…")
    expect(alice.locator("#chat-typing")).to_have_text("")
    alice.locator("#chat-message-input").press("Enter")
    expect(messages(bob)).to_have_text(["hoge"])
    expect(bob.locator("#chat-typing")).to_have_text("")

    bob.close()
    expect(alice.locator("#chat-presence li")).to_have_text([alice_name])


def sign_up(page: Page, server, username: str, room: str = "demoroom") -> None:
    """Sign up on the page's form and land in room, connected, under that name."""
    page.goto(f"{server.url}/accounts/signup/?next={room_path(room)}")
    page.locator("#id_username").fill(username)
    page.locator("#id_password1").fill("a long passphrase 雑談")
    page.locator("#id_password2").fill("a long passphrase 雑談")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(server.url + room_path(room))
    expect(page.locator("#chat-identity strong")).to_have_text(username)
    wait_until_connected(page)


def test_a_signed_up_user_and_a_guest_chat(start_chat_server, new_context):
    """Alice signs up and lands in the room under her name; Bob is a guest; each sees who."""
    server = start_chat_server()
    alice = new_context().new_page()
    sign_up(alice, server, "alice")

    bob = open_room(new_context(), server)
    bob_name = bob.locator("#chat-identity strong").text_content()
    assert bob_name.startswith("guest-")

    say_in_page(alice, "hogehoge")
    say_in_page(bob, "fugafuga")
    for page in (alice, bob):
        expect(messages(page)).to_have_text(["hogehoge", "fugafuga"])
        expect(page.locator("#chat-log li.message .author")).to_have_text(["alice", bob_name])


def test_logging_out_closes_the_other_tabs_socket_for_good(start_chat_server, new_context):
    """Alice logs out in one tab: her other tab says why, and does not reconnect as her."""
    server = start_chat_server()
    context = new_context()
    first = context.new_page()
    sign_up(first, server, "alice")
    second = open_room(context, server)
    sockets = []
    second.on("websocket", lambda socket: sockets.append(socket.url))

    first.get_by_role("button", name="Log out").click()
    expect(second.locator("#chat-status")).to_have_text("Signed out: reload the page to chat again")
    expect(second.locator("#chat-status")).to_have_attribute("data-state", "closed")
    expect(second.locator("#chat-log li").last).to_contain_text("signed out")
    # The page's backoff would have opened a socket within a second: none comes
    second.wait_for_timeout(2000)
    assert sockets == []
    expect(second.locator("#chat-status")).to_have_attribute("data-state", "closed")


def test_the_page_says_when_redis_is_gone_and_recovers(start_chat_server, new_context, tmp_path):
    """Redis stops: the page says so and keeps retrying; Redis is back: it chats again."""
    redis = RedisServer(tmp_path / "redis").start()
    try:
        server = start_chat_server(redis=redis.url)
        alice = open_room(new_context(), server)
        say_in_page(alice, "before")
        expect(messages(alice)).to_have_text(["before"])

        redis.stop()
        notice = alice.locator("#chat-log li.notice").filter(has_text="The chat is unavailable")
        expect(notice.first).to_contain_text("lost its connection to Redis")
        expect(alice.locator("#chat-status[data-state=closed]")).to_be_visible()

        redis.start()
        wait_until_connected(alice, timeout=RECONNECT_TIMEOUT_MS)
        say_in_page(alice, "after")
        expect(messages(alice)).to_have_text(["before", "after"])
    finally:
        redis.stop()


def test_a_page_over_its_addresss_socket_cap_is_told_why(start_chat_server, new_context):
    """One socket per address allowed: a second tab hears why it was closed, as a notice,
    not as a message of its own that was "not sent", and its box stays empty."""
    server = start_chat_server(CHAT_CLIENT_SOCKETS="1")
    open_room(new_context(), server)
    second = new_context().new_page()
    second.goto(server.url + room_path("demoroom"))
    notice = second.locator("#chat-log li.notice").filter(has_text="too many connections")
    expect(notice.first).to_be_visible()
    expect(second.locator("#chat-log li.notice").filter(has_text="Not sent")).to_have_count(0)
    expect(second.locator("#chat-message-input")).to_have_value("")


def test_during_a_redis_outage_the_page_backs_off(start_chat_server, new_context, tmp_path):
    """A 10 s Redis outage: every try is accepted and then closed (4013); the page backs off
    across those tries, as the server's retry_after asks, and opens at most 4 sockets."""
    redis = RedisServer(tmp_path / "redis").start()
    try:
        server = start_chat_server(redis=redis.url)
        context = new_context()
        context.add_init_script(COUNT_SOCKETS)
        alice = open_room(context, server)
        redis.stop()
        expect(alice.locator("#chat-status[data-state=closed]")).to_be_visible()
        before = alice.evaluate("window.socketsOpened")
        # The outage's length is the scenario: ten seconds, whatever the page does meanwhile
        alice.wait_for_timeout(10_000)
        opened = alice.evaluate("window.socketsOpened") - before
        assert 1 <= opened <= 4, f"{opened} sockets in a 10 s outage"

        redis.start()
        wait_until_connected(alice, timeout=RECONNECT_TIMEOUT_MS)
        say_in_page(alice, "back")
        expect(messages(alice)).to_have_text(["back"])
    finally:
        redis.stop()


def test_a_long_absence_comes_back_in_pages(start_chat_server, new_context, chat_database):
    """More than two pages of history missed: the page asks page after page, shows each once."""
    server = start_chat_server()
    alice = open_room(new_context(), server, "paging")
    say_in_page(alice, "before")
    expect(messages(alice)).to_have_text(["before"])
    server.stop()

    missed = [f"missed {n:03d}" for n in range(450)]
    save_unheard(chat_database, "paging", missed)

    start_chat_server(port=server.port)
    wait_until_connected(alice, timeout=RECONNECT_TIMEOUT_MS)
    expect(messages(alice)).to_have_count(1 + len(missed))
    assert messages(alice).all_text_contents() == ["before", *missed]


def test_a_message_the_chat_could_not_save_stays_in_the_box(
    start_chat_server, chat_database, new_context
):
    """Another process holds the database's write lock: the page says the message was not
    sent, keeps its text in the box and stays connected; once the lock is free, Enter sends
    the same text and the room gets it."""
    server = start_chat_server(CHAT_SAVE_SECONDS="1")
    alice, bob = two_users(new_context, server)
    box = alice.locator("#chat-message-input")
    with write_lock_held(chat_database):
        say_not_saved(alice, "worth keeping")
    box.press("Enter")
    expect(messages(bob)).to_have_text(["worth keeping"])
    expect(box).to_have_value("")
    expect(messages(alice)).to_have_text(["worth keeping"])


def test_a_gap_in_seq_is_filled_without_reconnecting(start_chat_server, new_context, chat_database):
    """A message whose broadcast was lost: the next live message's seq jumps past it, and
    the page fetches it at once on its open socket and shows it in its place, once."""
    server = start_chat_server()
    alice_context = new_context()
    alice_context.add_init_script(COUNT_SOCKETS)
    alice = open_room(alice_context, server, "gaps")
    bob = open_room(new_context(), server, "gaps")
    say_first(bob, "one", alice)

    # Saved, but as if its broadcast had been lost on the way
    save_unheard(chat_database, "gaps", ["two, never heard live"])
    say_in_page(bob, "three")

    in_order = ["one", "two, never heard live", "three"]
    expect(messages(alice)).to_have_text(in_order)
    assert alice.evaluate("window.socketsOpened") == 1
    expect(alice.locator("#chat-status")).to_have_attribute("data-state", "open")
    # The repair is not a one-off: the next message goes on after it, shown once
    say_in_page(bob, "four")
    expect(messages(alice)).to_have_text([*in_order, "four"])
    assert alice.evaluate("window.socketsOpened") == 1
