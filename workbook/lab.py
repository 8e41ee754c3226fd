"""How the workbook starts JupyterLab: make lab and the tests start it from here; the Docker
image and Binder's start script set the same environment. The settings themselves are files
in the repository's jupyter/ folder, never in the user's home.

It is also a small Jupyter server extension (jupyter/jupyter_server_config.py enables it):
Binder hands a launch nothing but the path to open, so a path can choose the interface's
language, /workbook/language/ja/<path>. The choice is kept as Settings > Language keeps it, in
the user's JupyterLab settings (on Binder, the launch's own home, gone when it ends).
"""

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import json5

from .paths import REPO_DIR

# Jupyter reads jupyter_server_config.py here, which points JupyterLab at the defaults in
# lab-settings/overrides.json5, and finds the notebooks' kernel spec in kernels/python3
JUPYTER_SETTINGS_DIR = REPO_DIR / "jupyter"
NOTEBOOKS_DIR = REPO_DIR / "notebooks"
# The interface's language: jupyter_server_config.py reads it ("ja": JupyterLab in Japanese,
# from the jupyterlab-language-pack-ja-JP in requirements.txt)
LANGUAGE_VARIABLE = "WORKBOOK_LAB_LANGUAGE"
# The notebook each language's lab opens first, relative to notebooks/
FIRST_NOTEBOOK = {"en": None, "ja": "ja/00_welcome.ipynb"}
# JupyterLab's locale for each language ("en" is its own, with no language pack)
LOCALES = {"en": "en", "ja": "ja_JP"}
# /workbook/language/<language>/<path>: the interface in language from now on, then path
LANGUAGE_ROUTE = "workbook/language"


def lab_environment(
    environ: Mapping[str, str] = os.environ, language: str = "en"
) -> dict[str, str]:
    """environ with jupyter/ first on Jupyter's configuration and data paths, and the
    interface in language ("en" or "ja")."""
    environment = {**environ, LANGUAGE_VARIABLE: language}
    for name in ("JUPYTER_CONFIG_PATH", "JUPYTER_PATH"):
        paths = [str(JUPYTER_SETTINGS_DIR), *filter(None, environ.get(name, "").split(os.pathsep))]
        environment[name] = os.pathsep.join(dict.fromkeys(paths))
    return environment


def lab_command(
    args: Sequence[str] = (), notebook_dir: Path = NOTEBOOKS_DIR, language: str = "en"
) -> list[str]:
    """`jupyter lab` on notebook_dir at 127.0.0.1, opening language's first notebook, with
    args (each option given once: Jupyter refuses one given twice)."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ip=127.0.0.1",
        f"--notebook-dir={notebook_dir}",
    ]
    if first := FIRST_NOTEBOOK[language]:
        command.append(f"--LabApp.default_url=/lab/tree/{first}")
    # Jupyter refuses to run as root unless told; containers and some CI machines are root
    if os.geteuid() == 0:
        command.append("--allow-root")
    return [*command, *args]


def exec_lab(args: Sequence[str], language: str = "en") -> None:
    """Become JupyterLab (exec): Ctrl-C stops it as if it had been started directly."""
    command = lab_command(args, language=language)
    os.execve(command[0], command, lab_environment(language=language))


def save_interface_language(language: str, settings_dir: Path) -> Path:
    """Keep language as the interface's in the user's JupyterLab settings (settings_dir), where
    Settings > Language keeps it; the file's other settings stay."""
    path = settings_dir / "@jupyterlab" / "translation-extension" / "plugin.jupyterlab-settings"
    settings = json5.loads(path.read_text()) if path.exists() else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**settings, "locale": LOCALES[language]}, indent=2))
    return path


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "workbook.lab"}]


def _load_jupyter_server_extension(server_app) -> None:
    """Serve LANGUAGE_ROUTE: a Binder link, or any link, opens the lab in a language."""
    # Imported here: make lab, which imports this module too, does not run a server itself
    from jupyter_server.base.handlers import JupyterHandler
    from jupyter_server.utils import url_path_join
    from jupyterlab.commands import get_user_settings_dir
    from tornado import web

    class LanguageHandler(JupyterHandler):
        @web.authenticated
        def get(self, language: str, path: str) -> None:
            save_interface_language(language, Path(get_user_settings_dir()))
            # A path of this server only: a browser takes a leading // or /\ for another host
            target = url_path_join(self.base_url, quote(path.lstrip("/\\")))
            query = self.request.query
            self.redirect(f"{target}?{query}" if query else target)

    languages = "|".join(LOCALES)
    route = url_path_join(server_app.base_url, LANGUAGE_ROUTE, rf"({languages})/(.*)")
    server_app.web_app.add_handlers(".*$", [(route, LanguageHandler)])
