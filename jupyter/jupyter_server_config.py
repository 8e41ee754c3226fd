"""The workbook's JupyterLab, however it starts (make lab, Docker, Binder): Jupyter finds this
file through JUPYTER_CONFIG_PATH, and JupyterLab its settings in lab-settings/ next to it."""

import json
import os
import tempfile
from pathlib import Path

import json5

from workbook.lab import FIRST_NOTEBOOK, LOCALES

c = get_config()  # noqa: F821 (Jupyter defines it while it reads this file)

SETTINGS_DIR = Path(__file__).parent / "lab-settings"


def settings_in(locale: str) -> Path:
    """A folder with the workbook's overrides plus the interface's locale, made at each start
    so that lab-settings/overrides.json5 stays the one place the defaults are written."""
    overrides = json5.loads((SETTINGS_DIR / "overrides.json5").read_text())
    overrides["@jupyterlab/translation-extension:plugin"] = {"locale": locale}
    folder = Path(tempfile.gettempdir()) / f"workbook-lab-settings-{locale}"
    folder.mkdir(exist_ok=True)
    (folder / "overrides.json").write_text(json.dumps(overrides, indent=2))
    return folder


# The defaults of the lab's settings: the overrides file is read from this folder, not from
# the installed JupyterLab. What attendees change in Settings is saved where JupyterLab
# always saves it (~/.jupyter/lab/user-settings) and wins over these.
# make lab-ja (workbook/lab.py) and the Docker image with WORKBOOK_LAB_LANGUAGE=ja ask for the
# interface in Japanese
language = os.environ.get("WORKBOOK_LAB_LANGUAGE", "en")
locale = LOCALES.get(language, "en")
c.LabApp.app_settings_dir = str(SETTINGS_DIR if locale == "en" else settings_in(locale))
# The lab's own address opens the edition's first notebook (the path is relative to
# notebooks/, where make lab-ja and the Docker image serve): WORKBOOK_LAB_LANGUAGE=ja docker
# compose up -d prints the URL of notebooks/ja/00
if first_notebook := FIRST_NOTEBOOK.get(language):
    c.LabApp.default_url = f"/lab/tree/{first_notebook}"

# /workbook/language/ja/<path> opens path with the interface in Japanese: Binder's link to the
# Japanese edition (workbook/lab.py)
c.ServerApp.jpserver_extensions.update({"workbook.lab": True})
