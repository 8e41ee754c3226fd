"""How the workbook starts JupyterLab: make lab and the tests start it from here; the Docker
image and Binder's start script set the same environment. The settings themselves are files
in the repository's jupyter/ folder, never in the user's home."""

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

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
