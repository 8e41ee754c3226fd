"""The chat in Japanese in a real browser: headless Chromium whose locale is Japanese (so it
sends Accept-Language: ja-JP) against real daphne and Redis.

This machine's Chromium may have no Japanese font: the tests read the page's text (the DOM),
never its pixels.
"""

import pytest
from playwright.sync_api import Page, expect

from tests.helpers import (
    messages,
    say_in_page,
)

pytestmark = pytest.mark.browser

ROOM_PATH = "/chat/demoroom/"


@pytest.fixture
def japanese_context(new_context):
    """Make fresh contexts (one per user) of a browser set to Japanese; closed after the test."""
    return lambda: new_context(locale="ja-JP")


def open_room(context, server) -> Page:
    """Open demoroom in a new tab of context and wait until its socket is open."""
    page = context.new_page()
    page.goto(server.url + ROOM_PATH)
    expect(page.locator("#chat-status")).to_have_attribute("data-state", "open")
    return page


def expect_language(page: Page, language: str, status: str) -> None:
    """The page is in language: <html lang>, and the status line room.js writes."""
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#chat-status")).to_have_text(status)


def test_the_room_page_is_japanese_and_switches_to_english_and_back(
    start_chat_server, japanese_context
):
    """A Japanese browser gets the room in Japanese, the page's and the script's texts alike;
    the header's switcher turns it to English and back, staying in the room."""
    server = start_chat_server()
    page = open_room(japanese_context(), server)
    expect_language(page, "ja", "demoroom に接続しました")
    expect(page.locator("#chat-message-submit")).to_have_value("送信")
    expect(page.locator("#chat-message-input")).to_have_attribute("placeholder", "メッセージを入力")
    expect(page.locator(".presence h2")).to_have_text("参加中")

    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(server.url + ROOM_PATH)
    expect_language(page, "en", "Connected to demoroom")
    expect(page.locator("#chat-message-submit")).to_have_value("Send")

    page.get_by_role("button", name="日本語").click()
    expect(page).to_have_url(server.url + ROOM_PATH)
    expect_language(page, "ja", "demoroom に接続しました")
    expect(page.get_by_role("link", name="ログイン")).to_be_visible()


def test_two_japanese_pages_chat(start_chat_server, japanese_context):
    """A message typed in one Japanese page shows in the other; meanwhile the other sees who
    is typing, in Japanese."""
    server = start_chat_server()
    alice = open_room(japanese_context(), server)
    bob = open_room(japanese_context(), server)
    alice_name = alice.locator("#chat-identity strong").text_content()

    alice.locator("#chat-message-input").press_sequentially("こんにちは")
    expect(bob.locator("#chat-typing")).to_have_text(f"{alice_name} さんが入力中…")
    alice.locator("#chat-message-input").press("Enter")
    expect(messages(bob)).to_have_text(["こんにちは"])
    expect(bob.locator("#chat-typing")).to_have_text("")

    say_in_page(bob, "やあ")
    expect(messages(alice)).to_have_text(["こんにちは", "やあ"])


def test_an_error_frame_is_shown_in_japanese(start_chat_server, japanese_context):
    """The server's error frame says client_cap (in English); the Japanese page shows the
    code's Japanese text instead."""
    server = start_chat_server(CHAT_CLIENT_SOCKETS="1")
    open_room(japanese_context(), server)
    second = japanese_context().new_page()
    second.goto(server.url + ROOM_PATH)
    notice = second.locator("#chat-log li.notice")
    expect(notice.first).to_have_text(
        "このアドレスからの接続が多すぎます。どれかを閉じてから、再接続してください。"
    )
    expect(second.locator("#chat-status")).to_contain_text("秒後に再接続します…")
