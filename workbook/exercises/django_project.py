"""Checks for notebook 02 (the blog's Django project, step by step)."""

from pathlib import Path

from ..checks import Mistake, Verdict, check_answer
from ..i18n import _
from ..workspace import ProjectError, in_project, resolve_urls
from .frames import find_frame_mistake

ASGI_PATH = "asgi_test.asgi.application"
SETTINGS = "asgi_test.settings"

_READ_APPLICATIONS = """
from django.conf import settings
from django.utils.module_loading import import_string

asgi = getattr(settings, "ASGI_APPLICATION", None)
result = {"asgi": asgi, "wsgi": settings.WSGI_APPLICATION, "error": None, "callable": False}
if asgi and ":" not in asgi:
    try:
        result["callable"] = callable(import_string(asgi))
    except Exception as error:
        result["error"] = f"{type(error).__name__}: {error}"
"""


def _find_asgi_setting_mistake(project_dir: Path) -> None:
    """Raise a Mistake saying what is wrong with ASGI_APPLICATION and WSGI_APPLICATION."""
    try:
        found = in_project(project_dir, _READ_APPLICATIONS, SETTINGS)
    except ProjectError as error:
        raise Mistake(
            _(
                "settings.py no longer loads ({error}); undo the last edit, "
                "or run the notebook again from the top",
                error=error,
            )
        ) from error
    asgi = found["asgi"]
    if asgi is None:
        raise Mistake(
            _(
                "settings.py sets no ASGI_APPLICATION yet: replace the WSGI_APPLICATION line "
                "with an ASGI_APPLICATION line"
            )
        )
    if ":" in asgi:
        raise Mistake(
            _(
                "ASGI_APPLICATION is {asgi}: the colon form is for daphne's command line; "
                "a Django setting is a dotted path, module.module.name, dots only",
                asgi=repr(asgi),
            )
        )
    if found["error"]:
        raise Mistake(
            _(
                "ASGI_APPLICATION is {asgi}, and Django cannot import it ({error}); "
                "it should name the variable `application` in asgi_test/asgi.py",
                asgi=repr(asgi),
                error=found["error"],
            )
        )
    if not found["callable"]:
        raise Mistake(
            _(
                "{asgi} imports, but it is not an ASGI application (it cannot be called)",
                asgi=repr(asgi),
            )
        )
    if asgi != ASGI_PATH:
        raise Mistake(
            _(
                "ASGI_APPLICATION is {asgi}; it should name the application in asgi_test/asgi.py",
                asgi=repr(asgi),
            )
        )
    if found["wsgi"] is not None:
        raise Mistake(
            _(
                "ASGI_APPLICATION is right, but WSGI_APPLICATION is still set: replace that "
                "line instead of adding a new one, as the blog does"
            )
        )


def check_asgi_application(project_dir: Path, must_pass: bool = False) -> Verdict:
    """Exercise 02.1: settings.py sets ASGI_APPLICATION to the project's application, no WSGI."""
    return check_answer(
        project_dir,
        _find_asgi_setting_mistake,
        must_pass,
        well_done=_(
            "Correct: ASGI_APPLICATION = {path}, and WSGI_APPLICATION is gone.",
            path=repr(ASGI_PATH),
        ),
    )


def _find_room_url_mistake(project_dir: Path) -> None:
    """Raise a Mistake saying what is wrong with how /chat/ and /chat/demoroom/ resolve."""
    try:
        index, room = resolve_urls(project_dir, "/chat/", "/chat/demoroom/", settings=SETTINGS)
    except ProjectError as error:
        raise Mistake(
            _("the URLconf no longer loads ({error}); look at chatapp/route.py", error=error)
        ) from error
    if room.view is None:
        raise Mistake(
            _(
                "/chat/demoroom/ matches no URL pattern (a 404). include('chatapp.route') has "
                "already taken 'chat/', so the pattern to add in chatapp/route.py is "
                "'<str:room_name>/', without a leading slash"
            )
        )
    if room.view != "chatapp.controller.room":
        raise Mistake(
            _("/chat/demoroom/ goes to {view}; send it to controller.room", view=room.view)
        )
    if room.kwargs != {"room_name": "demoroom"}:
        raise Mistake(
            _(
                "controller.room is called with {kwargs}; it takes an argument named "
                "room_name, so name the part of the path <str:room_name>",
                kwargs=room.kwargs,
            )
        )
    if index.view != "chatapp.controller.index":
        raise Mistake(
            _("/chat/ no longer reaches controller.index: keep path('', controller.index)")
        )


def check_room_url(project_dir: Path, must_pass: bool = False) -> Verdict:
    """Exercise 02.2: /chat/demoroom/ resolves to controller.room with room_name='demoroom'."""
    return check_answer(
        project_dir,
        _find_room_url_mistake,
        must_pass,
        well_done=_(
            "Correct: /chat/demoroom/ calls controller.room(request, room_name='demoroom')."
        ),
    )


def check_shared_message(answer: object, message: str, must_pass: bool = False) -> Verdict:
    """Exercise 02.3: what a second socket in the room received, parsed with json.loads."""

    return check_answer(
        answer,
        lambda frame: find_frame_mistake(frame, message),
        must_pass,
        hint=_(
            "send {text} on one socket and receive on the other, in the same room",
            text=repr(message),
        ),
        well_done=_(
            "Correct: the room's group sent {text} to the other socket too.",
            text=repr(message),
        ),
    )
