"""Safe when exposed: a secret key of the checkout's own on a laptop, a refusal to start
without one in production, `check --deploy` clean with the settings docs/chat.md lists, and
no password from a URL on an error page.

Settings are read in fresh processes, as a server reads them at start-up.
"""

import os
import re
import secrets
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from chatproject.checkout_key import checkout_secret_key
from chatproject.redaction import URLPasswordFilter, without_passwords
from workbook import CHATPROJECT_DIR, REPO_DIR

CHAT_DOC = REPO_DIR / "docs" / "chat.md"
# The names a caller's shell may have set, which would change what is tested here
OURS = ("DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_HTTPS")


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py args in a fresh process, with env over a clean environment."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith(OURS)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=CHATPROJECT_DIR,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def documented_production_settings() -> dict[str, str]:
    """The variables of docs/chat.md's production block, with a fresh key for its placeholder."""
    block = re.search(r"```bash\n(# Production.*?)```", CHAT_DOC.read_text(), re.DOTALL)
    assert block, "docs/chat.md has no ```bash block that starts with '# Production'"
    variables = dict(re.findall(r"^([A-Z_]+)=(\S+)", block.group(1), re.MULTILINE))
    variables["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    return variables


class TestSecretKey:
    def test_is_made_once_and_kept_private(self, tmp_path):
        """The first call makes a long key in a file only its owner reads; later calls read it."""
        path = tmp_path / ".secret_key"
        key = checkout_secret_key(path)
        assert len(key) >= 50
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert checkout_secret_key(path) == key
        assert checkout_secret_key(tmp_path / "another") != key

    def test_servers_starting_at_once_agree(self, tmp_path):
        """Eight processes that start together all read the one key that was written."""
        code = "import sys; from chatproject.checkout_key import checkout_secret_key as k; "
        code += f"print(k(__import__('pathlib').Path({str(tmp_path / 'key')!r})))"
        command = [sys.executable, "-c", code]

        def run(_):
            result = subprocess.run(command, cwd=CHATPROJECT_DIR, capture_output=True, text=True)
            return result.stdout.strip()

        with ThreadPoolExecutor(8) as pool:
            keys = set(pool.map(run, range(8)))
        assert keys == {(tmp_path / "key").read_text()}
        assert list(tmp_path.iterdir()) == [tmp_path / "key"]

    def test_the_checkouts_key_file_is_ignored_by_git(self):
        """The file never reaches a commit (nor a Docker image)."""
        result = subprocess.run(
            ["git", "check-ignore", "-q", "chatproject/.secret_key"], cwd=REPO_DIR, check=False
        )
        assert result.returncode == 0
        assert "chatproject/.secret_key" in (REPO_DIR / ".dockerignore").read_text()


class TestProduction:
    def test_refuses_to_start_without_a_secret_key(self):
        """DJANGO_DEBUG=0 without DJANGO_SECRET_KEY stops with a message that says what to do."""
        result = manage("check", DJANGO_DEBUG="0")
        assert result.returncode != 0
        assert "DJANGO_DEBUG=0 needs DJANGO_SECRET_KEY" in result.stderr

    def test_refuses_any_host(self):
        """DJANGO_ALLOWED_HOSTS='*' would serve any Host and pass any Origin: refused."""
        key = secrets.token_urlsafe(50)
        result = manage("check", DJANGO_DEBUG="0", DJANGO_SECRET_KEY=key, DJANGO_ALLOWED_HOSTS="*")
        assert result.returncode != 0
        assert "DJANGO_ALLOWED_HOSTS='*' is refused" in result.stderr

    def test_check_deploy_passes_with_the_documented_settings(self):
        """`manage.py check --deploy` finds nothing, warnings included, with docs/chat.md's list."""
        variables = documented_production_settings()
        assert {"DJANGO_HTTPS", "DJANGO_PROXY_SSL_HEADER", "DJANGO_HSTS_SECONDS"} <= set(variables)
        result = manage("check", "--deploy", "--fail-level", "WARNING", **variables)
        assert result.returncode == 0, result.stderr
        assert "no issues" in result.stdout

    def test_check_deploy_warns_without_them(self):
        """The same check does fail a production start that left HTTPS out."""
        key = secrets.token_urlsafe(50)
        result = manage(
            "check", "--deploy", "--fail-level", "WARNING", DJANGO_DEBUG="0", DJANGO_SECRET_KEY=key
        )
        assert result.returncode != 0
        for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
            assert warning in result.stderr


class TestRedaction:
    @pytest.mark.parametrize(
        ("text", "shown"),
        [
            ("redis://:s3cret@redis:6379/0", "redis://:***@redis:6379/0"),
            ("postgres://chat:s3cret@db/chat", "postgres://chat:***@db/chat"),
            ("rediss://u:p%40ss@h", "rediss://u:***@h"),
            ("at redis://u:pw@h:1/0 and postgres://v:pw2@k/db", "at redis://u:***@h:1/0 and "),
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ],
    )
    def test_blanks_only_the_password(self, text, shown):
        """Scheme, user, host and port stay; the password goes, wherever the URL stands."""
        assert without_passwords(text).startswith(shown)
        assert "s3cret" not in without_passwords(text)
        assert "pw@" not in without_passwords(text)

    def test_settings_nested_in_dicts_and_lists(self, settings):
        """CHANNEL_LAYERS' hosts and DATABASE_URL are cleansed where they sit."""
        settings.DATABASE_URL = "postgres://chat:s3cret@db/chat"
        settings.CHANNEL_LAYERS = {"default": {"CONFIG": {"hosts": [{"address": "redis://:s3@h"}]}}}
        safe = URLPasswordFilter().get_safe_settings()
        assert safe["DATABASE_URL"] == "postgres://chat:***@db/chat"
        assert safe["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"][0]["address"] == (
            "redis://:***@h"
        )
