"""Sign-up, log-in and log-out: safe redirects, guest names kept for guests, the page's nav,
the login throttle, and names that look like another's refused."""

import re
from html import escape
from types import SimpleNamespace

import pytest
from django.contrib.auth import SESSION_KEY

from accounts.forms import SignUpForm
from accounts.throttle import login_address
from chat.counters import counted
from chat.frames import LOGIN_LOCKED
from chatproject.settings import AXES_FAILURE_LIMIT

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


def log_in(client, username: str, password: str, address: str):
    """POST the login form from a client address; the response."""
    data = {"username": username, "password": password}
    return client.post("/accounts/login/", data, REMOTE_ADDR=address)


@pytest.mark.django_db
class TestLoginThrottle:
    def test_five_wrong_passwords_lock_the_user_name(self, client, django_user_model):
        """After 5 failures for alice, the right password is refused too, from any address."""
        django_user_model.objects.create_user("alice", password=PASSWORD)
        statuses = [log_in(client, "alice", "wrong", "10.0.0.1").status_code for _ in range(5)]
        # The failure that reaches the limit is answered with the lockout page already
        assert statuses == [200] * (AXES_FAILURE_LIMIT - 1) + [429]
        response = log_in(client, "alice", PASSWORD, "10.0.0.2")
        assert response.status_code == 429
        assert 'id="locked-out"' in response.content.decode()
        assert logged_in_user_id(client) is None

    def test_five_failures_lock_the_address(self, client, django_user_model):
        """Five names tried from one address: a sixth login there waits; elsewhere it works."""
        django_user_model.objects.create_user("carol", password=PASSWORD)
        for name in ("ann", "ben", "cat", "dan", "eve"):
            log_in(client, name, "wrong", "10.0.0.1")
        assert log_in(client, "carol", PASSWORD, "10.0.0.1").status_code == 429
        assert log_in(client, "carol", PASSWORD, "10.0.0.2").status_code == 302
        assert logged_in_user_id(client) is not None

    def test_fewer_failures_still_log_in(self, client, django_user_model):
        """Four typos, then the right password: logged in (the throttle is not a trap)."""
        django_user_model.objects.create_user("alice", password=PASSWORD)
        for _ in range(AXES_FAILURE_LIMIT - 1):
            log_in(client, "alice", "wrong", "10.0.0.1")
        assert log_in(client, "alice", PASSWORD, "10.0.0.1").status_code == 302

    def test_a_lockout_is_counted(self, client):
        """Refused logins are counted like every other refusal (login_locked)."""
        before = counted(LOGIN_LOCKED)
        for _ in range(AXES_FAILURE_LIMIT + 1):
            log_in(client, "alice", "wrong", "10.0.0.1")
        assert counted(LOGIN_LOCKED) > before


@pytest.mark.django_db(transaction=True)
async def test_async_login_still_works(async_client, django_user_model):
    """Django's alogin() (the test client's, notebook 06's) goes through the throttle's
    backend too, and logs in."""
    await django_user_model.objects.acreate_user("alice", password=PASSWORD)
    assert not await async_client.alogin(username="alice", password="wrong")
    assert await async_client.alogin(username="alice", password=PASSWORD)


@pytest.mark.django_db
class TestLookalikeNames:
    @pytest.mark.parametrize(
        "username",
        ["\u0430lice", "a1ice", "aIice", "al\u200bice", "\u0251lice"],
        ids=["cyrillic-a", "digit-one", "capital-i", "zero-width-space", "latin-alpha"],
    )
    def test_refuses_a_name_that_looks_like_a_user(self, client, django_user_model, username):
        """A name with alice's TR39 skeleton is refused next to alice, and nobody is created."""
        django_user_model.objects.create_user("alice")
        response = sign_up(client, username)
        assert escape(SignUpForm.error_messages["lookalike"]) in response.content.decode()
        assert list(django_user_model.objects.values_list("username", flat=True)) == ["alice"]

    @pytest.mark.parametrize("username", ["gu\u0435st-1", "gu\u0435st", "GUEST-1", "guest\u200b-2"])
    def test_refuses_a_name_that_looks_like_a_guest(self, client, django_user_model, username):
        """ "guеst-1" with a Cyrillic е looks like a guest's name: refused as one."""
        response = sign_up(client, username)
        assert escape(SignUpForm.error_messages["guest_name"]) in response.content.decode()
        assert not django_user_model.objects.exists()

    @pytest.mark.parametrize("username", ["alicia", "malice", "\u0430\u0431\u0432"])
    def test_allows_names_that_differ(self, client, django_user_model, username):
        """Names that only share letters with alice, or are all Cyrillic, are fine."""
        django_user_model.objects.create_user("alice")
        assert sign_up(client, username).status_code == 302


class TestLoginAddress:
    """The throttle counts the client the budgets see: behind a trusted proxy, the client."""

    @staticmethod
    def request(peer: str, forwarded: str | None = None):
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return SimpleNamespace(scope={"client": (peer, 50000), "headers": headers}, META={})

    def test_the_peer_without_a_trusted_proxy(self, settings):
        settings.CHAT_TRUSTED_PROXIES = []
        assert login_address(self.request("203.0.113.5", "198.51.100.7")) == "203.0.113.5"

    def test_the_client_behind_a_trusted_proxy(self, settings):
        settings.CHAT_TRUSTED_PROXIES = ["10.0.0.9"]
        assert login_address(self.request("10.0.0.9", "198.51.100.7")) == "198.51.100.7"
        assert login_address(self.request("::ffff:10.0.0.9", "2001:db8::1")) == "2001:db8::1"

    def test_a_wsgi_request_keeps_remote_addr(self):
        assert login_address(SimpleNamespace(META={"REMOTE_ADDR": "10.0.0.1"})) == "10.0.0.1"
