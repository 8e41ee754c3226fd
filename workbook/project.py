"""Use a Django project from inside a notebook's kernel, as manage.py would set it up."""

import os
import sys
from pathlib import Path

from .i18n import _, current_language
from .paths import CHATPROJECT_DIR, NOTEBOOK_CHAT_DATABASE
from .servers import use_database


def setup_django(
    settings: str = "chatproject.settings",
    project_dir: Path = CHATPROJECT_DIR,
    redis_url: str | None = None,
) -> None:
    """Import the project like manage.py does: its folder on sys.path, settings, django.setup().

    With redis_url the project's channel layer is that Redis (settings read REDIS_URL), so
    group_send from a cell reaches the consumers of any server using the same Redis.
    The chat reads the notebooks' own database, the one their chat servers write. Django
    speaks the notebook's language (workbook/i18n.py).
    Django configures itself once per process: restart the kernel to switch projects.
    """
    import django
    from django.apps import apps
    from django.utils import translation

    if apps.ready and os.environ.get("DJANGO_SETTINGS_MODULE") != settings:
        raise RuntimeError(_("Django is already set up with other settings: restart the kernel"))
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    if project_dir == CHATPROJECT_DIR:
        use_database(os.environ, NOTEBOOK_CHAT_DATABASE)
    django.setup()
    # Django's own messages in the cells (a form's errors, a validator's) in the notebook's
    # language, as a page in that language would show them
    translation.activate(current_language())
