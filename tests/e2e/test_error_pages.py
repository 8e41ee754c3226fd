"""Error pages of a real daphne with debug on (the workshop default) show no password from
REDIS_URL or DATABASE_URL, and neither does its log."""

import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.live

PASSWORD = "s3cret-in-url"


def error_page(server, path: str, **headers: str) -> tuple[int, str]:
    """The status and body of a request that the server answers with an error."""
    request = urllib.request.Request(f"{server.url}{path}", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)
    return answer.value.code, answer.value.read().decode()


@pytest.fixture
def server_with_passwords(start_chat_server, redis_url, tmp_path):
    """A debug server whose REDIS_URL and DATABASE_URL both carry a password.

    The database is an empty SQLite file (no tables), so a request that reads a session
    fails; SQLite ignores the password, which still sits in the settings.
    """
    host_and_port = redis_url.split("://", 1)[1]
    empty = tmp_path / "empty.sqlite3"
    return start_chat_server(
        redis=f"redis://chat:{PASSWORD}@{host_and_port}",
        DATABASE_URL=f"sqlite://chat:{PASSWORD}@/{empty}",
        DJANGO_DEBUG="1",
    )


def test_a_foreign_host_gets_the_debug_page_without_passwords(server_with_passwords):
    """Host: evil.example is refused on Django's debug page, whose settings hide passwords."""
    status, page = error_page(server_with_passwords, "/chat/", Host="evil.example")
    assert status == 400
    assert "DisallowedHost" in page
    assert "REDIS_URL" in page  # the settings are listed ...
    assert "redis://chat:***@" in page  # ... with the password blanked
    assert PASSWORD not in page


def test_a_view_that_raises_shows_no_password(server_with_passwords):
    """A request whose session read fails: traceback and settings, and no password anywhere."""
    status, page = error_page(
        server_with_passwords, "/chat/demoroom/", Cookie="sessionid=" + "x" * 32
    )
    assert status == 500
    assert "no such table: django_session" in page
    assert "DATABASE_URL" in page
    assert "sqlite://chat:***@" in page
    assert PASSWORD not in page
    # The log has the traceback and the channel layer's start-up line, without it too
    log = server_with_passwords.log()
    assert "no such table: django_session" in log
    assert "redis://chat:***@" in log
    assert PASSWORD not in log
