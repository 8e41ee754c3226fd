"""A guard for the servers this Python starts, for when it dies without its exit handlers.

The atexit guards of servers.py stop every server when a kernel exits, but not when it dies:
killed with ``kill -9``, by the out-of-memory killer, or by Jupyter when it does not answer a
shutdown request. Its servers would run on, adopted by process 1, each in a session of its
own. So the first server started also starts this guard: a small process that reads a pipe
from this Python. Each server is written to it when it starts and taken off when it stops.
When the pipe closes, which happens however this Python ends, the guard stops what is still
listed (SIGTERM, then SIGKILL after a grace), removes the folders listed, and exits.

Run as a script (``python -I guard.py``), it is the guard: standard library only, so that it
starts in milliseconds and imports nothing of the project.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

# How long the servers have to stop on SIGTERM before SIGKILL: longer than a chat server's
# drain (CHAT_DRAIN_SECONDS, 10 s by default), so that its clients are told to reconnect
GRACE_SECONDS = 15.0
PROC = Path("/proc")

_guard: subprocess.Popen | None = None
_lock = threading.Lock()
# What the guard is told now, to tell a new guard should the first one have gone
_listed: dict[str, str] = {}


def _after_fork_in_child() -> None:
    """A forked child starts servers of its own: the parent's guard and list stay the
    parent's (the child's copy of the pipe is closed, or the guard would wait for it too)."""
    global _guard, _lock
    if _guard is not None and _guard.stdin is not None:
        _guard.stdin.close()
    _guard = None
    _listed.clear()
    # Another thread may have held the lock at the fork; it is not there to release it
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def watch_group(pid: int) -> None:
    """Stop process group pid (a server in a session of its own) should this Python die."""
    _tell(f"group {pid}", key=f"pid {pid}")


def watch_process(pid: int) -> None:
    """Stop process pid alone (it shares this Python's group) should this Python die."""
    _tell(f"process {pid}", key=f"pid {pid}")


def remove_folder(path: Path) -> None:
    """Remove folder path after the servers, should this Python die."""
    _tell(f"folder {path}", key=f"folder {path}")


def forget(pid: int) -> None:
    """Pid has been stopped: the guard leaves it alone (its number may be reused)."""
    with _lock:
        if _listed.pop(f"pid {pid}", None) is not None:
            _write(f"forget {pid}")


def _tell(line: str, key: str) -> None:
    with _lock:
        _listed[key] = line
        _write(line)


def _write(line: str) -> None:
    """Write one line to the guard, starting it (again) first if it is not running."""
    global _guard
    if _guard is None or _guard.poll() is not None:
        _guard = _start_guard()
        lines = list(_listed.values())
    else:
        lines = [line]
    try:
        _guard.stdin.write("".join(f"{each}\n" for each in lines))
        _guard.stdin.flush()
    except (BrokenPipeError, OSError):
        # The guard has gone: the next line starts another, told everything listed
        _guard = None


def _start_guard() -> subprocess.Popen:
    # A session of its own: Ctrl-C in a terminal, or a kernel interrupt, does not reach it.
    # The write end of its pipe is this Python's alone (descriptors are not inherited), so
    # the guard reads end-of-file only when this Python has gone
    return subprocess.Popen(
        [sys.executable, "-I", str(Path(__file__).resolve())],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        text=True,
    )


# The guard itself


def guard(lines) -> None:
    """Keep the list the lines give until they end, then stop everything on it."""
    groups: set[int] = set()
    processes: set[int] = set()
    folders: list[str] = []
    for line in lines:
        verb, _, argument = line.rstrip("\n").partition(" ")
        if verb == "group":
            groups.add(int(argument))
        elif verb == "process":
            processes.add(int(argument))
        elif verb == "forget":
            groups.discard(int(argument))
            processes.discard(int(argument))
        elif verb == "folder":
            folders.append(argument)
    stop(groups, processes)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def stop(groups: set[int], processes: set[int]) -> None:
    """SIGTERM to each, SIGKILL to whatever still runs after the grace."""
    _signal(groups, processes, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while _alive(groups, processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    _signal(groups, processes, signal.SIGKILL)


def _signal(groups: set[int], processes: set[int], number: int) -> None:
    for pid in groups:
        _send(os.killpg, pid, number)
    for pid in processes:
        _send(os.kill, pid, number)


def _send(kill, pid: int, number: int) -> bool:
    try:
        kill(pid, number)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _alive(groups: set[int], processes: set[int]) -> bool:
    """Whether any of them still runs. A zombie does not: where nothing reaps orphans (a
    container whose first process is not an init) it would stay until the grace is over."""
    if not PROC.is_dir():
        return any(_send(os.killpg, pid, 0) for pid in groups) or any(
            _send(os.kill, pid, 0) for pid in processes
        )
    running = [(pid, group) for pid, state, group in _processes() if state != "Z"]
    return any(pid in processes or group in groups for pid, group in running)


def _processes():
    """(pid, state, process group) of every process, from /proc/<pid>/stat."""
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The fields after the command's name, which is in parentheses and may hold spaces
        state, _parent, group = stat.rpartition(")")[2].split()[:3]
        yield int(entry.name), state, int(group)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    guard(sys.stdin)
