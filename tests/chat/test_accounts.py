"""Sign-up, log-in and log-out: safe redirects, guest names kept for guests, the page's nav."""

import re
from html import escape

import pytest
from django.contrib.auth import SESSION_KEY

from accounts.forms import SignUpForm

PASSWORD = "correct horse battery"
ROOM = "/chat/demoroom/"


def sign_up(client, username: str, **extra: str):
    data = {"username": username, "password1": PASSWORD, "password2": PASSWORD, **extra}
    return client.post("/accounts/signup/", data)


def logged_in_user_id(client) -> str | None:
    return client.session.get(SESSION_KEY)


def identity(html: str) -> str:
    """The name #chat-identity shows."""
    match = re.search(r'id="chat-identity".*?<strong>(.*?)</strong>', html, re.DOTALL)
    assert match, "no #chat-identity"
    return match.group(1)


@pytest.mark.django_db
class TestSignUp:
    def test_creates_the_user_logs_them_in_and_redirects(self, client, django_user_model):
        """A valid sign-up creates the user, logs them in and lands on the chat index."""
        response = sign_up(client, "alice")
        user = django_user_model.objects.get(username="alice")
        assert response.status_code == 302
        assert response.url == "/chat/"
        assert logged_in_user_id(client) == str(user.pk)

    def test_honours_a_safe_next(self, client):
        """After sign-up the user goes back to the page they came from."""
        response = sign_up(client, "alice", next=ROOM)
        assert response.url == ROOM

    def test_ignores_an_unsafe_next(self, client):
        """A next on another host is dropped: the user lands on the chat index instead."""
        response = sign_up(client, "alice", next="http://evil.example/")
        assert response.url == "/chat/"

    def test_form_carries_a_safe_next_only(self, client):
        """The page puts a safe next in its form's hidden field, and never an unsafe one."""
        safe = client.get("/accounts/signup/", {"next": ROOM}).content.decode()
        unsafe = client.get("/accounts/signup/", {"next": "http://evil.example/"}).content.decode()
        assert f'name="next" value="{ROOM}"' in safe
        assert "evil.example" not in unsafe

    @pytest.mark.parametrize("username", ["guest-0042", "Guest-1", "guest", "GUEST"])
    def test_refuses_guest_names(self, client, django_user_model, username):
        """A name a guest could have is refused with a clear error, and no user is created."""
        response = sign_up(client, username)
        assert response.status_code == 200
        assert escape(SignUpForm.error_messages["guest_name"]) in response.content.decode()
        assert not django_user_model.objects.exists()
        assert logged_in_user_id(client) is None

    @pytest.mark.parametrize("username", ["guesthouse", "my-guest-1", "guest_1"])
    def test_allows_names_that_only_resemble_a_guest(self, client, django_user_model, username):
        """Only "guest" itself and the "guest-" prefix are kept for guests."""
        assert sign_up(client, username).status_code == 302
        assert django_user_model.objects.filter(username=username).exists()


@pytest.mark.django_db
class TestLogIn:
    def test_logs_in_and_honours_next(self, client, django_user_model):
        """The right password logs the user in and sends them back to next."""
        user = django_user_model.objects.create_user("alice", password=PASSWORD)
        data = {"username": "alice", "password": PASSWORD, "next": ROOM}
        response = client.post("/accounts/login/", data)
        assert response.url == ROOM
        assert logged_in_user_id(client) == str(user.pk)

    def test_wrong_password_is_refused(self, client, django_user_model):
        """A wrong password shows the form again and logs nobody in."""
        django_user_model.objects.create_user("alice", password=PASSWORD)
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert response.status_code == 200
        assert logged_in_user_id(client) is None


@pytest.mark.django_db
class TestLogOut:
    def test_post_logs_out_and_redirects_to_the_index(self, client, django_user_model):
        """POST logs the user out and lands on the chat index."""
        client.force_login(django_user_model.objects.create_user("alice"))
        response = client.post("/accounts/logout/")
        assert response.url == "/chat/"
        assert logged_in_user_id(client) is None

    def test_get_does_not_log_out(self, client, django_user_model):
        """Log-out is POST only: a link or a prefetch cannot log anyone out."""
        client.force_login(django_user_model.objects.create_user("alice"))
        assert client.get("/accounts/logout/").status_code == 405
        assert logged_in_user_id(client) is not None


@pytest.mark.django_db
class TestNav:
    def test_guest_sees_log_in_and_sign_up_that_lead_back(self, client):
        """A guest's nav offers log-in and sign-up, each with next pointing at this page."""
        html = client.get(ROOM).content.decode()
        assert 'href="/accounts/login/?next=/chat/demoroom/"' in html
        assert 'href="/accounts/signup/?next=/chat/demoroom/"' in html
        assert identity(html).startswith("guest-")

    def test_user_sees_their_name_and_a_log_out_form(self, client, django_user_model):
        """A logged-in user is named in the nav and in #chat-identity; log-out is a POST form."""
        client.force_login(django_user_model.objects.create_user("alice"))
        html = client.get(ROOM).content.decode()
        assert identity(html) == "alice"
        assert "Signed in as <strong>alice</strong>" in html
        form = re.search(r'<form method="post" action="/accounts/logout/">(.*?)</form>', html, re.S)
        assert form, "no log-out form"
        assert 'name="csrfmiddlewaretoken"' in form.group(1)
        assert "/accounts/login/" not in html
