"""Build a Django project in the workspace from notebook cells: edit files, ask Django about them.

``edit()`` changes one exact piece of a file and prints the diff, so a cell shows the real
settings lines it changes. ``django_settings()`` and ``resolve_url()`` ask a fresh Python
process, because a kernel can set up Django only once and the project keeps changing.
"""

import difflib
import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from .i18n import _
from .links import proxy_environment
from .paths import WORKSPACE_DIR
from .redis_server import DEFAULT_LOCAL_URL


class EditError(ValueError):
    """edit() did not find exactly one place to change."""


class ProjectError(RuntimeError):
    """The project failed to load in a fresh Python; the message is the error it raised."""


def fresh_directory(path: Path) -> Path:
    """Delete path with everything in it, create it empty, and return it."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _label(path: Path) -> str:
    """The path as a reader wants it: relative to the workspace when inside it."""
    try:
        return str(path.relative_to(WORKSPACE_DIR))
    except ValueError:
        return str(path)


def _show_change(path: Path, before: str, after: str) -> None:
    label = _label(path)
    diff = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=_("{path} (before)", path=label),
        tofile=_("{path} (after)", path=label),
        n=1,
    )
    print("".join(diff), end="")


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of old in the file with new, and print the diff.

    Zero or several occurrences raise EditError. If the change is already made (new is
    there and old only inside it), it says so and changes nothing.
    """
    before = path.read_text()
    if new and new in before and old not in before.replace(new, ""):
        print(_("{path}: already changed, nothing to do", path=_label(path)))
        return
    count = before.count(old)
    if count == 0:
        raise EditError(
            _(
                "{path} contains {text} nowhere; edit() needs exactly one. Copy the text from "
                "the file exactly (quotes, spaces and all); if the file was changed by hand, "
                "run the notebook again from the top to start afresh.",
                path=_label(path),
                text=repr(old),
            )
        )
    if count > 1:
        raise EditError(
            _(
                "{path} contains {text} {count} times; edit() needs exactly one. Copy the text "
                "from the file exactly (quotes, spaces and all); if the file was changed by "
                "hand, run the notebook again from the top to start afresh.",
                path=_label(path),
                text=repr(old),
                count=count,
            )
        )
    after = before.replace(old, new)
    path.write_text(after)
    _show_change(path, before, after)


def tree(path: Path) -> None:
    """Print the files and folders under path, indented, without Python's caches."""
    print(f"{path.name}/")
    for item in sorted(path.rglob("*")):
        parts = item.relative_to(path).parts
        if "__pycache__" in parts:
            continue
        print("    " * len(parts) + item.name + ("/" if item.is_dir() else ""))


def terminal_commands(project_dir: Path, redis_url: str) -> None:
    """Print what to type in a terminal to serve the project as the blog does: cd into
    project_dir, then `python manage.py runserver` (on port 8000).

    python is this kernel's Python: a terminal's PATH may find another one. Before it come the
    variables the terminal lacks: REDIS_URL if it is not the terminal's, and behind Jupyter's
    proxy the host names the browser uses (CHAT_PROXY_HOSTS).
    """
    variables = {}
    if os.environ.get("REDIS_URL", DEFAULT_LOCAL_URL) != redis_url:
        variables["REDIS_URL"] = redis_url
    if hosts := proxy_environment(8000).get("CHAT_PROXY_HOSTS"):
        variables["CHAT_PROXY_HOSTS"] = hosts
    assignments = [f"{name}={shlex.quote(value)}" for name, value in variables.items()]
    print("cd", shlex.quote(str(project_dir)))
    print(*assignments, shlex.quote(sys.executable), "manage.py", "runserver")


def in_project(
    project_dir: Path,
    code: str,
    settings: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Any:
    """Run code in a fresh Python, in project_dir, with Django set up; return its `result`.

    settings is the settings module (by default "<project folder name>.settings"); result
    must be JSON (anything else is turned into text).
    """
    script = (
        "import json, django\n"
        "django.setup()\n"
        f"{textwrap.dedent(code)}\n"
        "print(json.dumps(result, default=str))\n"
    )
    environment = {
        **os.environ,
        **(env or {}),
        "DJANGO_SETTINGS_MODULE": settings or f"{project_dir.name}.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project_dir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [_("(no error message)")]
        raise ProjectError(lines[-1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def django_settings(
    project_dir: Path,
    *names: str,
    settings: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The values Django sees for the named settings (None for a setting that is not set)."""
    code = (
        "from django.conf import settings\n"
        f"result = {{name: getattr(settings, name, None) for name in {names!r}}}"
    )
    return in_project(project_dir, code, settings, env)


class Resolved(NamedTuple):
    """Where Django's URL resolver sends a path: view is None when nothing matches (a 404)."""

    urlconf: str
    view: str | None
    kwargs: dict[str, Any]


_RESOLVE = """
from django.conf import settings
from django.urls import Resolver404, resolve

result = []
for path in {paths!r}:
    try:
        match = resolve(path)
    except Resolver404:
        result.append([settings.ROOT_URLCONF, None, {{}}])
    else:
        view = match.func.__module__ + "." + match.func.__name__
        result.append([settings.ROOT_URLCONF, view, match.kwargs])
"""


def resolve_urls(project_dir: Path, *paths: str, settings: str | None = None) -> list[Resolved]:
    """resolve_url() for several paths at once (one Python process)."""
    found = in_project(project_dir, _RESOLVE.format(paths=list(paths)), settings)
    return [Resolved(*item) for item in found]


def resolve_url(project_dir: Path, path: str, settings: str | None = None) -> Resolved:
    """Ask the project's ROOT_URLCONF which view serves path, as a request would."""
    return resolve_urls(project_dir, path, settings=settings)[0]
