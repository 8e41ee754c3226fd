"""The checks of notebook 02 accept the blog's project and explain what is still wrong."""

import shutil
import subprocess
import sys

import pytest

from tests.helpers import assert_japanese
from workbook.checks import ExerciseFailed
from workbook.exercises.django_project import (
    check_asgi_application,
    check_room_url,
    check_shared_message,
)

WSGI_LINE = "WSGI_APPLICATION = 'asgi_test.wsgi.application'"
ASGI_LINE = "ASGI_APPLICATION = 'asgi_test.asgi.application'"
CONTROLLER = """\
from django.shortcuts import render


def index(request):
    return render(request, 'chatapp/index.html')


def room(request, room_name):
    return render(request, 'chatapp/room.html', {'room_name': room_name})
"""
INDEX_ONLY = """\
from django.urls import path

from . import controller

urlpatterns = [
    path('', controller.index),
]
"""
INDEX_LINE = "    path('', controller.index),\n"


@pytest.fixture(scope="module")
def template_project(tmp_path_factory):
    """asgi_test with chatapp, as the notebook has it before each exercise."""
    path = tmp_path_factory.mktemp("template") / "asgi_test"
    path.mkdir()
    django = [sys.executable, "-m", "django"]
    subprocess.run([*django, "startproject", "asgi_test", str(path)], check=True)
    subprocess.run([*django, "startapp", "chatapp"], cwd=path, check=True)
    settings = path / "asgi_test" / "settings.py"
    text = settings.read_text().replace("'asgi_test.urls'", "'asgi_test.route'")
    settings.write_text(text)
    (path / "asgi_test" / "route.py").write_text(
        "from django.urls import include, path\n\n"
        "urlpatterns = [path('chat/', include('chatapp.route'))]\n"
    )
    (path / "chatapp" / "controller.py").write_text(CONTROLLER)
    (path / "chatapp" / "route.py").write_text(INDEX_ONLY)
    return path


@pytest.fixture
def project(template_project, tmp_path):
    """A copy of the project that a test may change."""
    return shutil.copytree(template_project, tmp_path / "asgi_test")


