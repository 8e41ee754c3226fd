"""Build the site: the README's quick start as the first page, each notebook with its outputs,
the docs; a Binder launch and a download link on every page. Any Sphinx warning and any
internal link that goes nowhere fails the build.

    python -m book.build    (make site) writes build/site/index.html

The Binder links launch the GitHub repository that WORKBOOK_GITHUB names ("owner/name"), or
git's origin remote; with neither, they say how to launch your own fork.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from workbook import REPO_DIR
from workbook.reading import notebooks as english_notebooks

from .executed import executed_copy
from .links import broken_links

SOURCE_DIR = REPO_DIR / "build" / "site-src"
SITE_DIR = REPO_DIR / "build" / "site"
CONFIG_DIR = Path(__file__).parent
# The pictures the documents show
PICTURES = ["benchmarks/results/full-throughput.png", "benchmarks/results/full-latency.png"]
LAUNCH_YOUR_FORK = "docs/docker-and-binder.md#launch-your-fork-on-binder"


@dataclass(frozen=True)
class Edition:
    """One language of the workbook: its notebooks' folder, its first page, its documents
    in the order of the site's menu, and the words of the links the site adds."""

    folder: str
    start: str
    documents: tuple[str, ...]
    menu: tuple[str, str]
    launch: str
    launch_fork: str
    download: str
    twin: str


ENGLISH = Edition(
    folder="notebooks",
    start="README.md",
    documents=(
        "docs/chat.md",
        "docs/protocol.md",
        "benchmarks/README.md",
        "docs/instructor.md",
        "docs/docker-and-binder.md",
        "docs/troubleshooting.md",
        "docs/testing.md",
        "SECURITY.md",
    ),
    menu=("Notebooks", "The chat and the workshop"),
    launch="Launch on Binder",
    launch_fork="Launch your fork on Binder",
    download="Download the notebook (without outputs, to run it)",
    twin="日本語",
)
JAPANESE = Edition(
    folder="notebooks/ja",
    start="README.ja.md",
    documents=("docs/glossary.ja.md", "docs/instructor.ja.md"),
    menu=("日本語版のノートブック", "日本語の資料"),
    launch="Binder で起動",
    launch_fork="自分のフォークを Binder で起動",
    download="ノートブックをダウンロード（出力なし。実行用）",
    twin="English",
)
EDITIONS = (ENGLISH, JAPANESE)
# Pages with a twin in the other language, both ways
TWINS = {"README.md": "README.ja.md", "docs/instructor.md": "docs/instructor.ja.md"}
TWINS |= {japanese: english for english, japanese in TWINS.items()}


def repository() -> str | None:
    """The GitHub repository ("owner/name") that Binder builds: WORKBOOK_GITHUB, or else
    git's origin remote if it is on GitHub."""
    if named := os.environ.get("WORKBOOK_GITHUB"):
        return named
    result = subprocess.run(
        ["git", "remote", "get-url", "origin"], cwd=REPO_DIR, capture_output=True, text=True
    )
    match = re.search(r"github\.com[:/]([\w.-]+/[\w.-]+?)(?:\.git)?$", result.stdout.strip())
    return match[1] if match else None


def binder_link(page: str, notebook: str, github: str | None, edition: Edition = ENGLISH) -> str:
    """A Markdown link that launches notebook on Binder; without a GitHub repository to build
    from, a link to how to launch your own fork."""
    if github:
        url = f"https://mybinder.org/v2/gh/{github}/HEAD?urlpath=lab/tree/{notebook}"
        return f"[{edition.launch}]({url})"
    return f"[{edition.launch_fork}]({relative(page, LAUNCH_YOUR_FORK)})"


def relative(page: str, target: str) -> str:
    """target (a path from the site's root) as a link from page."""
    depth = page.count("/")
    return "../" * depth + target


def notebooks(edition: Edition) -> list[Path]:
    return english_notebooks(REPO_DIR / edition.folder)


def twin_of(page: str) -> str:
    """The same page in the other language."""
    if page in TWINS:
        return TWINS[page]
    folder, name = page.rsplit("/", 1)
    return f"{JAPANESE.folder}/{name}" if folder == ENGLISH.folder else f"{ENGLISH.folder}/{name}"


