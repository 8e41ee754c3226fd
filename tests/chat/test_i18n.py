"""The chat in Japanese: Accept-Language and the header's switcher choose the pages'
language, English by default; Django's own messages follow; the room page's script has a
Japanese text for every error code; the catalogs are complete and in sync with the code."""

import json
import re
import shutil
import subprocess
import sys
from html import escape, unescape

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation.trans_real import DjangoTranslation

from chat import frames
from tests.helpers import require
from workbook import CHATPROJECT_DIR

ROOM = "/chat/demoroom/"
# Kana, kanji and Japanese punctuation (、。「」)
JAPANESE = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]")
CATALOG_DIR = CHATPROJECT_DIR / "locale" / "ja" / "LC_MESSAGES"
ROOM_JS = CHATPROJECT_DIR / "chat" / "static" / "chat" / "room.js"
# A %(name)s field of Django's catalogs, or a {name} one of format_lazy()
FIELD = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]*)">', html)
    assert match, "no <html lang>"
    return match.group(1)


def in_japanese(client, path: str) -> str:
    response = client.get(path, headers={"Accept-Language": "ja"})
    assert response.status_code == 200
    return response.content.decode()


def switcher(html: str) -> tuple[str, str]:
    """The header switcher's form: where it posts, and the page it comes back to."""
    form = re.search(r'<form id="language-switcher"[^>]*action="([^"]+)"(.*?)</form>', html, re.S)
    assert form, "no language switcher"
    back = re.search(r'name="next" value="([^"]*)"', form.group(2))
    return form.group(1), unescape(back.group(1))


@pytest.mark.django_db
class TestAcceptLanguage:
    @pytest.mark.parametrize(
        ("path", "texts"),
        [
            ("/chat/", ["チャットの部屋", "どの部屋に入りますか？", 'value="入室"']),
            (ROOM, ["参加中", 'placeholder="メッセージを入力"', 'value="送信"', "接続しています…"]),
            ("/accounts/login/", ["<h1>ログイン</h1>", "ゲストとしてチャット"]),
            ("/accounts/signup/", ["<h1>アカウント登録</h1>", "ゲストとしてチャット"]),
        ],
    )
    def test_pages_are_in_japanese(self, client, path, texts):
        """Accept-Language: ja gives the page in Japanese, and says so in <html lang>."""
        html = in_japanese(client, path)
        assert html_lang(html) == "ja"
        for text in texts:
            assert text in html

    def test_english_by_default(self, client):
        """Without Accept-Language, and with a language the chat does not have, English."""
        for headers in ({}, {"Accept-Language": "fr"}):
            html = client.get(ROOM, headers=headers).content.decode()
            assert html_lang(html) == "en"
            assert 'placeholder="Say something"' in html

    def test_the_room_page_loads_its_script_texts_in_japanese(self, client):
        """The room page loads the JavaScript catalog before room.js; in Japanese with ja."""
        html = in_japanese(client, ROOM)
        scripts = re.findall(r'<script src="([^"]+)"', html)
        assert scripts == ["/jsi18n/", "/static/chat/room.js"]
        catalog = client.get("/jsi18n/", headers={"Accept-Language": "ja"}).content.decode()
        # The catalog is JSON (ASCII, Japanese escaped as \uXXXX)
        assert json.dumps("%(room)s に接続しました") in catalog

    def test_a_bad_room_name_is_answered_in_japanese(self, client):
        """The room-name rules (chat/rooms.py) speak the page's language."""
        html = in_japanese(client, "/chat/?room=a/b")
        error = re.search(r'<p id="room-name-error"[^>]*>(.*?)</p>', html, re.S)
        assert unescape(error.group(1)).strip() == "部屋の名前に「/」は使えません。"

    def test_a_missing_page_is_in_japanese(self, client):
        """A room name no room can have is a 404: the chat's own page, in Japanese."""
        response = client.get("/chat/demo%20/", headers={"Accept-Language": "ja"})
        assert response.status_code == 404
        html = response.content.decode()
        assert html_lang(html) == "ja"
        assert "<h1>ページが見つかりません</h1>" in html

    def test_the_lockout_page_is_in_japanese(self, client):
        """Too many wrong passwords: the 429 page is in the page's language too."""
        data = {"username": "alice", "password": "wrong"}
        for _ in range(settings.AXES_FAILURE_LIMIT):
            response = client.post("/accounts/login/", data, headers={"Accept-Language": "ja"})
        assert response.status_code == 429
        assert "ログインの失敗が多すぎます" in response.content.decode()


