"""Where a server's time goes: its process under py-spy during a fan-out, in cost centres.

``python -m benchmarks.profile`` (``--config blog``, ``chat``, ``raw`` or another configuration
of one server process) runs the configuration's server command as py-spy's child
(``py-spy record --format raw -r 100 --gil -o FILE -- python -m daphne …``: a child can be
sampled even where ptrace is limited to a process's descendants), puts
listeners in one room with a sender going as fast as it can, ends the server so that py-spy
writes its samples, and sorts each sample into one cost centre by the files of its frames.
It prints a table and writes JSON (benchmarks/results/profile-<config>.json)."""

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import psutil

from workbook import BackgroundServer, RedisServer, ServerSpec
from workbook.ports import HOST

from . import loadgen
from .configs import CONFIGS, Config, Setup
from .run import RESULTS_DIR, machine

# The cost centres, as the table lists them when they tie
LOOP = "asyncio event loop"
BRIDGE = "asgiref sync↔async"
CHANNELS = "channels dispatch"
SERVER = "twisted, autobahn, daphne"
CHANNELS_REDIS = "channels_redis"
REDIS_PY = "redis-py"
JSON = "json, msgpack"
DATABASE = "database"
OURS = "our code (the consumer)"
WEBSOCKETS = "websockets"
OTHER = "other"
CENTRES = [LOOP, BRIDGE, CHANNELS, SERVER, CHANNELS_REDIS, REDIS_PY, JSON, DATABASE, OURS]
CENTRES += [WEBSOCKETS, OTHER]

# A sample goes to the centre of its innermost frame from one of these libraries (any other
# installed package is "other"); helpers of the standard library (threading, functools,
# contextvars…) count for whoever called them
CENTRE_OF_LIBRARY = {
    "uvloop": LOOP,
    "asgiref": BRIDGE,
    # Only asgiref's SyncToAsync runs a thread pool in these servers
    "concurrent": BRIDGE,
    "channels": CHANNELS,
    "daphne": SERVER,
    "twisted": SERVER,
    "autobahn": SERVER,
    "txaio": SERVER,
    "zope": SERVER,
    "uvicorn": SERVER,
    "channels_redis": CHANNELS_REDIS,
    "redis": REDIS_PY,
    "json": JSON,
    "msgpack": JSON,
    "django.db": DATABASE,
    "sqlite3": DATABASE,
    "ours": OURS,
    "websockets": WEBSOCKETS,
}
# Django's helpers (lazy objects, settings) count for whoever called them, like the standard
# library's: Channels' session middleware, say. Its database code is a centre of its own.
NEUTRAL_PACKAGES = {"django"}
# The event loop's own frames: a sample that reaches one of them before any library frame is
# the loop's work (running callbacks and task steps, waiting in select)
LOOP_FRAMES = {"_run", "_run_once", "run_forever", "run_until_complete"}

PY_SPY_VERSION = "0.4.3"


class ProfilerUnavailable(RuntimeError):
    """py-spy could not record this machine's server; the message says why."""


@dataclass(frozen=True)
class Frame:
    function: str
    file: str
    line: int | None = None

    @property
    def where(self) -> str:
        return f"{self.function.rsplit('.', 1)[-1]} ({short_path(self.file)})"


def parse_frame(text: str) -> Frame:
    """One frame of py-spy's raw format: ``function (file:line)``."""
    match = re.fullmatch(r"(?P<function>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)", text)
    if not match:
        return Frame(text, "")
    line = match["line"]
    return Frame(match["function"], match["file"], int(line) if line else None)