def page_links(page: str, notebook: str, github: str | None, edition: Edition) -> str:
    """The line the site adds under a page's title: Binder, the download of a notebook, and
    the page in the other language."""
    links = [binder_link(page, notebook, github, edition)]
    if page.endswith(".ipynb"):
        download = relative(page, f"downloads/{page.removeprefix('notebooks/')}")
        links.append(f"{{download}}`{edition.download} <{download}>`")
    if page in TWINS or page.endswith(".ipynb"):
        other = EDITIONS[1 - EDITIONS.index(edition)]
        links.append(f"[{edition.twin}]({relative(page, site_path(twin_of(page)))})")
        assert (REPO_DIR / twin_of(page)).exists(), f"{page} has no {other.twin} twin"
    return " · ".join(links)


def stage_notebook(notebook: Path, github: str | None, edition: Edition) -> None:
    """The executed copy, with the links after its title cell; the clean one to download."""
    page = f"{edition.folder}/{notebook.name}"
    executed = nbformat.read(executed_copy(notebook), as_version=4)
    links = page_links(page, page, github, edition)
    executed.cells.insert(1, nbformat.v4.new_markdown_cell(links))
    for target in (SOURCE_DIR / page, SOURCE_DIR / "downloads" / page.removeprefix("notebooks/")):
        target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(executed, SOURCE_DIR / page)
    shutil.copy(notebook, SOURCE_DIR / "downloads" / page.removeprefix("notebooks/"))


def stage_document(document: str, github: str | None, edition: Edition, extra: str = "") -> None:
    """A Markdown document, with the links after its title (and extra at its end)."""
    text = (REPO_DIR / document).read_text()
    title, _, body = text.partition("\n")
    first = f"{edition.folder}/00_welcome.ipynb"
    links = page_links(document, first, github, edition)
    # Links to the README lead to the site's first page
    body = README_LINK.sub(r"](\1index.md", body)
    target = SOURCE_DIR / site_path(document)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"{title}\n\n{links}\n{body}{extra}")


def site_path(document: str) -> str:
    """Where document is in the site: the README is its first page, index.md."""
    return "index.md" if document == ENGLISH.start else document


# A Markdown link to the README, from any folder
README_LINK = re.compile(r"\]\(((?:\.\./)*)README\.md\b")


def docname(document: str) -> str:
    """The page's name in the menu: its path in the site without the suffix."""
    return site_path(document).removesuffix(".md")


def table_of_contents() -> str:
    """The site's menu, edition by edition: notebooks, then documents (hidden toctrees at
    the end of index.md)."""
    sections = []
    for edition in EDITIONS:
        pages = [f"{edition.folder}/{path.stem}" for path in notebooks(edition)]
        documents = [docname(document) for document in edition.documents]
        if edition is not ENGLISH:
            documents.insert(0, docname(edition.start))
        sections += [(edition.menu[0], pages), (edition.menu[1], documents)]
    return "".join(
        f"\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + "\n".join(entries) + "\n```\n"
        for caption, entries in sections
    )


def stage() -> None:
    shutil.rmtree(SOURCE_DIR, ignore_errors=True)
    SOURCE_DIR.mkdir(parents=True)
    github = repository()
    for edition in EDITIONS:
        for notebook in notebooks(edition):
            stage_notebook(notebook, github, edition)
        for document in (edition.start, *edition.documents):
            extra = table_of_contents() if document == ENGLISH.start else ""
            stage_document(document, github, edition, extra)
    for picture in PICTURES:
        (SOURCE_DIR / picture).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_DIR / picture, SOURCE_DIR / picture)


def sphinx() -> int:
    """Build the HTML; -W: any warning (a broken reference, a missing anchor) fails it."""
    shutil.rmtree(SITE_DIR, ignore_errors=True)
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    command += ["-c", str(CONFIG_DIR), str(SOURCE_DIR), str(SITE_DIR)]
    return subprocess.run(command).returncode


def main() -> int:
    started = time.monotonic()
    print("==> Staging the pages in build/site-src (each notebook with its outputs)")
    stage()
    print("==> Building the site with Sphinx (warnings are errors)")
    if sphinx() != 0:
        return 1
    if broken := broken_links(SITE_DIR):
        print("==> Links inside the site that go nowhere:", *broken, sep="\n    ")
        return 1
    seconds = time.monotonic() - started
    print(f"==> The site is in build/site/index.html ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
