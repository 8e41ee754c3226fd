"""The workspace helpers edit files exactly and ask a fresh Django about a project; what
edit() says, in English or in Japanese."""

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import assert_japanese
from workbook.workspace import (
    EditError,
    ProjectError,
    Resolved,
    django_settings,
    edit,
    fresh_directory,
    resolve_url,
    terminal_commands,
    tree,
)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project straight from `django-admin startproject demo`."""
    path = tmp_path_factory.mktemp("project") / "demo"
    path.mkdir()
    command = [sys.executable, "-m", "django", "startproject", "demo", str(path)]
    subprocess.run(command, check=True)
    return path


class TestFreshDirectory:
    def test_empties_an_existing_folder(self, tmp_path):
        """Whatever was in the folder is gone, and the folder exists."""
        folder = tmp_path / "a b"
        (folder / "old").mkdir(parents=True)
        (folder / "old" / "file.txt").write_text("x")
        assert fresh_directory(folder) == folder
        assert folder.is_dir()
        assert list(folder.iterdir()) == []

    def test_creates_a_missing_folder(self, tmp_path):
        """A folder that did not exist is created, parents included."""
        folder = fresh_directory(tmp_path / "x" / "y")
        assert folder.is_dir()


class TestEdit:
    def test_replaces_the_one_occurrence_and_prints_a_diff(self, tmp_path, capsys):
        """The text changes in place and the diff shows the removed and added lines."""
        path = tmp_path / "settings.py"
        path.write_text("A = 1\nB = 2\n")
        edit(path, "B = 2", "B = 3")
        assert path.read_text() == "A = 1\nB = 3\n"
        out = capsys.readouterr().out
        assert "-B = 2" in out
        assert "+B = 3" in out

    def test_missing_text_is_an_error(self, tmp_path):
        """Text that is not in the file stops the edit and says so."""
        path = tmp_path / "settings.py"
        path.write_text("A = 1\n")
        with pytest.raises(EditError, match="nowhere"):
            edit(path, "B = 2", "B = 3")
        assert path.read_text() == "A = 1\n"

    def test_ambiguous_text_is_an_error(self, tmp_path):
        """Text found twice stops the edit instead of guessing which one."""
        path = tmp_path / "settings.py"
        path.write_text("A = 1\nA = 1\n")
        with pytest.raises(EditError, match="2 times"):
            edit(path, "A = 1", "A = 2")

    def test_an_edit_made_already_changes_nothing(self, tmp_path, capsys):
        """Running the same edit twice leaves the file as after the first time."""
        path = tmp_path / "settings.py"
        path.write_text("APPS = [\n    'x',\n]\n")
        edit(path, "APPS = [\n", "APPS = [\n    'daphne',\n")
        edit(path, "APPS = [\n", "APPS = [\n    'daphne',\n")
        assert path.read_text() == "APPS = [\n    'daphne',\n    'x',\n]\n"
        assert "already changed" in capsys.readouterr().out

    def test_what_edit_says_in_japanese(self, tmp_path, capsys, japanese):
        """The diff's labels, an edit made already, text found nowhere or twice: Japanese,
        with the file's own lines as they are."""
        path = tmp_path / "settings.py"
        path.write_text("A = 1\nB = 2\n")
        edit(path, "B = 2", "B = 3")
        edit(path, "B = 2", "B = 3")
        before, after, *changes, done = capsys.readouterr().out.splitlines()
        assert before == f"--- {path}（変更前）"
        assert after == f"+++ {path}（変更後）"
        assert "-B = 2" in changes
        assert_japanese(done.removeprefix(f"{path}: "))
        for text in ("C = 3", "="):
            with pytest.raises(EditError) as raised:
                edit(path, text, "D = 4")
            assert_japanese(str(raised.value))
            assert repr(text) in str(raised.value)


def test_tree_lists_files_without_caches(tmp_path, capsys):
    """The tree shows nested files indented, and no __pycache__."""
    (tmp_path / "app" / "__pycache__").mkdir(parents=True)
    (tmp_path / "app" / "views.py").write_text("")
    tree(tmp_path)
    out = capsys.readouterr().out
    assert "    app/\n        views.py\n" in out
    assert "__pycache__" not in out


class TestTerminalCommands:
    def test_a_local_lab_needs_only_the_folder_and_the_command(self, monkeypatch, capsys):
        """With the terminal's own Redis and no proxy: cd, then this Python's runserver."""
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/0")
        for name in ("WORKBOOK_JUPYTER_URL", "JUPYTERHUB_SERVICE_PREFIX"):
            monkeypatch.delenv(name, raising=False)
        terminal_commands(Path("/work/my workspace/asgi_test"), "redis://127.0.0.1:6390/0")
        cd, run = capsys.readouterr().out.splitlines()
        assert cd == "cd '/work/my workspace/asgi_test'"
        assert shlex.split(run) == [sys.executable, "manage.py", "runserver"]

    def test_variables_the_terminal_lacks_come_first(self, monkeypatch, capsys):
        """Another Redis than the terminal's, and Binder's proxy, are set on the command."""
        monkeypatch.delenv("REDIS_URL", raising=False)
        monkeypatch.delenv("WORKBOOK_JUPYTER_URL", raising=False)
        monkeypatch.delenv("JUPYTERHUB_PUBLIC_URL", raising=False)
        monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
        terminal_commands(Path("/p"), "redis://127.0.0.1:6391/0")
        run = capsys.readouterr().out.splitlines()[1]
        assert shlex.split(run)[:2] == ["REDIS_URL=redis://127.0.0.1:6391/0", "CHAT_PROXY_HOSTS=*"]


class TestAskingDjango:
    def test_settings_are_read_as_django_sees_them(self, project):
        """Settings come back with their values; unknown ones as None."""
        values = django_settings(project, "ROOT_URLCONF", "ASGI_APPLICATION")
        assert values == {"ROOT_URLCONF": "demo.urls", "ASGI_APPLICATION": None}

    def test_environment_reaches_the_settings(self, tmp_path):
        """env= is set for the fresh Python, so settings that read it see it."""
        (tmp_path / "envsite").mkdir()
        (tmp_path / "envsite" / "__init__.py").write_text("")
        (tmp_path / "envsite" / "settings.py").write_text(
            "import os\nREDIS = os.environ.get('REDIS_URL', 'none')\n"
        )
        values = django_settings(
            tmp_path, "REDIS", settings="envsite.settings", env={"REDIS_URL": "redis://x"}
        )
        assert values == {"REDIS": "redis://x"}

    def test_a_path_resolves_to_its_view(self, project):
        """/admin/ reaches the admin's index view through the project's urls.py."""
        found = resolve_url(project, "/admin/")
        assert found.urlconf == "demo.urls"
        assert found.view.endswith(".index")

    def test_an_unknown_path_resolves_to_nothing(self, project):
        """A path no pattern matches gives view None, a 404."""
        assert resolve_url(project, "/chat/") == Resolved("demo.urls", None, {})

    def test_a_broken_project_raises_its_error(self, tmp_path):
        """A settings module that fails to import raises ProjectError with the error line."""
        broken = tmp_path / "broken"
        (broken / "broken").mkdir(parents=True)
        (broken / "broken" / "__init__.py").write_text("")
        (broken / "broken" / "settings.py").write_text("INSTALLED_APPS = [\n")
        with pytest.raises(ProjectError, match="SyntaxError"):
            django_settings(broken, "DEBUG")
