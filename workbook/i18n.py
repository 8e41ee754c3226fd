"""The workbook's messages in the learner's language: English, or Japanese (日本語).

A message is marked where it is written, ``_("Redis is not reachable at {url}", url=url)``,
and translated in a gettext catalog, ``locale/<language>/LC_MESSAGES/workbook.po``. The
catalogs (and the chat's, in chatproject/locale/) are compiled to .mo files by make setup,
the Docker image and Binder (``python -m workbook compile-messages``); the .mo files are not
kept in git.

Which language: WORKBOOK_LANGUAGE if set; else the edition of the notebook the kernel runs
(JupyterLab starts it in the notebook's folder: notebooks/ja/ is Japanese, notebooks/ is
English); else the locale, as gettext reads it (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), for the
command line; else English.
"""

import gettext
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from .paths import REPO_DIR

DOMAIN = "workbook"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# Every gettext catalog of the project: the workbook's, and the chat's (Django's own domains)
CATALOG_DIRS = (LOCALE_DIR, REPO_DIR / "chatproject" / "locale")
LANGUAGES = ("en", "ja")
DEFAULT_LANGUAGE = "en"
LANGUAGE_VARIABLE = "WORKBOOK_LANGUAGE"
# The folder of each edition's notebooks
EDITIONS = {REPO_DIR / "notebooks": "en", REPO_DIR / "notebooks" / "ja": "ja"}
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

# Where this process started: a kernel starts in its notebook's folder, and a cell that
# changes directory later does not change the notebook's language
STARTED_IN = Path.cwd().resolve()


def current_language() -> str:
    """The language messages are shown in now: "en" or "ja" (see the module's docstring)."""
    if chosen := os.environ.get(LANGUAGE_VARIABLE):
        return _supported(chosen)
    if edition := EDITIONS.get(STARTED_IN):
        return edition
    for name in LOCALE_VARIABLES:
        if value := os.environ.get(name):
            # LANGUAGE may list several ("ja:en"); the first one decides
            return _supported(value.split(":")[0])
    return DEFAULT_LANGUAGE


def _supported(locale_name: str) -> str:
    """The language of a locale name such as ja_JP.UTF-8, or English for one we lack."""
    language = locale_name.split(".")[0].split("_")[0].split("-")[0].lower()
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


@cache
def translation(language: str) -> gettext.NullTranslations:
    """The compiled catalog of language; English (the messages as written) for "en"."""
    if language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    # A checkout updated without make setup has no .mo yet: English then, not a crash
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def _(message: str, /, **fields: object) -> str:
    """message in the current language, its {fields} filled in (any name, even "message")."""
    translated = translation(current_language()).gettext(message)
    return translated.format(**fields) if fields else translated


def N_(message: str) -> str:
    """Mark message for translation where it is defined (a constant); _() translates it
    where it is shown."""
    return message


def catalogs() -> Iterator[Path]:
    """Every .po file of the project."""
    for folder in CATALOG_DIRS:
        yield from sorted(folder.glob("*/LC_MESSAGES/*.po"))


def compile_catalog(po_path: Path) -> Path:
    """Compile one .po file to the .mo file beside it (Babel: no system gettext needed)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as source:
        catalog = read_po(source)
    mo_path = po_path.with_suffix(".mo")
    with mo_path.open("wb") as compiled:
        # Fuzzy entries are drafts: gettext shows the English until someone confirms them
        write_mo(compiled, catalog, use_fuzzy=False)
    return mo_path


def compile_catalogs(paths: list[Path] | None = None) -> list[Path]:
    """Compile the given .po files, or every one of the project."""
    return [compile_catalog(path) for path in (paths or list(catalogs()))]
