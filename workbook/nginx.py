"""nginx in front of the chat's workers, on this machine: the deployment's own configuration
(deploy/nginx/chat.conf.template) filled in for loopback addresses, and nginx run in the
foreground as a child, with everything it writes in a folder of its own (no root needed).

    with NginxServer(["127.0.0.2:8001", "127.0.0.3:8002"], folder, static_root) as nginx:
        ...  # the chat at nginx.url; nginx.access_log() says which worker served whom
"""

import grp
import os
import pwd
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .paths import CHATPROJECT_DIR, REPO_DIR
from .ports import HOST, free_port
from .servers import CHAT_SETTINGS, BackgroundServer

TEMPLATE = REPO_DIR / "deploy" / "nginx" / "chat.conf.template"
# ${NAME}, as the official nginx image's envsubst fills it; nginx's own $name has no braces
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
# The chat's own limit on a request body: CHAT_MAX_REQUEST_BODY's default in settings.py
MAX_REQUEST_BODY = 1024 * 1024
# Connections nginx holds at once, a client's and a worker's for each socket: 2,048 sockets,
# twice the load benchmark's thousand clients; and the files it opens besides (logs, its
# listening socket, temporary files)
MAX_CONNECTIONS = 4096
SPARE_FILES = 64
# One field of an access-log line: name=value or name="value" (log_format chat)
LOG_FIELD = re.compile(r'(\w+)=("[^"]*"|\S*)')

NO_NGINX = "no nginx: install it with `make nginx` (Debian's package), or set NGINX to its path"

# The configuration nginx starts with: the chat's part (chat.conf, from the template) in an
# http block whose files all stay in the folder
MAIN_CONFIG = """\
# Written by workbook/nginx.py for a run on this machine: nginx writes only in this folder
{user}worker_processes 1;
worker_rlimit_nofile {files};
pid {folder}/nginx.pid;
error_log {folder}/error.log notice;

events {{
    worker_connections {connections};
}}

http {{
    {types}
    default_type application/octet-stream;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{source}    include {folder}/chat.conf;
}}
"""


