"""The site's build: executed copies reused only when current, Binder links, every document
in the menu, and the check that finds links going nowhere."""

import nbformat

from book import build, executed
from book.links import broken_links
from workbook import REPO_DIR
from workbook.reading import notebooks as english_notebooks


def write_page(path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body>{body}</body></html>")


class TestBrokenLinks:
    def test_a_missing_page_and_a_missing_anchor_are_found(self, tmp_path):
        """A link to no file, or to an id the page lacks, is broken; the rest is not."""
        write_page(tmp_path / "docs" / "chat.html", '<h2 id="limits">Limits</h2>')
        links = [
            "docs/chat.html#limits",
            "docs/chat.html#gone",
            "docs/none.html",
            "#top",
            "https://example.org/missing.html",
            "mailto:someone@example.org",
        ]
        write_page(
            tmp_path / "index.html",
            '<a id="top"></a>' + "".join(f'<a href="{link}">x</a>' for link in links),
        )
        assert broken_links(tmp_path) == [
            "index.html: docs/chat.html#gone",
            "index.html: docs/none.html",
        ]

    def test_the_themes_templates_are_not_pages(self, tmp_path):
        """_static/*.html hold Jinja for Sphinx, whose links are not links yet."""
        write_page(tmp_path / "_static" / "macros.html", "<script src=\"{{ pathto('x') }}\">")
        assert broken_links(tmp_path) == []


class TestExecutedCopies:
    def test_a_copy_is_reused_only_for_the_version_that_ran(self, tmp_path, monkeypatch):
        """The tests' copy serves the site until the notebook changes."""
        monkeypatch.setattr(executed, "EXECUTED_DIR", tmp_path / "executed")
        monkeypatch.setattr(executed, "NOTEBOOKS_DIR", tmp_path / "notebooks")
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
        path = tmp_path / "notebooks" / "ja" / "00_try.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, path)
        assert executed.reusable_copy(path) is None
        executed.save_executed(path, nbformat.read(path, as_version=4))
        assert executed.reusable_copy(path) == tmp_path / "executed" / "ja" / "00_try.ipynb"
        notebook.cells.append(nbformat.v4.new_markdown_cell("Changed."))
        nbformat.write(notebook, path)
        assert executed.reusable_copy(path) is None


class TestPages:
    def test_binder_launches_the_named_repository_or_explains_forks(self):
        """With a GitHub repository: mybinder.org opens the notebook; without: the docs say
        how to launch your fork, linked from where the page is."""
        page = "notebooks/02_django_project.ipynb"
        launch = build.binder_link(page, page, "alice/asgi-workbook")
        assert launch == (
            "[Launch on Binder](https://mybinder.org/v2/gh/alice/asgi-workbook/HEAD"
            "?urlpath=lab/tree/notebooks/02_django_project.ipynb)"
        )
        fork = build.binder_link(page, page, None)
        assert fork == f"[Launch your fork on Binder](../{build.LAUNCH_YOUR_FORK})"

    def test_the_repository_comes_from_workbook_github_first(self, monkeypatch):
        monkeypatch.setenv("WORKBOOK_GITHUB", "bob/workbook")
        assert build.repository() == "bob/workbook"

    def test_every_document_is_in_the_menu(self):
        """A new file in docs/ cannot be left out of the site."""
        listed = [
            document
            for edition in build.EDITIONS
            for document in (edition.start, *edition.documents)
        ]
        documents = {str(path.relative_to(REPO_DIR)) for path in REPO_DIR.glob("docs/*.md")}
        assert documents <= set(listed)
        assert all((REPO_DIR / document).exists() for document in listed)

    def test_the_menu_lists_both_editions(self):
        """Every notebook of each edition and every document is a page of the menu."""
        menu = build.table_of_contents()
        for edition in build.EDITIONS:
            for path in english_notebooks(REPO_DIR / edition.folder):
                assert f"\n{edition.folder}/{path.stem}\n" in menu
            for document in edition.documents:
                assert f"\n{document.removesuffix('.md')}\n" in menu
        assert "\nREADME.ja\n" in menu

    def test_each_page_links_its_twin_in_the_other_language(self):
        """The language switch: a notebook links its twin, the README its Japanese one."""
        page = "notebooks/02_django_project.ipynb"
        links = build.page_links(page, page, None, build.ENGLISH)
        assert "[日本語](../notebooks/ja/02_django_project.ipynb)" in links
        assert "<../downloads/02_django_project.ipynb>" in links
        japanese = "notebooks/ja/02_django_project.ipynb"
        links = build.page_links(japanese, japanese, None, build.JAPANESE)
        assert "[English](../../notebooks/02_django_project.ipynb)" in links
        assert "<../../downloads/ja/02_django_project.ipynb>" in links
        readme = build.page_links("README.md", page, None, build.ENGLISH)
        assert "[日本語](README.ja.md)" in readme