def parse_raw(text: str) -> list[tuple[list[Frame], int]]:
    """py-spy's raw (collapsed) format: a stack per line, outermost frame first, then a count."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.strip().rpartition(" ")
        if stack and count.isdigit():
            stacks.append(([parse_frame(part) for part in stack.split(";")], int(count)))
    return stacks


def installed(path: str) -> re.Match | None:
    return re.search(r"/(?:site|dist)-packages/([^/]+)(/[^/]+)?", path.replace("\\", "/"))


def library(path: str) -> str:
    """The package or standard-library module a file belongs to; "ours" for this repository."""
    path = path.replace("\\", "/")
    package = installed(path)
    if package:
        name, below = package[1].removesuffix(".py"), package[2]
        return "django.db" if name == "django" and below == "/db" else name
    if re.search(r"(^|/)(chatproject|benchmarks)/", path):
        return "ours"
    standard = re.search(r"/python3\.\d+/([^/]+)", path)
    return standard[1].removesuffix(".py") if standard else ""


def short_path(path: str) -> str:
    """A file as a reader wants it: from its package (channels/utils.py), or the repository."""
    path = path.replace("\\", "/")
    for pattern in (r"/(?:site|dist)-packages/(.*)", r"/((?:chatproject|benchmarks)/.*)"):
        found = re.search(pattern, path)
        if found:
            return found[1]
    standard = re.search(r"/python3\.\d+/(.*)", path)
    return standard[1] if standard else path


def is_loop_frame(frame: Frame) -> bool:
    name = frame.function.rsplit(".", 1)[-1]
    return library(frame.file) == "asyncio" and name in LOOP_FRAMES


def cost_centre(stack: list[Frame]) -> tuple[str, Frame | None]:
    """The centre a sample counts for, and the frame that decided it."""
    for frame in reversed(stack):
        centre = CENTRE_OF_LIBRARY.get(library(frame.file))
        if centre is None and installed(frame.file) and library(frame.file) not in NEUTRAL_PACKAGES:
            centre = OTHER
        if centre is not None:
            return centre, frame
        if is_loop_frame(frame):
            return LOOP, stack[-1]
    return OTHER, stack[-1] if stack else None


def is_start_up(stack: list[Frame]) -> bool:
    """Importing modules: the server starting, not serving."""
    return any(frame.file.startswith("<frozen importlib") for frame in stack)


def aggregate(stacks: list[tuple[list[Frame], int]], top: int = 3) -> dict:
    """Samples per cost centre (start-up imports left out), largest first, with shares."""
    per_centre: Counter[str] = Counter()
    per_frame: dict[str, Counter[str]] = {}
    start_up = 0
    for stack, count in stacks:
        if is_start_up(stack):
            start_up += count
            continue
        centre, frame = cost_centre(stack)
        per_centre[centre] += count
        where = frame.where if frame else "?"
        per_frame.setdefault(centre, Counter())[where] += count
    total = sum(per_centre.values())
    ranked = sorted(per_centre, key=lambda centre: (-per_centre[centre], CENTRES.index(centre)))
    return {
        "samples": total,
        "start_up_samples": start_up,
        "centres": [
            {
                "centre": centre,
                "samples": per_centre[centre],
                "share": round(per_centre[centre] / total, 4),
                "top": [
                    {"frame": where, "samples": count}
                    for where, count in per_frame[centre].most_common(top)
                ],
            }
            for centre in ranked
        ],
    }


def table(profile: dict) -> str:
    """The cost centres as text: share, samples, and the frame that decided most of them."""
    header = f"{'cost centre':27} {'share':>6} {'samples':>8}  top frame"
    lines = [header, "-" * 90]
    for row in profile["centres"]:
        where = row["top"][0]["frame"] if row["top"] else ""
        lines.append(f"{row['centre']:27} {row['share']:6.0%} {row['samples']:8}  {where}")
    return "\n".join(lines)


# A configuration of one server process: py-spy records one process (a cluster has several,
# and nginx in front)
PROFILABLE = [
    name for name, config in CONFIGS.items() if isinstance(config, Config) and config.processes == 1
]


def py_spy() -> str:
    """The py-spy executable: beside this Python (a venv's bin/), or on the PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise ProfilerUnavailable(f"py-spy is not installed: pip install py-spy=={PY_SPY_VERSION}")
    return found


def profiled_server(config: str, setup: Setup, samples: Path, rate: int) -> ServerSpec:
    """The configuration's server, its command run as py-spy's child; py-spy writes the
    samples when it ends."""
    if config not in PROFILABLE:
        raise ValueError(f"cannot profile {config!r}; choose from {PROFILABLE}")
    server = CONFIGS[config].server(setup)
    # --gil: only the thread holding the GIL, the one running Python, is sampled; waits in
    # select() or for a worker thread are left out (py-spy's own idle check misses them)
    record = [py_spy(), "record", "--format", "raw", "-r", str(rate), "--gil", "--full-filenames"]
    command = (*record, "-o", str(samples), "--", *server.command)
    return replace(server, name="py-spy", command=command)


def start_profiled(config: str, setup: Setup, samples: Path, rate: int) -> BackgroundServer:
    """The configuration's server under py-spy, started."""
    profiled = profiled_server(config, setup, samples, rate).prepare()
    try:
        return profiled.start()
    except RuntimeError as error:
        end_process_group(profiled)
        raise ProfilerUnavailable(str(error)) from None


def stop_profiled(server: BackgroundServer, timeout: float = 10.0) -> None:
    """End the server under py-spy, which then writes its samples and exits.

    The server is killed (SIGKILL) rather than asked: its shutdown is no part of the load, and
    a blog server with sockets still closing can hang in it. The signal goes to the server
    alone, because py-spy ended by a signal writes nothing.
    """
    if server.is_running():
        for child in psutil.Process(server.pid).children():
            child.kill()
        # If py-spy hangs, stop() below ends it
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout)
    end_process_group(server)