@pytest.mark.django_db
class TestSwitcher:
    def test_every_page_has_one_that_comes_back_to_it(self, client):
        """Each page's header posts to set_language and names itself as the page to return to."""
        for path in ("/chat/", ROOM, "/accounts/login/", "/accounts/signup/"):
            assert switcher(client.get(path).content.decode()) == ("/i18n/setlang/", path)

    def test_switches_to_japanese_and_back(self, client):
        """Posting the switcher's form changes the language and returns to the same page."""
        action, back = switcher(client.get(ROOM).content.decode())
        response = client.post(action, {"language": "ja", "next": back})
        assert (response.status_code, response.url) == (302, ROOM)
        html = client.get(ROOM).content.decode()
        assert html_lang(html) == "ja"
        assert "参加中" in html

        response = client.post(action, {"language": "en", "next": back})
        assert response.url == ROOM
        html = client.get(ROOM, headers={"Accept-Language": "ja"}).content.decode()
        # The choice outweighs what the browser asks for
        assert html_lang(html) == "en"
        assert "Here now" in html

    def test_the_current_language_is_marked(self, client):
        """The page's own language is the switcher's pressed button; the others are buttons."""
        html = in_japanese(client, ROOM)
        assert re.search(r'value="ja" lang="ja"\s+aria-current="true" disabled>日本語<', html)
        assert re.search(r'value="en" lang="en"\s+>English<', html)

    def test_an_account_page_comes_back_with_its_safe_next_only(self, client):
        """The log-in page returns to itself with its next, never with an unsafe one."""
        html = client.get("/accounts/login/", {"next": ROOM}).content.decode()
        assert switcher(html)[1] == f"/accounts/login/?next={ROOM}"
        html = client.get("/accounts/login/", {"next": "http://evil.example/"}).content.decode()
        assert switcher(html)[1] == "/accounts/login/"


@pytest.mark.django_db
class TestDjangosOwnMessages:
    def test_password_rules_of_a_bad_sign_up_are_in_japanese(self, client):
        """A too short, too common, all-digit password: Django's own reasons, in Japanese."""
        password = "1234"
        with translation.override("ja"), pytest.raises(ValidationError) as refused:
            validate_password(password)
        reasons = refused.value.messages
        assert len(reasons) >= 2
        assert all(JAPANESE.search(reason) for reason in reasons)

        data = {"username": "alice", "password1": password, "password2": password}
        response = client.post("/accounts/signup/", data, headers={"Accept-Language": "ja"})
        html = response.content.decode()
        assert response.status_code == 200
        for reason in reasons:
            assert escape(reason) in html
        assert "This password is too short" not in html

    def test_the_chats_own_sign_up_errors_are_in_japanese(self, client):
        """A guest's name is refused in the page's language."""
        data = {"username": "guest-1", "password1": "x", "password2": "x"}
        html = client.post("/accounts/signup/", data, headers={"Accept-Language": "ja"})
        assert "チャットがゲストの名前に使います" in html.content.decode()


def error_texts() -> dict[str, str]:
    """room.js's ERROR_TEXTS: each error code and the English text the catalog translates."""
    script = ROOM_JS.read_text()
    table = re.search(r"const ERROR_TEXTS = \{(.*?)\n\};", script, re.S)
    assert table, "no ERROR_TEXTS in room.js"
    entries = re.findall(r'(\w+): gettext_noop\(\s*"((?:[^"\\]|\\.)*)"', table.group(1))
    return dict(entries)


class TestErrorCodes:
    def test_room_js_has_a_text_for_every_code(self):
        """Every code an error frame can carry (frames.ERROR_CODES), and no other."""
        assert set(error_texts()) == frames.ERROR_CODES

    def test_every_code_has_a_japanese_text(self):
        """The Japanese JavaScript catalog, as /jsi18n/ serves it, translates every code's text."""
        catalog = DjangoTranslation("ja", domain="djangojs")
        for code, english in error_texts().items():
            japanese = catalog.gettext(english)
            assert japanese != english and JAPANESE.search(japanese), code

    def test_error_frame_refuses_an_unlisted_code(self):
        """A code without its text in the pages cannot be sent."""
        with pytest.raises(ValueError, match="ERROR_CODES"):
            frames.error_frame("why", "not_a_code")


def read_catalog(path):
    with path.open("rb") as source:
        return read_po(source)


def msgids(catalog) -> set:
    return {(message.context, message.id) for message in catalog if message.id}


@pytest.mark.parametrize("domain", ["django", "djangojs"])
class TestCatalogs:
    # Complete, compiled and with their placeholders kept: tests/workbook/test_messages.py,
    # for every catalog of the project
    def test_in_sync_with_the_code(self, domain, tmp_path):
        """makemessages on a copy of the chat finds exactly the committed catalog's messages."""
        require(shutil.which("xgettext") is not None, "no xgettext (apt-get install gettext)")
        copy = tmp_path / "chatproject"
        shutil.copytree(
            CHATPROJECT_DIR,
            copy,
            ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3*", ".secret_key", "*.mo"),
        )
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-d", domain, "-l", "ja"]
            + ["--no-location", "--no-obsolete", "--verbosity", "0"],
            cwd=copy,
            check=True,
        )
        found = read_catalog(copy / "locale" / "ja" / "LC_MESSAGES" / f"{domain}.po")
        committed = read_catalog(CATALOG_DIR / f"{domain}.po")
        assert msgids(found) == msgids(committed), "run make messages and translate what is new"
