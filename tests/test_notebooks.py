"""Every notebook: stored clean, runs top to bottom in a fresh kernel, leaves nothing running."""

import contextlib
import os
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

from workbook import REPO_DIR

NOTEBOOKS = sorted((REPO_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 180
# Seconds per notebook run, printed at the end of the test session (see conftest.py)
RUN_TIMES: dict[str, list[float]] = {}


def notebook_id(path: Path) -> str:
    return path.stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_stored_without_outputs(path):
    """Notebooks are committed with outputs and execution counts cleared."""
    notebook = nbformat.read(path, as_version=4)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not dirty, f"cells {dirty} have outputs: clear them before committing"


# Servers a notebook may start. Redis rewrites its process title over its environment, so
# the marker alone cannot find it: anything of these kinds started during the run counts too.
SERVER_WORDS = ("daphne", "uvicorn", "redis-server", "runserver", "http.server", "chromium")


def is_from_run(process: psutil.Process, run_id: str, started: float) -> bool:
    if process.environ().get("WORKBOOK_TEST_RUN") == run_id:
        return True
    command = " ".join(process.cmdline())
    return process.create_time() >= started and any(word in command for word in SERVER_WORDS)


def processes_started_by(run_id: str, started: float) -> list[psutil.Process]:
    """Processes the run started: its marker in their environment, or servers born during it."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and is_from_run(process, run_id, started):
                found.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def wait_until_gone(run_id: str, started: float, timeout: float = 10.0) -> list[psutil.Process]:
    """Give exiting processes a moment; return whatever still runs after timeout."""
    deadline = time.monotonic() + timeout
    while (survivors := processes_started_by(run_id, started)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return survivors


def kill_all(processes: list[psutil.Process], run_id: str) -> None:
    """Kill what a failed or leaky run left behind (its marker proves it), so that it cannot
    disturb the tests after it."""
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.environ().get("WORKBOOK_TEST_RUN") == run_id:
                process.kill()


def run_notebook(path: Path, run_id: str, workspace: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.monotonic()
    # The attendee's own workspace/ and chat database stay untouched: the run builds its
    # projects and keeps its messages elsewhere. The kernel imports this checkout's
    # workbook, whichever one the environment installed.
    workspace.mkdir(parents=True, exist_ok=True)
    python_path = os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")]))
    env = {
        **os.environ,
        "WORKBOOK_TEST_RUN": run_id,
        "WORKBOOK_WORKSPACE": str(workspace),
        "DJANGO_SQLITE_PATH": str(workspace / "chat.sqlite3"),
        "PYTHONPATH": python_path,
    }
    client.execute(env=env)
    return time.monotonic() - started


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_runs_twice_and_cleans_up(path, tmp_path):
    """Run All works twice in a row, and no server a notebook started outlives its kernel."""
    for _attempt in (1, 2):
        run_id, started = uuid.uuid4().hex, time.time()
        try:
            seconds = run_notebook(path, run_id, tmp_path / "workspace")
        except BaseException:
            # A cell failed and the kernel went without its atexit guard: stop what it started
            kill_all(wait_until_gone(run_id, started, timeout=2), run_id)
            raise
        RUN_TIMES.setdefault(path.name, []).append(seconds)
        survivors = wait_until_gone(run_id, started)
        leftover = [" ".join(filter(None, process.cmdline())) for process in survivors]
        kill_all(survivors, run_id)
        assert not survivors, f"left running after the kernel ended: {leftover}"
