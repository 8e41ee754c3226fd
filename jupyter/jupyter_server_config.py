"""The workbook's JupyterLab, however it starts (make lab, Docker, Binder): Jupyter finds this
file through JUPYTER_CONFIG_PATH, and JupyterLab its settings in lab-settings/ next to it."""

from pathlib import Path

c = get_config()  # noqa: F821 (Jupyter defines it while it reads this file)

# The defaults of the lab's settings: the overrides file is read from this folder, not from
# the installed JupyterLab. What attendees change in Settings is saved where JupyterLab
# always saves it (~/.jupyter/lab/user-settings) and wins over these.
c.LabApp.app_settings_dir = str(Path(__file__).parent / "lab-settings")
