"""Guests: a name in a signed cookie (no session row for a visit), drawn from a space where
two equal names are rare and never one of the room's present people; and the cleanup of
sessions and of rooms in which nothing was said."""

from datetime import timedelta
from io import StringIO
from itertools import count

import pytest
from asgiref.sync import async_to_sync
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from chat import authors
from chat.authors import GUEST_COOKIE, Author, guest_name_in
from chat.history import save_message
from chat.models import Message, Room
from chat.presence import presence_store
from chat.rooms import group_name_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_memory_layer")]

ROOM = "/chat/demoroom/"


def guest_name_of(client: Client) -> str:
    """The guest name in the client's signed cookie."""
    return guest_name_in({GUEST_COOKIE: client.cookies[GUEST_COOKIE].value})


class TestNoSessionRow:
    def test_page_views_without_cookies_write_no_session(self):
        """Twenty browsers without cookies open pages: not one session row is written."""
        for _ in range(20):
            client = Client()
            for page in ("/chat/", ROOM, "/accounts/login/", "/accounts/signup/"):
                assert client.get(page).status_code == 200
        assert Session.objects.count() == 0

    def test_a_login_writes_the_first_row(self, django_user_model):
        """A session row appears once the session holds something: here, a login."""
        django_user_model.objects.create_user("alice", password="correct horse battery")
        client = Client()
        client.get(ROOM)
        client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery"})
        assert Session.objects.count() == 1


class TestGuestCookie:
    def test_a_browser_keeps_its_guest_name(self):
        """The first view sets the signed cookie; the next views show the same name, and
        do not set it again."""
        client = Client()
        first = client.get(ROOM)
        name = guest_name_of(client)
        assert name.startswith("guest-") and name in first.content.decode()
        cookie = first.cookies[GUEST_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        again = client.get("/chat/another/")
        assert name in again.content.decode()
        assert GUEST_COOKIE not in again.cookies

    def test_names_are_rarely_equal(self):
        """1,000 names, as 1,000 browsers' first views draw them: at most one pair of equal
        names (guest-0000 … guest-9999 gave 33 pairs; this space, one pair in about 1,800
        such runs, so two pairs in about six million)."""
        names = [authors.new_guest_name() for _ in range(1000)]
        assert len(names) - len(set(names)) <= 1
        assert all(
            set(name.removeprefix("guest-")) <= set(authors.GUEST_ALPHABET) for name in names
        )
        assert len(authors.GUEST_ALPHABET) ** authors.GUEST_NAME_LENGTH > 800_000_000

    def test_a_new_guest_is_not_named_like_someone_present(self, monkeypatch):
        """If the name drawn is present in the room already, another is drawn."""
        group = group_name_for("demoroom")
        async_to_sync(presence_store().join)(group, "socket-1", "guest-222222")
        # The draws: "2" six times, then "3" six times
        draws = count()
        monkeypatch.setattr(
            authors.secrets, "choice", lambda alphabet: "2" if next(draws) < 6 else "3"
        )
        client = Client()
        client.get(ROOM)
        assert guest_name_of(client) == "guest-333333"


class TestCleanup:
    def test_clearsessions_removes_only_expired_sessions(self):
        """Django's clearsessions (docs/chat.md) keeps live sessions and removes old ones."""
        now = timezone.now()
        Session.objects.create(session_key="old", session_data="", expire_date=now - timedelta(1))
        Session.objects.create(session_key="live", session_data="", expire_date=now + timedelta(1))
        call_command("clearsessions")
        assert list(Session.objects.values_list("session_key", flat=True)) == ["live"]

    def test_clearemptyrooms_removes_rooms_without_messages(self):
        """Rooms nobody spoke in go; rooms with messages stay, messages and all."""
        save_message("spoken", Author("guest"), "hello")
        # Rooms from before a room was made by its first message
        Room.objects.create(name="visited")
        Room.objects.create(name="also visited")
        output = StringIO()
        call_command("clearemptyrooms", stdout=output)
        assert list(Room.objects.values_list("name", flat=True)) == ["spoken"]
        assert Message.objects.count() == 1
        assert output.getvalue() == "Removed 2 empty rooms.\n"
