"""The workbook's messages in Japanese, as the notebooks in notebooks/ja/ show them."""

import gettext

import pytest

from workbook import i18n


@pytest.fixture
def japanese(monkeypatch):
    """Show messages in Japanese, and fail the test on any message the Japanese catalog
    lacks (gettext would show it in English)."""
    monkeypatch.setenv(i18n.LANGUAGE_VARIABLE, "ja")
    catalog, missing = i18n.translation("ja"), []

    class Strict(gettext.NullTranslations):
        def gettext(self, message: str) -> str:
            translated = catalog.gettext(message)
            if translated == message:
                missing.append(message)
            return translated

    monkeypatch.setattr(i18n, "translation", lambda language: Strict())
    yield
    assert not missing, f"missing from workbook/locale/ja/LC_MESSAGES/workbook.po: {missing}"
