"""Every notebook: stored clean, runs top to bottom in a fresh kernel, leaves nothing running."""

import contextlib
import os
import subprocess
import sys
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


def is_from_run(process: psutil.Process, run_id: str, folder: Path) -> bool:
    """Whether the run started process: its marker is in its environment, or its command
    line names the run's own folder (Redis writes its process title over its environment,
    but its --dir is the run's temporary folder). Servers that other checkouts or people
    start meanwhile have neither."""
    if process.environ().get("WORKBOOK_TEST_RUN") == run_id:
        return True
    inside = f"{folder}{os.sep}"
    return any(inside in part for part in process.cmdline())


def processes_started_by(run_id: str, folder: Path) -> list[psutil.Process]:
    """Processes the run started, still running."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and is_from_run(process, run_id, folder):
                found.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def wait_until_gone(run_id: str, folder: Path, timeout: float = 10.0) -> list[psutil.Process]:
    """Give exiting processes a moment; return whatever still runs after timeout."""
    deadline = time.monotonic() + timeout
    while (survivors := processes_started_by(run_id, folder)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return survivors


def kill_all(processes: list[psutil.Process]) -> None:
    """Kill what a failed or leaky run left behind, so that it cannot disturb the tests after it."""
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()


def run_notebook(path: Path, run_id: str, folder: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.monotonic()
    # The attendee's own workspace/ and chat database stay untouched: the run builds its
    # projects and keeps its messages in its folder, and its temporary files (server logs,
    # Redis folders) go there too. The kernel imports this checkout's workbook, whichever
    # one the environment installed.
    workspace, temporary = folder / "workspace", folder / "tmp"
    workspace.mkdir(parents=True, exist_ok=True)
    temporary.mkdir(exist_ok=True)
    python_path = os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")]))
    env = {
        **os.environ,
        "WORKBOOK_TEST_RUN": run_id,
        "WORKBOOK_WORKSPACE": str(workspace),
        "TMPDIR": str(temporary),
        "DJANGO_SQLITE_PATH": str(workspace / "chat.sqlite3"),
        "PYTHONPATH": python_path,
    }
    client.execute(env=env)
    return time.monotonic() - started


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_runs_twice_and_cleans_up(path, tmp_path, run_times):
    """Run All works twice in a row, and no server a notebook started outlives its kernel."""
    for _attempt in (1, 2):
        run_id = uuid.uuid4().hex
        try:
            seconds = run_notebook(path, run_id, tmp_path)
        except BaseException:
            # A cell failed and the kernel went without its atexit guard: stop what it started
            kill_all(wait_until_gone(run_id, tmp_path, timeout=2))
            raise
        run_times.setdefault(path.name, []).append(seconds)
        survivors = wait_until_gone(run_id, tmp_path)
        leftover = [" ".join(filter(None, process.cmdline())) for process in survivors]
        kill_all(survivors)
        assert not survivors, f"left running after the kernel ended: {leftover}"


def test_the_leak_check_counts_only_the_runs_own_processes(tmp_path):
    """The run's marker, or the run's folder on the command line, makes a process the run's;
    a server that someone else starts meanwhile, however it is named, is not."""
    run_id = uuid.uuid4().hex
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    started = [
        subprocess.Popen(sleeper, env={**os.environ, "WORKBOOK_TEST_RUN": run_id}),
        # As a notebook's Redis: its --dir is inside the run's folder
        subprocess.Popen([*sleeper, "redis-server", "--dir", str(tmp_path / "redis")]),
        # Another checkout's daphne and Redis
        subprocess.Popen([*sleeper, "daphne", "--dir", f"{tmp_path}-other/redis"]),
    ]
    try:
        found = {process.pid for process in processes_started_by(run_id, tmp_path)}
        assert [process.pid in found for process in started] == [True, True, False]
    finally:
        for process in started:
            process.kill()
            process.wait()
