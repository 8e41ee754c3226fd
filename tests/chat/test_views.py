"""The index and room pages: the tutorial's element ids, Unicode rooms, clean 404s."""

import json
import re
from html import escape, unescape
from urllib.parse import quote

import pytest
from django.urls import reverse

from chat.authors import Author
from chat.history import save_message
from chat.models import Room
from chat.views import relative_path, reverse_websocket


def json_script(html: str, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert match, f"no json_script #{element_id}"
    return json.loads(match.group(1))


class TestIndex:
    def test_has_the_tutorial_form(self, client):
        """/chat/ shows the room-name input and button the tutorial's readers know."""
        html = client.get("/chat/").content.decode()
        assert 'id="room-name-input"' in html
        assert 'id="room-name-submit"' in html

    @pytest.mark.parametrize(
        ("typed", "room_url"),
        [("demoroom", "/chat/demoroom/"), ("雑談", "/chat/%E9%9B%91%E8%AB%87/")],
    )
    def test_a_good_name_leads_to_its_room(self, client, typed, room_url):
        response = client.get("/chat/", {"room": typed})
        assert response.status_code == 302
        assert response.url == room_url

    @pytest.mark.parametrize(
        ("typed", "why"),
        [
            ("", "cannot be empty"),
            ("a/b", "cannot contain '/'"),
            ("\u202egnp.exe", "invisible formatting characters"),
            ("demo\u200b", "invisible formatting characters"),
            ("\ufeffdemo", "invisible formatting characters"),
            ("demo ", "start or end with a space"),
            ("雑談\u3000", "start or end with a space"),
        ],
    )
    def test_a_bad_name_is_answered_on_the_index_page(self, client, typed, why):
        """The server's rule (chat/rooms.py) is the page's: it says why, and keeps the text."""
        response = client.get("/chat/", {"room": typed})
        assert response.status_code == 200
        html = response.content.decode()
        error = re.search(r'<p id="room-name-error"[^>]*>(.*?)</p>', html, re.S)
        assert why in unescape(error.group(1))
        assert "hidden" not in error.group(0)
        if typed:
            assert f'value="{escape(typed)}"' in html

    def test_site_root_redirects_to_the_chat(self, client):
        """/ sends visitors to the chat index."""
        response = client.get("/")
        assert response.status_code == 302
        assert response.url == "/chat/"


@pytest.mark.django_db
class TestRoom:
    @pytest.mark.parametrize("room", ["demoroom", "雑談", "café au lait", "what? #1 & 2%"])
    def test_renders_any_room(self, client, room):
        """The room page answers 200 for any valid name and shows it as the title."""
        response = client.get(f"/chat/{quote(room)}/")
        assert response.status_code == 200
        html = response.content.decode()
        for element_id in ("chat-log", "chat-message-input", "chat-message-submit"):
            assert f'id="{element_id}"' in html
        assert json_script(html, "room-name") == room

    @pytest.mark.django_db
    def test_a_visit_makes_no_room(self, client):
        """Only a saved message makes a room's row: visiting a new name writes none."""
        assert client.get("/chat/nobody-said-anything/").status_code == 200
        assert not Room.objects.exists()

    def test_socket_path_is_relative_to_the_page(self, client):
        """The page gets ../../ws/chat/<room>/, which works under any proxy prefix."""
        html = client.get("/chat/%E9%9B%91%E8%AB%87/").content.decode()
        assert json_script(html, "socket-path") == "../../ws/chat/%E9%9B%91%E8%AB%87/"

    def test_room_name_is_escaped_in_html(self, client):
        """A room name with markup is escaped, never injected."""
        html = client.get("/chat/" + quote("<b>x</b>") + "/").content.decode()
        assert "<b>x</b>" not in html

    @pytest.mark.parametrize(
        "path",
        [
            "/chat/" + "x" * 101 + "/",
            "/chat/%20%20/",
            "/chat/../",
            "/chat/a%00b/",
            "/chat/demo%20/",
            "/chat/%E2%80%AEgnp.exe/",
        ],
    )
    def test_invalid_names_are_a_404_not_a_500(self, client, path):
        """Empty, too-long or control-character names get a clean 404."""
        assert client.get(path).status_code == 404

    def test_unicode_name_without_slash_redirects(self, client):
        """Like every Django URL, a room URL without its trailing slash redirects to it."""
        response = client.get("/chat/%E9%9B%91%E8%AB%87")
        assert response.status_code == 301
        assert response.url == "/chat/%E9%9B%91%E8%AB%87/"


class TestUrlHelpers:
    def test_reverse_websocket_quotes_unicode(self):
        """WebSocket routes reverse like Django URLs, percent-encoded."""
        assert reverse_websocket("room", room_name="雑談") == "/ws/chat/%E9%9B%91%E8%AB%87/"

    def test_reverse_websocket_keeps_the_script_prefix(self):
        """Under a script prefix (FORCE_SCRIPT_NAME) the socket path carries it too."""
        from django.urls import set_script_prefix

        set_script_prefix("/workshop/")
        try:
            assert reverse_websocket("room", room_name="a") == "/workshop/ws/chat/a/"
            assert reverse("chat:room", args=["a"]) == "/workshop/chat/a/"
        finally:
            set_script_prefix("/")

    @pytest.mark.parametrize(
        ("page", "target", "expected"),
        [
            ("/chat/a/", "/ws/chat/a/", "../../ws/chat/a/"),
            ("/p/chat/a/", "/p/ws/chat/a/", "../../ws/chat/a/"),
            ("/user/x/proxy/8001/chat/a/", "/user/x/proxy/8001/ws/chat/a/", "../../ws/chat/a/"),
            ("/chat/a/", "/chat/b/", "../b/"),
            ("/chat/a/", "/chat/a/", ""),
            ("/chat/", "/chat/a/", "a/"),
            ("/", "/ws/", "ws/"),
        ],
    )
    def test_relative_path(self, page, target, expected):
        """relative_path climbs out of the folders the page does not share with the target."""
        assert relative_path(page, target) == expected


@pytest.mark.django_db
class TestAdmin:
    def test_lists_rooms_and_messages(self, admin_client):
        """The admin shows rooms by the names people typed, and messages with their authors."""
        save_message("雑談", Author("guest-0042"), "こんにちは")

        rooms = admin_client.get("/admin/chat/room/")
        assert rooms.status_code == 200
        assert "雑談" in rooms.content.decode()
        messages = admin_client.get("/admin/chat/message/")
        assert messages.status_code == 200
        assert "こんにちは" in messages.content.decode()
        assert "guest-0042" in messages.content.decode()

    def test_needs_a_staff_login(self, client):
        assert client.get("/admin/chat/message/").status_code == 302
