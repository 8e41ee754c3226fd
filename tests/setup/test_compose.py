"""The Docker setup: docker-compose.yml and the Dockerfile say what the workbook relies on.

No Docker engine is needed: the files are parsed as text and YAML. When the docker client
has the compose plugin, one more test has it validate the file against the Compose spec.
"""

import re
from urllib.parse import urlsplit

import pytest
import yaml

from workbook import REPO_DIR
from workbook.lab import FIRST_NOTEBOOK, LANGUAGE_VARIABLE

COMPOSE_FILE = REPO_DIR / "docker-compose.yml"
DOCKERFILE = REPO_DIR / "Dockerfile"
README_JA = REPO_DIR / "README.ja.md"
REQUIREMENTS = REPO_DIR / "requirements.txt"
LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def compose() -> dict:
    """The parsed docker-compose.yml."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    """The Dockerfile's instructions, with continuation lines joined."""
    return DOCKERFILE.read_text().replace("\\\n", " ")


def environment_of(service: dict) -> dict[str, str | None]:
    """A service's environment as a mapping, whether written as a list or a mapping."""
    environment = service.get("environment") or {}
    if isinstance(environment, dict):
        return {name: None if value is None else str(value) for name, value in environment.items()}
    pairs = (item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return dict(pairs)


def host_ip_of(port: object) -> str | None:
    """The host IP a ports entry publishes on, or None if it publishes on every interface."""
    if isinstance(port, dict):
        # Long syntax: only "published" ports are reachable from the host
        return port.get("host_ip")
    spec = str(port).split("/", 1)[0]
    bracketed = re.fullmatch(r"\[([^\]]+)\]:(.+)", spec)
    if bracketed:
        return bracketed.group(1)
    parts = spec.split(":")
    # "IP:HOST:CONTAINER" names an IP; "HOST:CONTAINER" and "CONTAINER" do not
    return parts[0] if len(parts) == 3 else None


def published_ports(compose: dict) -> list[tuple[str, object]]:
    """Every (service, ports entry) pair in the file."""
    return [
        (name, port)
        for name, service in compose["services"].items()
        for port in service.get("ports") or []
    ]


def test_services_redis_and_lab_exist(compose):
    """The file defines the redis and lab services."""
    assert {"redis", "lab"} <= set(compose["services"])


def test_no_obsolete_version_key(compose):
    """The file follows the Compose spec, which has no top-level version key."""
    assert "version" not in compose


def test_redis_is_redis_7(compose):
    """The redis service runs the official Redis 7 image."""
    assert str(compose["services"]["redis"]["image"]).startswith("redis:7")


def test_redis_healthcheck_pings(compose):
    """The redis healthcheck runs redis-cli ping, so that service_healthy means it answers."""
    healthcheck = compose["services"]["redis"]["healthcheck"]
    test = healthcheck["test"]
    command = test if isinstance(test, str) else " ".join(test[1:])
    assert "redis-cli ping" in command
    assert {"interval", "timeout", "retries"} <= set(healthcheck)


def test_lab_waits_for_healthy_redis(compose):
    """The lab service starts only once redis is healthy."""
    depends_on = compose["services"]["lab"]["depends_on"]
    assert isinstance(depends_on, dict), "a list form cannot say condition: service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_lab_gets_redis_url(compose):
    """The lab service's REDIS_URL, which workbook/redis_server.py uses first, names Compose's
    redis service."""
    assert environment_of(compose["services"]["lab"]).get("REDIS_URL") == "redis://redis:6379/0"


def test_lab_builds_from_the_dockerfile(compose):
    """The lab service is built from this repo's Dockerfile."""
    build = compose["services"]["lab"]["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    assert (REPO_DIR / context / "Dockerfile").resolve() == DOCKERFILE


def test_every_published_port_is_loopback_only(compose):
    """Every published port in every service is bound to 127.0.0.1, never to all interfaces."""
    ports = published_ports(compose)
    assert ports, "expected published ports (JupyterLab, Redis)"
    exposed = [f"{name}: {port!r}" for name, port in ports if host_ip_of(port) != LOOPBACK]
    assert not exposed, f"ports not bound to {LOOPBACK}: {exposed}"


def test_host_ip_parsing():
    """The port parser finds the host IP in the short and long syntaxes, and its absence."""
    assert host_ip_of("127.0.0.1:6379:6379") == LOOPBACK
    assert host_ip_of("127.0.0.1:8000-8010:8000-8010/tcp") == LOOPBACK
    assert host_ip_of("[::1]:8888:8888") == "::1"
    assert host_ip_of({"target": 8888, "published": "8888", "host_ip": LOOPBACK}) == LOOPBACK
    assert host_ip_of("6379:6379") is None
    assert host_ip_of("6379") is None
    assert host_ip_of(8888) is None
    assert host_ip_of({"target": 8888, "published": "8888"}) is None


def test_dockerfile_installs_requirements_txt(dockerfile):
    """The image installs the same pinned requirements.txt as everyone else."""
    pip_lines = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert any(re.search(r"-r\s+requirements\.txt\b", line) for line in pip_lines), pip_lines
    assert re.search(r"^COPY\s+.*requirements\.txt", dockerfile, re.MULTILINE)


def test_dockerfile_uses_python_3_11(dockerfile):
    """The image's Python is 3.11, the version the project targets."""
    base = re.search(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    assert base, "no FROM line"
    assert re.fullmatch(r"python:3\.11(\.\d+)?(-[\w.-]+)?", base.group(1)), base.group(1)


def test_only_jupyterlab_is_published_from_the_lab(compose):
    """Chat servers listen on the container's 127.0.0.1: no port range is published for them."""
    targets = [str(port).rsplit(":", 1)[-1] for port in compose["services"]["lab"]["ports"]]
    assert targets == ["8888"]


def test_lab_links_the_chat_through_jupyters_proxy(compose):
    """WORKBOOK_JUPYTER_URL is JupyterLab where the host publishes it, so links work there."""
    url = urlsplit(environment_of(compose["services"]["lab"])["WORKBOOK_JUPYTER_URL"])
    published = [str(port) for port in compose["services"]["lab"]["ports"]]
    assert (url.scheme, url.path) == ("http", "/")
    assert f"{url.hostname}:{url.port}:8888" in published


def test_requirements_pin_jupyter_server_proxy_without_the_websocket_hole():
    """jupyter-server-proxy 4.1.1 and later check the Jupyter login on proxied WebSockets."""
    pins = re.findall(r"^jupyter-server-proxy==([\d.]+)$", REQUIREMENTS.read_text(), re.MULTILINE)
    assert len(pins) == 1
    assert tuple(int(part) for part in pins[0].split(".")) >= (4, 1, 1)


DOCKERFILE_INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip


def instructions(dockerfile: str) -> list[str]:
    """The Dockerfile's instructions, one a line, comments and blank lines left out."""
    lines = (line.strip() for line in dockerfile.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_every_dockerfile_line_is_an_instruction(dockerfile):
    """Each line, continuations joined, starts with an instruction: no continuation is broken
    off and no comment sits inside one (no Docker needed to see that the file parses)."""
    unknown = [
        line for line in instructions(dockerfile) if line.split()[0] not in DOCKERFILE_INSTRUCTIONS
    ]
    assert not unknown


def test_the_image_installs_a_japanese_font(dockerfile):
    """Debian's fonts-noto-cjk is installed as root, in a RUN that updates apt's lists first
    and leaves none behind: the Japanese edition's plots can label themselves in Japanese."""
    lines = instructions(dockerfile)
    installs = [
        number
        for number, line in enumerate(lines)
        if re.search(r"apt-get install .*\bfonts-noto-cjk\b", line)
    ]
    assert len(installs) == 1
    run = lines[installs[0]]
    assert 0 <= run.find("apt-get update") < run.find("apt-get install")
    assert "rm -rf /var/lib/apt/lists/*" in run
    user = next(number for number, line in enumerate(lines) if line.startswith("USER "))
    assert installs[0] < user, "apt-get needs root"


def interpolated(value: str, environ: dict[str, str]) -> str:
    """value as Compose interpolates it from the host's environment (${NAME:-default})."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda match: environ.get(match[1]) or match[2], value)


def test_the_lab_is_english_unless_the_host_asks_for_japanese(compose):
    """WORKBOOK_LAB_LANGUAGE reaches the lab from the host's shell, English when unset."""
    value = environment_of(compose["services"]["lab"])[LANGUAGE_VARIABLE]
    assert interpolated(value, {}) == "en"
    assert interpolated(value, {LANGUAGE_VARIABLE: "ja"}) == "ja"
    assert set(FIRST_NOTEBOOK) == {"en", "ja"}


def test_the_japanese_readme_says_how_to_start_the_japanese_lab_in_docker():
    """README.ja.md's Docker line starts the lab in Japanese, with the variable Compose passes."""
    assert f"{LANGUAGE_VARIABLE}=ja docker compose up -d --build" in README_JA.read_text()


def test_the_image_compiles_the_translations(dockerfile):
    """The .mo files gettext reads are built in the image, after the repository is copied
    (git keeps only the .po files)."""
    lines = instructions(dockerfile)
    copied = next(number for number, line in enumerate(lines) if line.startswith("COPY --chown"))
    compiles = [number for number, line in enumerate(lines) if "workbook compile-messages" in line]
    assert compiles and compiles[0] > copied