def render_template(values: Mapping[str, object], template: Path = TEMPLATE) -> str:
    """The template with each ${NAME} replaced by values[NAME]; a name without a value is
    an error (KeyError), not an empty string left for nginx to stumble on."""
    text = template.read_text()
    missing = sorted(set(PLACEHOLDER.findall(text)) - values.keys())
    if missing:
        raise KeyError(f"{template} needs a value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: str(values[match[1]]), text)


def chat_config(
    workers: Sequence[str],
    listen: str,
    access_log: Path,
    static_root: Path,
    max_request_body: int = MAX_REQUEST_BODY,
) -> str:
    """The chat's nginx configuration for these workers ("127.0.0.2:8001", …)."""
    values = {
        "NGINX_LISTEN": listen,
        "NGINX_ACCESS_LOG": access_log,
        "CHAT_UPSTREAM_SERVERS": " ".join(f"server {worker};" for worker in workers),
        "CHAT_MAX_REQUEST_BODY": max_request_body,
        "DJANGO_STATIC_ROOT": Path(static_root).resolve(),
    }
    return render_template(values)


def nginx_binary() -> str | None:
    """nginx: $NGINX, else on PATH, else Debian's /usr/sbin/nginx (not on a user's PATH)."""
    for candidate in (os.environ.get("NGINX"), shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def mime_types(binary: str) -> str:
    """The directive that names static files' types: nginx's own mime.types, found next to
    the configuration its build names, else the few types the chat's own files have."""
    built = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10).stderr
    match = re.search(r"--conf-path=(\S+)", built)
    if match and (types := Path(match[1]).with_name("mime.types")).is_file():
        return f"include {types};"
    return "types { text/css css; text/javascript js; image/svg+xml svg; image/png png; }"


def collect_static(static_root: Path) -> Path:
    """Gather the chat's static files (its CSS and JavaScript, the admin's) into static_root,
    as a deployment does: ``manage.py collectstatic`` with DJANGO_STATIC_ROOT set."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": CHAT_SETTINGS,
        "DJANGO_STATIC_ROOT": str(static_root),
    }
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
    subprocess.run(command, cwd=CHATPROJECT_DIR, env=env, check=True, capture_output=True)
    return static_root


class NginxServer:
    """nginx in front of the chat's workers ("127.0.0.2:8001", …), listening on host and
    port (127.0.0.1 and a free port by default), serving static files from static_root.

    source: the address nginx reaches the workers from (proxy_bind), the one they must
    trust (CHAT_TRUSTED_PROXIES); by default the system picks it (127.0.0.1 on loopback).
    Its configuration, pid file, temporary files and logs are all in folder.
    """

    def __init__(
        self,
        workers: Sequence[str],
        folder: Path,
        static_root: Path,
        port: int | None = None,
        host: str = HOST,
        source: str | None = None,
        max_request_body: int = MAX_REQUEST_BODY,
    ) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError(NO_NGINX)
        self.workers = list(workers)
        self.folder = Path(folder).resolve()
        self.static_root = Path(static_root)
        self.source = source
        self.max_request_body = max_request_body
        self.config_path = self.folder / "nginx.conf"
        self.access_log_path = self.folder / "access.log"
        self.error_log_path = self.folder / "error.log"
        self.binary = binary
        # In the foreground (daemon off), so that it is this process's child to stop
        command = [binary, "-p", str(self.folder), "-c", str(self.config_path)]
        command += ["-e", str(self.error_log_path), "-g", "daemon off;"]
        self.server = BackgroundServer(command, port or free_port(), name="nginx", host=host)

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def command_line(self) -> str:
        return shlex.join(self.server.command)

    def write_config(self) -> None:
        """Write nginx.conf and the chat's part, chat.conf, into the folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        listen = f"{self.host}:{self.port}"
        chat = chat_config(
            self.workers, listen, self.access_log_path, self.static_root, self.max_request_body
        )
        (self.folder / "chat.conf").write_text(chat)
        source = f"    proxy_bind {self.source};\n" if self.source else ""
        types = mime_types(self.binary)
        files = open_files_limit()
        main = MAIN_CONFIG.format(
            folder=self.folder,
            user=user_line(),
            files=files,
            connections=files - SPARE_FILES,
            types=types,
            source=source,
        )
        self.config_path.write_text(main)

    def start(self, timeout: float = 10.0) -> "NginxServer":
        """Start nginx; return once it accepts connections."""
        self.write_config()
        try:
            self.server.start(timeout)
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n{self.error_log()}") from None
        return self

    def stop(self) -> None:
        """Stop nginx and its worker processes (idempotent)."""
        self.server.stop()

    def error_log(self) -> str:
        """What nginx logged about itself: start-up, configuration, upstream errors."""
        if not self.error_log_path.exists():
            return ""
        return self.error_log_path.read_text(errors="replace")

    def access_log(self) -> list[dict[str, str]]:
        """Every access-log entry so far, as {"client": …, "upstream": …, "status": …,
        "request": "GET /chat/ HTTP/1.1", …}; upstream is "-" when nginx answered alone."""
        if not self.access_log_path.exists():
            return []
        lines = self.access_log_path.read_text(errors="replace").splitlines()
        return [access_entry(line) for line in lines]

    def wait_for_access(self, timeout: float = 10.0, **fields: str) -> dict[str, str]:
        """The first access-log entry with those values (client="127.0.0.7"), waiting up
        to timeout seconds: nginx writes a WebSocket's entry when the socket closes."""
        deadline = time.monotonic() + timeout
        while True:
            for entry in self.access_log():
                if all(entry.get(name) == value for name, value in fields.items()):
                    return entry
            if time.monotonic() > deadline:
                raise TimeoutError(f"nginx logged no access with {fields} within {timeout:g} s")
            time.sleep(0.05)

    def __enter__(self) -> "NginxServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<nginx on {self.host}:{self.port} for {', '.join(self.workers)}>"


def access_entry(line: str) -> dict[str, str]:
    """One access-log line as {"client": …, "upstream": …, …}, quotes removed."""
    return {name: value.strip('"') for name, value in LOG_FIELD.findall(line)}


def served_by(entry: dict[str, str]) -> str:
    """The worker that answered, of those nginx tried ("127.0.0.3:8001, 127.0.0.2:8001":
    the first refused, the last answered); "-" when nginx answered alone."""
    return entry["upstream"].split(", ")[-1]


def open_files_limit() -> int:
    """The files nginx's worker may open: enough for MAX_CONNECTIONS, or the hard limit if
    lower (a user may raise the soft limit, often 1024, up to it without root)."""
    wanted = MAX_CONNECTIONS + SPARE_FILES
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)


def user_line() -> str:
    """Started by root, nginx's workers would become nobody, who may not read the folder:
    they keep the starting user instead (a user's nginx ignores the directive)."""
    if os.geteuid() != 0:
        return ""
    user, group = pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name
    return f"user {user} {group};\n"
