"""Notebooks run headless, and the executed copies the site shows.

The tests run every notebook (tests/notebooks); the first run's copy, with its outputs, is
kept under build/executed/ with a fingerprint of the notebook it came from. The site reuses
a copy whose fingerprint matches, and runs only the notebooks that have none.
"""

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from workbook import REPO_DIR
from workbook.reading import NOTEBOOKS_DIR

EXECUTED_DIR = REPO_DIR / "build" / "executed"
CELL_TIMEOUT = 180


def fingerprint(path: Path) -> str:
    """What the notebook at path says: its bytes, hashed."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def executed_path(path: Path) -> Path:
    """Where the copy of notebooks/<edition>/<name>.ipynb is kept: the same path under
    EXECUTED_DIR, so that the two editions' copies stay apart."""
    return EXECUTED_DIR / path.relative_to(NOTEBOOKS_DIR)


def run_environment(folder: Path, **extra: str) -> dict[str, str]:
    """A run's environment: its projects, messages and temporary files (server logs, Redis
    folders) in folder, never the attendee's workspace/; this checkout's workbook imported."""
    workspace, temporary = folder / "workspace", folder / "tmp"
    workspace.mkdir(parents=True, exist_ok=True)
    temporary.mkdir(exist_ok=True)
    python_path = os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "WORKBOOK_WORKSPACE": str(workspace),
        "TMPDIR": str(temporary),
        "DJANGO_SQLITE_PATH": str(workspace / "chat.sqlite3"),
        "PYTHONPATH": python_path,
        **extra,
    }


def execute(
    path: Path,
    folder: Path,
    env: dict[str, str] | None = None,
    on_cell_executed: Callable | None = None,
) -> nbformat.NotebookNode:
    """Run the notebook at path top to bottom in a fresh kernel, as Run All does; return it
    with its outputs. Its files go to folder (run_environment)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_executed=on_cell_executed,
    )
    client.execute(env=env or run_environment(folder))
    return notebook


def save_executed(path: Path, notebook: nbformat.NotebookNode) -> None:
    """Keep notebook, run from path, for the site; the fingerprint says which version ran."""
    notebook.metadata.setdefault("workbook", {})["source_sha256"] = fingerprint(path)
    executed_path(path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, executed_path(path))


def reusable_copy(path: Path) -> Path | None:
    """The executed copy of the notebook at path, if it ran from this very version."""
    copy = executed_path(path)
    if not copy.exists():
        return None
    ran = nbformat.read(copy, as_version=4).metadata.get("workbook", {}).get("source_sha256")
    return copy if ran == fingerprint(path) else None


def executed_copy(path: Path, log: Callable[[str], None] = print) -> Path:
    """An executed copy of the notebook at path: the tests' when it is current, else a new run."""
    if copy := reusable_copy(path):
        log(f"    {path.name}: the tests' executed copy")
        return copy
    log(f"    {path.name}: running it (no current executed copy)")
    with tempfile.TemporaryDirectory(prefix="site-run-") as folder:
        save_executed(path, execute(path, Path(folder)))
    return executed_path(path)