def end_process_group(server: BackgroundServer) -> None:
    """Kill what is left of py-spy's process group: a server whose profiler gave up on it."""
    server.stop()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.pid, signal.SIGKILL)


def read_samples(samples: Path, server: BackgroundServer) -> str:
    text = samples.read_text() if samples.exists() else ""
    if not text.strip():
        log = "\n".join(server.log().splitlines()[-15:])
        raise ProfilerUnavailable(f"py-spy recorded no samples of the server. Its log:\n{log}")
    return text


async def record_profile(
    config: str = "blog",
    listeners: int = 100,
    messages: int = 300,
    rate: int = 100,
    samples_file: Path | None = None,
) -> dict:
    """Profile one configuration under one fan-out load; the cost centres and the load's figures."""
    with tempfile.TemporaryDirectory(prefix="profile-") as tmp, RedisServer(Path(tmp)) as redis:
        setup = Setup(redis_url=redis.url, database=Path(tmp) / "chat.sqlite3")
        samples = samples_file or Path(tmp) / "samples.txt"
        samples.unlink(missing_ok=True)
        server = start_profiled(config, setup, samples, rate)
        try:
            load = loadgen.Load(
                urls=[f"ws://{HOST}:{server.port}/ws/chat/profile/"],
                listeners=listeners,
                messages=messages,
            )
            outcome = await loadgen.run(load)
        finally:
            stop_profiled(server)
        text = read_samples(samples, server)
    return {
        "config": config,
        "description": CONFIGS[config].description,
        "sampling_hz": rate,
        "load": outcome.summary(),
        "machine": machine(),
        **aggregate(parse_raw(text)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--config", default="blog", choices=PROFILABLE)
    parser.add_argument("--listeners", type=int, default=100)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=int, default=100, help="samples a second (py-spy -r)")
    parser.add_argument("--out", type=Path, default=None, help="the JSON file to write")
    parser.add_argument("--samples", type=Path, default=None, help="keep py-spy's raw file here")
    args = parser.parse_args(argv)
    out = args.out or RESULTS_DIR / f"profile-{args.config}.json"
    try:
        profile = asyncio.run(
            record_profile(args.config, args.listeners, args.messages, args.rate, args.samples)
        )
    except ProfilerUnavailable as error:
        sys.exit(str(error))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(profile, indent=2, ensure_ascii=False) + "\n")
    load = profile["load"]
    print(table(profile))
    print(
        f"\n{profile['samples']} samples at {args.rate} Hz during {load['delivered']:,} "
        f"deliveries ({load['deliveries_per_second']:,.0f}/s under the profiler); {out}"
    )


if __name__ == "__main__":
    main()
