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
from pathlib import Path

import nbformat

from workbook import REPO_DIR
from workbook.reading import notebooks as english_notebooks

from .executed import executed_copy
from .links import broken_links

SOURCE_DIR = REPO_DIR / "build" / "site-src"
SITE_DIR = REPO_DIR / "build" / "site"
CONFIG_DIR = Path(__file__).parent
# The documents besides the notebooks, in the order of the site's menu
DOCUMENTS = [
    "docs/chat.md",
    "docs/protocol.md",
    "benchmarks/README.md",
    "docs/instructor.md",
    "docs/docker-and-binder.md",
    "docs/troubleshooting.md",
    "docs/testing.md",
    "SECURITY.md",
]
# The pictures the documents show
PICTURES = ["benchmarks/results/full-throughput.png", "benchmarks/results/full-latency.png"]
LAUNCH_YOUR_FORK = "docs/docker-and-binder.md#launch-your-fork-on-binder"


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


def binder_link(page: str, notebook: str, github: str | None) -> str:
    """A Markdown link that launches notebook on Binder; without a GitHub repository to build
    from, a link to how to launch your own fork."""
    if github:
        url = f"https://mybinder.org/v2/gh/{github}/HEAD?urlpath=lab/tree/{notebook}"
        return f"[Launch on Binder]({url})"
    return f"[Launch your fork on Binder]({relative(page, LAUNCH_YOUR_FORK)})"


def relative(page: str, target: str) -> str:
    """target (a path from the site's root) as a link from page."""
    depth = page.count("/")
    return "../" * depth + target


def notebook_links(notebook: Path, github: str | None) -> str:
    page = f"notebooks/{notebook.name}"
    download = f"{{download}}`Download the notebook <../downloads/{notebook.name}>`"
    return f"{binder_link(page, page, github)} · {download} (without outputs, to run it)"


def stage_notebook(notebook: Path, github: str | None) -> None:
    """The executed copy, with the links after its title cell; the clean one to download."""
    executed = nbformat.read(executed_copy(notebook), as_version=4)
    executed.cells.insert(1, nbformat.v4.new_markdown_cell(notebook_links(notebook, github)))
    nbformat.write(executed, SOURCE_DIR / "notebooks" / notebook.name)
    shutil.copy(notebook, SOURCE_DIR / "downloads" / notebook.name)


def stage_document(document: str, github: str | None, extra: str = "") -> None:
    """A Markdown document, with a Binder launch after its title (and extra at its end)."""
    text = (REPO_DIR / document).read_text()
    title, _, body = text.partition("\n")
    launch = binder_link(document, "notebooks/00_welcome.ipynb", github)
    target = SOURCE_DIR / ("index.md" if document == "README.md" else document)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"{title}\n\n{launch} (the workbook in your browser)\n{body}{extra}")


def table_of_contents(notebooks: list[Path]) -> str:
    """The site's menu: notebooks, then documents (hidden toctrees at the end of index.md)."""
    pages = [f"notebooks/{path.stem}" for path in notebooks]
    documents = [str(Path(document).with_suffix("")) for document in DOCUMENTS]
    return "".join(
        f"\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + "\n".join(entries) + "\n```\n"
        for caption, entries in (("Notebooks", pages), ("The chat and the workshop", documents))
    )


def stage(notebooks: list[Path]) -> None:
    shutil.rmtree(SOURCE_DIR, ignore_errors=True)
    (SOURCE_DIR / "notebooks").mkdir(parents=True)
    (SOURCE_DIR / "downloads").mkdir()
    github = repository()
    for notebook in notebooks:
        stage_notebook(notebook, github)
    stage_document("README.md", github, extra=table_of_contents(notebooks))
    for document in DOCUMENTS:
        stage_document(document, github)
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
    notebooks = english_notebooks()
    print("==> Staging the pages in build/site-src (each notebook with its outputs)")
    stage(notebooks)
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