def replace_in(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


class TestAsgiApplication:
    def test_the_blogs_setting_passes(self, project):
        """ASGI_APPLICATION in place of WSGI_APPLICATION passes."""
        replace_in(project / "asgi_test" / "settings.py", WSGI_LINE, ASGI_LINE)
        assert check_asgi_application(project, must_pass=True)

    @pytest.mark.parametrize(
        ("new_line", "says"),
        [
            (WSGI_LINE, "sets no ASGI_APPLICATION yet"),
            ("ASGI_APPLICATION = 'asgi_test.asgi:application'", "colon form"),
            ("ASGI_APPLICATION = 'asgi_test.asgi.app'", "Django cannot import it"),
            ("ASGI_APPLICATION = 'os.sep'", "not an ASGI application"),
            (f"{WSGI_LINE}\n{ASGI_LINE}", "WSGI_APPLICATION is still set"),
            ("ASGI_APPLICATION = (", "no longer loads"),
        ],
    )
    def test_wrong_settings_are_explained(self, project, new_line, says, capsys):
        """A missing, mistyped or extra setting is explained in plain words."""
        replace_in(project / "asgi_test" / "settings.py", WSGI_LINE, new_line)
        assert not check_asgi_application(project)
        assert says in capsys.readouterr().out

    def test_a_solution_that_fails_raises(self, project):
        """With must_pass, an untouched settings file stops the run."""
        with pytest.raises(ExerciseFailed, match="ASGI_APPLICATION"):
            check_asgi_application(project, must_pass=True)


class TestRoomUrl:
    def test_the_blogs_pattern_passes(self, project):
        """'<str:room_name>/' to controller.room passes."""
        room_line = "    path('<str:room_name>/', controller.room),\n"
        replace_in(project / "chatapp" / "route.py", INDEX_LINE, INDEX_LINE + room_line)
        assert check_room_url(project, must_pass=True)

    @pytest.mark.parametrize(
        ("new_lines", "says"),
        [
            (INDEX_LINE, "matches no URL pattern"),
            (INDEX_LINE + "    path('/<str:room_name>/', controller.room),\n", "no URL pattern"),
            (INDEX_LINE + "    path('<str:room_name>/', controller.index),\n", "goes to"),
            (INDEX_LINE + "    path('<str:room>/', controller.room),\n", "{'room': 'demoroom'}"),
            ("    path('<str:room_name>/', controller.room),\n", "no longer reaches"),
            (INDEX_LINE + "    path('<str:room_name>/', controller.rooms),\n", "no longer loads"),
        ],
    )
    def test_wrong_patterns_are_explained(self, project, new_lines, says, capsys):
        """No pattern, a leading slash, the wrong view or argument name are explained."""
        replace_in(project / "chatapp" / "route.py", INDEX_LINE, new_lines)
        assert not check_room_url(project)
        assert says in capsys.readouterr().out


class TestSharedMessage:
    def test_the_parsed_frame_passes(self):
        """The blog's frame, parsed, passes."""
        assert check_shared_message({"message": "hogehoge"}, "hogehoge", must_pass=True)

    @pytest.mark.parametrize(
        ("answer", "says"),
        [
            (None, "still None"),
            ('{"message": "hogehoge"}', "json.loads"),
            (["hogehoge"], "a list, not a dict"),
            ({"message": "fugafuga"}, "carries 'fugafuga'"),
        ],
    )
    def test_wrong_answers_are_explained(self, answer, says, capsys):
        """No answer, raw text, another type or another message is explained."""
        assert not check_shared_message(answer, "hogehoge")
        assert says in capsys.readouterr().out


class TestInJapanese:
    """The Japanese edition explains every mistake above in Japanese."""

    @pytest.mark.parametrize(
        "new_line",
        [
            WSGI_LINE,
            "ASGI_APPLICATION = 'asgi_test.asgi:application'",
            "ASGI_APPLICATION = 'asgi_test.asgi.app'",
            "ASGI_APPLICATION = 'os.sep'",
            "ASGI_APPLICATION = 'django.core.handlers.asgi.ASGIHandler'",
            f"{WSGI_LINE}\n{ASGI_LINE}",
            "ASGI_APPLICATION = (",
        ],
    )
    def test_settings_mistakes(self, project, new_line, japanese, capsys):
        """A missing, mistyped, other or extra setting, in Japanese."""
        replace_in(project / "asgi_test" / "settings.py", WSGI_LINE, new_line)
        assert not check_asgi_application(project)
        assert_japanese(capsys.readouterr().out)

    @pytest.mark.parametrize(
        "new_lines",
        [
            INDEX_LINE,
            INDEX_LINE + "    path('<str:room_name>/', controller.index),\n",
            INDEX_LINE + "    path('<str:room>/', controller.room),\n",
            "    path('<str:room_name>/', controller.room),\n",
            INDEX_LINE + "    path('<str:room_name>/', controller.rooms),\n",
        ],
    )
    def test_url_mistakes(self, project, new_lines, japanese, capsys):
        """No pattern, the wrong view, argument name, a lost index or a typo, in Japanese."""
        replace_in(project / "chatapp" / "route.py", INDEX_LINE, new_lines)
        assert not check_room_url(project)
        assert_japanese(capsys.readouterr().out)

    @pytest.mark.parametrize(
        "answer", [None, '{"message": "hogehoge"}', ["hogehoge"], {"message": "fugafuga"}]
    )
    def test_shared_message_mistakes(self, answer, japanese, capsys):
        """No answer, raw text, another type or another message, in Japanese."""
        assert not check_shared_message(answer, "hogehoge")
        assert_japanese(capsys.readouterr().out)

    def test_right_answers_are_praised(self, project, japanese, capsys):
        """The ✓ lines are Japanese too."""
        replace_in(project / "asgi_test" / "settings.py", WSGI_LINE, ASGI_LINE)
        room_line = "    path('<str:room_name>/', controller.room),\n"
        replace_in(project / "chatapp" / "route.py", INDEX_LINE, INDEX_LINE + room_line)
        assert check_asgi_application(project)
        assert check_room_url(project)
        assert check_shared_message({"message": "hogehoge"}, "hogehoge")
        assert_japanese(capsys.readouterr().out)
