"""The workbook's JupyterLab, however it starts (make lab, Docker, Binder): JupyterLab finds
this folder through JUPYTER_CONFIG_PATH, and its settings in lab/overrides.json5 here."""

from pathlib import Path

c = get_config()  # noqa: F821 (Jupyter defines it while it reads this file)

# The defaults of the lab's settings: the overrides file is read from this folder, not from
# the installed JupyterLab. What attendees change in Settings is saved where JupyterLab
# always saves it (~/.jupyter/lab/user-settings) and wins over these.
c.LabApp.app_settings_dir = str(Path(__file__).parent / "lab")
