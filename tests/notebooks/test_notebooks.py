"""Every notebook: stored clean, runs top to bottom in a fresh kernel, leaves nothing running,
and every link it prints for the learner's browser opens a chat room while its server runs."""

import asyncio
import contextlib
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest

from book.executed import execute, run_environment, save_executed
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, require_chromium
from workbook.reading import NOTEBOOKS_DIR, notebooks

# Both editions: the English notebooks and their Japanese twins in notebooks/ja/
NOTEBOOKS = notebooks() + notebooks(NOTEBOOKS_DIR / "ja")
# What browser_link() shows: a link to a server on this machine, opening in a new tab
BROWSER_LINK = re.compile(r'<a href="(http://127\.0\.0\.1:\d+/[^"]*)" target="_blank"')
# The notebooks whose printed links the learner is meant to open, each to a room page
PRINT_LINKS = {"00_welcome", "02_django_project", "05_channel_layers"}
# Where the learner opens the blog's two windows: a real browser follows its link
BLOG_ENDING = "02_django_project"


def notebook_id(path: Path) -> str:
    """02_django_project, or ja/02_django_project for its Japanese twin."""
    return str(path.relative_to(NOTEBOOKS_DIR).with_suffix(""))


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


def open_room(url: str, language: str = "en") -> str:
    """The page at url, asked for in language as a browser set to it asks, which must answer
    200 with a chat room (the blog's element ids)."""
    request = urllib.request.Request(url, headers={"Accept-Language": language})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200, f"{url} answered {response.status}"
        page = response.read().decode()
    for element in ('id="chat-log"', 'id="chat-message-input"', 'id="chat-message-submit"'):
        assert element in page, f"{url} is not a room page: no {element}"
    return page


async def two_windows_share_hogehoge(url: str) -> None:
    """The blog's ending: the room open in two windows, "hogehoge" typed in one shows in both."""
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            first, second = [await browser.new_page() for _ in range(2)]
            for page in (first, second):
                await page.goto(url)
            # The blog's page has no status line: the socket is open once a message goes round
            for attempt in range(20):
                text = f"hogehoge {attempt}"
                await first.fill("#chat-message-input", text)
                await first.click("#chat-message-submit")
                try:
                    await expect(second.locator("#chat-log")).to_have_value(
                        re.compile(text), timeout=500
                    )
                    return
                except AssertionError:
                    continue
            raise AssertionError(f"'hogehoge' typed in one window never showed in the other: {url}")
        finally:
            await browser.close()


class PrintedLinks:
    """After each cell: open every browser link it printed, while its server still runs.
    The Japanese edition's links to the finished chat open its pages in Japanese (02's is the
    page the learner wrote, in no language but the blog's)."""

    def __init__(self, notebook: str, language: str = "en") -> None:
        self.notebook = notebook
        self.language = language
        self.opened: list[str] = []

    async def __call__(self, cell, cell_index: int, execute_reply) -> None:
        for output in cell.get("outputs", []):
            shown = output.get("data", {}).get("text/html", "")
            for url in map(html.unescape, BROWSER_LINK.findall(shown)):
                page = await asyncio.to_thread(open_room, url, self.language)
                if self.notebook == BLOG_ENDING:
                    await two_windows_share_hogehoge(url)
                else:
                    assert f'<html lang="{self.language}">' in page, f"{url} not in {self.language}"
                self.opened.append(url)


def run_notebook(path: Path, run_id: str, folder: Path, links: PrintedLinks | None = None) -> float:
    """Run the notebook once; its files and servers' logs go to folder, its processes carry
    run_id. The attendee's own workspace/ and chat database stay untouched."""
    env = run_environment(folder, WORKBOOK_TEST_RUN=run_id)
    started = time.monotonic()
    notebook = execute(path, folder, env, on_cell_executed=links)
    seconds = time.monotonic() - started
    # The site shows this run's outputs rather than running the notebook a third time
    save_executed(path, notebook)
    return seconds


@pytest.fixture
def run_folder():
    """The runs' folder, which PostgreSQL's user can reach when the tests run as root (notebook
    08 starts a cluster in it), as the end-to-end tests' cluster folder: pytest's own
    temporary folders are private to root."""
    folder = Path(tempfile.mkdtemp(prefix="notebook-run-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_runs_twice_and_cleans_up(path, run_folder, run_times):
    """Run All works twice in a row, and no server a notebook started outlives its kernel.
    On the first run, every link printed for the learner's browser opens a room."""
    links = PrintedLinks(path.stem, language="ja" if path.parent.name == "ja" else "en")
    if path.stem == BLOG_ENDING:
        require_chromium()
    for attempt in (1, 2):
        run_id = uuid.uuid4().hex
        try:
            seconds = run_notebook(path, run_id, run_folder, links if attempt == 1 else None)
        except BaseException:
            # A cell failed and the kernel went without its atexit guard: stop what it started
            kill_all(wait_until_gone(run_id, run_folder, timeout=2))
            raise
        run_times.setdefault(notebook_id(path), []).append(seconds)
        survivors = wait_until_gone(run_id, run_folder)
        leftover = [" ".join(filter(None, process.cmdline())) for process in survivors]
        kill_all(survivors)
        assert not survivors, f"left running after the kernel ended: {leftover}"
    if path.stem in PRINT_LINKS:
        assert links.opened, "no browser link printed: the learner has nothing to open"
    else:
        assert not links.opened, f"prints {links.opened}: add it to PRINT_LINKS"


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
