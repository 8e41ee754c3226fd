"""The translations: every catalog complete and compiled, the workbook's in step with its
code, and every exercise check explained in Japanese too."""

import ast
import gettext
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from tests.helpers import JAPANESE, assert_japanese
from workbook import REPO_DIR, i18n
from workbook.checks import check_answer

CATALOGS = list(i18n.catalogs())
# {name} in the workbook's messages; %(name)s, %s and %d in Django's and JavaScript's
PLACEHOLDER = re.compile(r"\{\w*\}|%\(\w+\)[sd]|%[sd]")


def catalog_id(path: Path) -> str:
    return str(path.relative_to(REPO_DIR))


def read_catalog(path: Path):
    with path.open("rb") as source:
        return read_po(source)


def entries(path: Path):
    """The catalog's messages, header left out."""
    return [message for message in read_catalog(path) if message.id]


def translations_of(message) -> list[str]:
    """msgstr, or each msgstr[n] of a plural message."""
    return list(message.string) if message.pluralizable else [message.string]


def originals_of(message) -> list[str]:
    return list(message.id) if message.pluralizable else [message.id]


def test_the_project_has_its_catalogs():
    """The workbook's messages and the chat's pages and scripts have Japanese catalogs."""
    names = {catalog_id(path) for path in CATALOGS}
    assert "workbook/locale/ja/LC_MESSAGES/workbook.po" in names


@pytest.mark.parametrize("path", CATALOGS, ids=catalog_id)
def test_every_message_is_translated(path):
    """No message is left empty, fuzzy (a draft gettext does not show) or in English."""
    problems = [
        (message.id, "fuzzy" if message.fuzzy else "untranslated")
        for message in entries(path)
        if message.fuzzy or not all(translations_of(message))
    ]
    problems += [
        (message.id, "not Japanese")
        for message in entries(path)
        if any(not JAPANESE.search(text) for text in translations_of(message) if text)
    ]
    assert not problems


@pytest.mark.parametrize("path", CATALOGS, ids=catalog_id)
def test_translations_keep_the_placeholders(path):
    """A translation fills in the same fields as its original, or formatting would fail."""
    different = [
        (message.id, text)
        for message in entries(path)
        for text in translations_of(message)
        if sorted(PLACEHOLDER.findall(text))
        != sorted(PLACEHOLDER.findall(originals_of(message)[0]))
    ]
    assert not different


@pytest.mark.parametrize("path", CATALOGS, ids=catalog_id)
def test_the_compiled_catalog_is_current(path):
    """The .mo file gettext reads says what the .po says (make setup compiles it)."""
    mo_path = path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: make setup compiles it"
    with mo_path.open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    stale = []
    for message in entries(path):
        if message.pluralizable:
            original, plural = message.id
            shown = (
                catalog.npgettext(message.context, original, plural, 1)
                if message.context
                else catalog.ngettext(original, plural, 1)
            )
            expected = message.string[0]
        else:
            shown = (
                catalog.pgettext(message.context, message.id)
                if message.context
                else catalog.gettext(message.id)
            )
            expected = message.string
        if shown != expected:
            stale.append(message.id)
    assert not stale


def test_the_workbook_catalog_has_every_message_of_the_code():
    """Every message marked in workbook/ is in the Japanese catalog, and the catalog keeps no
    message the code no longer says (make messages brings it up to date)."""
    in_code = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            i18n.LOCALE_DIR.parent, keywords=DEFAULT_KEYWORDS
        )
    }
    catalog = i18n.LOCALE_DIR / "ja" / "LC_MESSAGES" / "workbook.po"
    in_catalog = {message.id for message in entries(catalog)}
    assert sorted(in_code - in_catalog) == [], "not in the catalog: run make messages"
    assert sorted(in_catalog - in_code) == [], "no longer in the code: run make messages"


def test_no_message_is_formatted_before_it_is_translated():
    """_() receives its text as written, fields apart: an f-string, a % or a .format() inside
    it would make a msgid that no catalog holds."""
    formatted = []
    for path in sorted((REPO_DIR / "workbook").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                # a text as written, or a constant marked N_() where it is defined
                and not (node.args and isinstance(node.args[0], ast.Constant | ast.Name))
            ):
                formatted.append(f"{path.relative_to(REPO_DIR)}:{node.lineno}")
    assert not formatted


def exercise_checks() -> set[str]:
    """The name of every check function of the notebooks' exercises."""
    names = set()
    for path in (REPO_DIR / "workbook" / "exercises").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "check_"
            ):
                names.add(node.name)
    return names


def checks_run_in_japanese() -> set[str]:
    """The check functions called by a test that uses the japanese fixture."""
    called = set()
    for path in (REPO_DIR / "tests" / "workbook").glob("test_exercises_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if "japanese" not in {argument.arg for argument in node.args.args}:
                continue
            called |= {
                call.func.id
                for call in ast.walk(node)
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            }
    return called


def test_every_check_has_a_wrong_answer_run_in_japanese():
    """Each exercise check is run with a wrong answer in Japanese by a test of its module."""
    assert sorted(exercise_checks() - checks_run_in_japanese()) == []


def no_key(answer: object) -> None:
    if "key" not in answer:
        raise KeyError("key")


def test_a_check_speaks_japanese_in_the_japanese_edition(japanese, capsys):
    """The ✗ line, the code's own error and the sentence ends are Japanese."""
    assert not check_answer({}, no_key, hint="")
    assert not check_answer(None, no_key)
    assert check_answer({"key": 1}, no_key)
    out = capsys.readouterr().out
    assert_japanese(out)
    assert "KeyError" in out


def test_the_language_follows_the_edition(monkeypatch):
    """A kernel started in notebooks/ja/ speaks Japanese; in notebooks/, English, whatever
    the locale; WORKBOOK_LANGUAGE decides over both."""
    monkeypatch.delenv(i18n.LANGUAGE_VARIABLE, raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(i18n, "STARTED_IN", REPO_DIR / "notebooks" / "ja")
    assert i18n.current_language() == "ja"
    monkeypatch.setattr(i18n, "STARTED_IN", REPO_DIR / "notebooks")
    assert i18n.current_language() == "en"
    monkeypatch.setattr(i18n, "STARTED_IN", REPO_DIR)
    assert i18n.current_language() == "ja"
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert i18n.current_language() == "en"
    monkeypatch.setenv(i18n.LANGUAGE_VARIABLE, "ja")
    assert i18n.current_language() == "ja"


def test_the_command_compiles_a_catalog_gettext_reads(tmp_path):
    """python -m workbook compile-messages PO writes the .mo beside it (Babel, no GNU gettext)."""
    source = i18n.LOCALE_DIR / "ja" / "LC_MESSAGES" / "workbook.po"
    po_path = tmp_path / "workbook.po"
    po_path.write_bytes(source.read_bytes())
    subprocess.run([sys.executable, "-m", "workbook", "compile-messages", str(po_path)], check=True)
    with po_path.with_suffix(".mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    assert catalog.gettext("the answer is still None") == "答えがまだ None のままです"
