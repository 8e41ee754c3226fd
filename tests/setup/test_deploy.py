"""deploy/: the chat on real hosts, one Compose file. No Docker engine is needed: the files are
read as YAML and text, and the chat's settings are run with the environment the file gives
its workers. When the docker client has the compose plugin, it validates the file too."""

import ipaddress
import json
import re
import secrets
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

from tests.topology import COMPOSE_FILE, ONE_SHOT, TOPOLOGY, compose_services, services_by_role
from workbook import CHATPROJECT_DIR, REPO_DIR
from workbook.cluster import roles
from workbook.nginx import PLACEHOLDER, TEMPLATE

DEPLOY_DIR = REPO_DIR / "deploy"
DOCKERFILE = DEPLOY_DIR / "Dockerfile"
SENTINEL_CONF = DEPLOY_DIR / "redis" / "sentinel.conf"
LOOPBACK = "127.0.0.1"
WORKER_PORT = 8000
# What the chat needs in a deployment, from deploy/chat.env or the file's environment:
# settings.py refuses to start without a secret key with debug off; the rest make it a
# deployment of several workers (a shared database and Redis, nginx's static files, the
# client's address from nginx)
DEPLOYMENT_VARIABLES = (
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "PGPASSWORD",
    "REDIS_URL",
    "CHAT_TRUSTED_PROXIES",
    "DJANGO_STATIC_ROOT",
)
# Read by libpq (the database driver), not by settings.py
DRIVER_VARIABLES = ("PGPASSWORD",)
# Values that must be this deployment's own, empty in the committed examples
SECRETS = ("DJANGO_SECRET_KEY", "PGPASSWORD", "POSTGRES_PASSWORD")


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return compose_services()


def read_env_file(path) -> dict[str, str]:
    """VARIABLE=value lines, as Compose reads an env_file (comments and blanks left out)."""
    lines = (line.strip() for line in path.read_text().splitlines())
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {name.strip(): value for name, value in pairs}


def example_of(service: dict) -> dict[str, str]:
    """The committed example of a service's env_file (chat.env: chat.env.example)."""
    return read_env_file(DEPLOY_DIR / f"{service['env_file']}.example")


def environment_of(service: dict) -> dict[str, str]:
    """What a service's container sees: its env_file's example, then its environment (which
    wins, as in Compose)."""
    return {**example_of(service), **{k: str(v) for k, v in service["environment"].items()}}


def test_the_services_by_role_are_the_topology():
    """nginx, three chat workers, PostgreSQL, a Redis primary and replica, three Sentinels,
    and the one-shot migrate: the same services the local cluster runs."""
    assert services_by_role() == TOPOLOGY | ONE_SHOT


def test_the_local_cluster_runs_the_same_services():
    """make cluster (workbook/cluster.py) runs the file's long-running services, by the same
    names and roles (tests/e2e/test_cluster.py compares the running cluster with the file:
    its services, its workers' variables, its nginx template)."""
    assert roles() == TOPOLOGY
    assert {role: names for role, names in services_by_role().items() if role in roles()} == roles()


def test_only_nginx_is_published_and_on_loopback_only(services):
    """Every published port is bound to 127.0.0.1; nginx's is the only one."""
    published = {name: service.get("ports") for name, service in services.items()}
    published = {name: ports for name, ports in published.items() if ports}
    assert published == {"nginx": [f"{LOOPBACK}:8080:80"]}
    for ports in published.values():
        assert all(str(port).startswith(f"{LOOPBACK}:") for port in ports)


def test_every_dependency_waits_for_health_or_completion(services):
    """A service waits for each dependency to be healthy (it has a healthcheck) or, for the
    one-shot migrate, to have finished without error; never merely started."""
    for name, service in services.items():
        for dependency, how in (service.get("depends_on") or {}).items():
            condition = how["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits on {dependency}"
            else:
                assert (dependency, condition) == ("migrate", "service_completed_successfully")
                assert "restart" not in services[dependency], "a one-shot is not restarted"


def test_every_long_running_service_has_a_healthcheck(services):
    """Whatever others wait on is checked, and so are the workers nginx waits on."""
    long_running = [name for names in TOPOLOGY.values() for name in names if name != "nginx"]
    assert all(services[name].get("healthcheck") for name in long_running)


def test_the_workers_wait_for_the_database_the_sentinels_and_migrate(services):
    wanted = {"postgres": "service_healthy", "migrate": "service_completed_successfully"}
    wanted |= {name: "service_healthy" for name in TOPOLOGY["sentinel"]}
    for name in TOPOLOGY["chat"]:
        conditions = {dep: how["condition"] for dep, how in services[name]["depends_on"].items()}
        assert conditions == wanted


def test_the_healthchecks_ask_each_server(services):
    """pg_isready over TCP, redis-cli ping, and redis-cli ping on the Sentinel port."""

    def check(name: str) -> list[str]:
        return services[name]["healthcheck"]["test"]

    assert check("postgres")[:2] == ["CMD", "pg_isready"] and "127.0.0.1" in check("postgres")
    for name in TOPOLOGY["redis"]:
        assert check(name) == ["CMD", "redis-cli", "ping"]
    for name in TOPOLOGY["sentinel"]:
        assert check(name) == ["CMD", "redis-cli", "-p", "26379", "ping"]
    for name in TOPOLOGY["chat"]:
        assert f"('127.0.0.1', {WORKER_PORT})" in " ".join(check(name))


def test_nginx_fills_every_placeholder_of_the_template(services):
    """The image fills /etc/nginx/templates/*.template from its environment: every ${NAME}
    of the chat's template has a value, and the file replaces the image's default server."""
    nginx = services["nginx"]
    names = set(PLACEHOLDER.findall(TEMPLATE.read_text()))
    assert names and names <= set(nginx["environment"])
    [config] = nginx["configs"]
    assert config["target"] == "/etc/nginx/templates/default.conf.template"
    top_level = yaml.safe_load(COMPOSE_FILE.read_text())["configs"]
    assert (DEPLOY_DIR / top_level[config["source"]]["file"]).resolve() == TEMPLATE


def test_nginx_balances_exactly_the_chat_workers(services):
    upstreams = services["nginx"]["environment"]["CHAT_UPSTREAM_SERVERS"]
    servers = re.findall(r"server ([\w.-]+):(\d+);", upstreams)
    assert servers == [(name, str(WORKER_PORT)) for name in TOPOLOGY["chat"]]
    assert upstreams.count("server ") == len(servers)


def test_the_workers_trust_nginx_and_nobody_else(services):
    """CHAT_TRUSTED_PROXIES is nginx's fixed address on the network it shares with them."""
    nginx_address = services["nginx"]["networks"]["edge"]["ipv4_address"]
    for name in TOPOLOGY["chat"]:
        assert environment_of(services[name])["CHAT_TRUSTED_PROXIES"] == nginx_address
        assert "edge" in services[name]["networks"]
    [subnet] = yaml.safe_load(COMPOSE_FILE.read_text())["networks"]["edge"]["ipam"]["config"]
    assert ipaddress.ip_address(nginx_address) in ipaddress.ip_network(subnet["subnet"])


def test_nginx_serves_what_collectstatic_gathered(services):
    """migrate fills the static volume at DJANGO_STATIC_ROOT; nginx reads it there."""
    root = services["nginx"]["environment"]["DJANGO_STATIC_ROOT"]
    assert f"static:{root}:ro" in services["nginx"]["volumes"]
    assert f"static:{root}" in services["migrate"]["volumes"]
    assert environment_of(services["migrate"])["DJANGO_STATIC_ROOT"] == root
    assert "collectstatic --noinput" in " ".join(services["migrate"]["command"])
    assert "migrate --noinput" in " ".join(services["migrate"]["command"])


def test_the_chat_gets_every_variable_a_deployment_needs(services):
    for name in [*TOPOLOGY["chat"], "migrate"]:
        environment = environment_of(services[name])
        missing = [variable for variable in DEPLOYMENT_VARIABLES if variable not in environment]
        assert not missing, f"{name} lacks {missing}"
        assert environment["DJANGO_DEBUG"] == "0"
        # Set by the file itself, so that chat.env cannot turn debug back on
        assert services[name]["environment"]["DJANGO_DEBUG"] == "0"


def test_the_examples_name_only_variables_that_are_read(services):
    """A misspelt variable in an example would be ignored without a word."""
    settings = (CHATPROJECT_DIR / "chatproject" / "settings.py").read_text()
    for variable in example_of(services["chat-1"]):
        assert variable in DRIVER_VARIABLES or f'"{variable}"' in settings, variable


def test_the_database_url_names_the_postgres_service_and_no_password(services):
    url = urlsplit(environment_of(services["chat-1"])["DATABASE_URL"])
    postgres = services["postgres"]["environment"]
    assert (url.scheme, url.hostname, url.port) == ("postgres", "postgres", 5432)
    assert (url.username, url.path) == (postgres["POSTGRES_USER"], f"/{postgres['POSTGRES_DB']}")
    assert url.password is None, "the password comes from PGPASSWORD in chat.env"
    assert "POSTGRES_PASSWORD" in example_of(services["postgres"])


def sentinel_url(url: str) -> tuple[list[tuple[str, int]], str, int]:
    """redis+sentinel://host:port,…/master_name/db: the Sentinels, the master, the db."""
    parts = urlsplit(url)
    assert parts.scheme == "redis+sentinel"
    hosts = [entry.rsplit(":", 1) for entry in parts.netloc.split(",")]
    master, db = parts.path.strip("/").split("/")
    return [(host, int(port)) for host, port in hosts], master, int(db)


def sentinel_settings() -> dict[str, list[str]]:
    """sentinel.conf's directives: the first word, and the rest of each line."""
    lines = (line.split() for line in SENTINEL_CONF.read_text().splitlines())
    settings: dict[str, list[str]] = {}
    for words in lines:
        if words and not words[0].startswith("#"):
            key = " ".join(words[:2]) if words[0] == "sentinel" else words[0]
            settings[key] = words[2:] if words[0] == "sentinel" else words[1:]
    return settings


def test_redis_url_names_the_sentinels_and_their_master(services):
    """REDIS_URL lists the three Sentinel services on sentinel.conf's port, and the master
    name sentinel.conf monitors; the monitored primary is the redis-primary service."""
    sentinels, master, db = sentinel_url(environment_of(services["chat-1"])["REDIS_URL"])
    conf = sentinel_settings()
    port = int(conf["port"][0])
    assert sentinels == [(name, port) for name in TOPOLOGY["sentinel"]]
    name, host, primary_port, quorum = conf["sentinel monitor"]
    assert (name, host, primary_port, db) == (master, "redis-primary", "6379", 0)
    # A majority of the Sentinels must agree the primary is down
    assert len(sentinels) // 2 < int(quorum) <= len(sentinels)


def test_the_replica_follows_the_primary(services):
    command = services["redis-replica"]["command"]
    at = command.index("--replicaof")
    assert command[at + 1 : at + 3] == ["redis-primary", "6379"]
    assert "--replicaof" not in services["redis-primary"]["command"]


def test_each_sentinel_runs_a_writable_copy_of_sentinel_conf(services):
    """Sentinel rewrites its configuration: each copies the mounted file before it starts."""
    for name in TOPOLOGY["sentinel"]:
        sentinel = services[name]
        [config] = sentinel["configs"]
        script = sentinel["command"][-1]
        assert f"cp {config['target']} /data/sentinel.conf" in script
        assert script.rstrip().endswith("redis-server /data/sentinel.conf --sentinel")


def test_the_images_are_pinned(services):
    images = {service["image"] for service in services.values()}
    assert all(
        re.fullmatch(r"[\w./-]+:\d+(\.\d+)*", image) for image in images - {"asgi-workbook-chat"}
    )


def test_no_secret_is_committed(services):
    """The examples leave every secret empty, and the env files themselves are git-ignored."""
    examples = example_of(services["chat-1"]) | example_of(services["postgres"])
    assert {name: examples[name] for name in SECRETS} == dict.fromkeys(SECRETS, "")
    ignored = subprocess.run(
        ["git", "check-ignore", "deploy/chat.env", "deploy/postgres.env"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
    )
    assert ignored.stdout.split() == ["deploy/chat.env", "deploy/postgres.env"]


def check_chat(environment: dict[str, str]) -> subprocess.CompletedProcess:
    """manage.py check with a worker's environment (the settings as a worker loads them)."""
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=CHATPROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_chat_refuses_the_example_until_it_has_a_key(services):
    """The example as committed does not start: its secret key is empty. With a key of its
    own, the same environment passes Django's checks."""
    environment = environment_of(services["chat-1"])
    refused = check_chat(environment)
    assert refused.returncode != 0
    assert "DJANGO_DEBUG=0 needs DJANGO_SECRET_KEY" in refused.stderr
    accepted = check_chat(environment | {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)})
    assert accepted.returncode == 0, accepted.stderr


def dockerfile_cmd() -> list[str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    [cmd] = re.findall(r"^CMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    return json.loads(cmd)


def test_the_workers_run_the_chats_daphne_on_their_port(services):
    """The image's command is the chat's daphne on 0.0.0.0:8000, without --proxy-headers
    (the chat reads X-Forwarded-For itself, from CHAT_TRUSTED_PROXIES only)."""
    assert dockerfile_cmd() == [
        *("python", "-m", "chatproject.bounded_daphne", "-b", "0.0.0.0"),
        *("-p", str(WORKER_PORT), "chatproject.asgi:application"),
    ]
    for name in TOPOLOGY["chat"]:
        assert "command" not in services[name]
        assert (DEPLOY_DIR / services[name]["build"]["context"]).resolve() == REPO_DIR
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_the_image_installs_the_chats_pins_and_copies_only_the_chat():
    """The image installs requirements.txt up to Babel, which holds every package the chat
    imports, and copies nothing of deploy/ (where the env files are)."""
    requirements = (REPO_DIR / "requirements.txt").read_text()
    chat_part = requirements[: requirements.index("\nBabel==")]
    pins = set(re.findall(r"^([\w-]+)(?:\[\w+\])?==", chat_part, re.MULTILINE))
    needed = {"Django", "channels", "channels-redis", "daphne", "redis", "django-axes"}
    needed |= {"confusable-homoglyphs", "dj-database-url", "psycopg", "prometheus-client"}
    assert needed <= pins
    dockerfile = DOCKERFILE.read_text()
    assert "sed -n '1,/^Babel==/p' requirements.txt" in dockerfile
    copied = re.findall(r"^COPY\s+(.+)$", dockerfile, re.MULTILINE)
    assert copied == ["requirements.txt ./", "chatproject/ chatproject/"]


def test_docker_compose_validates_the_file(tmp_path):
    """docker compose config reads the file as Docker will (no engine needed), in a copy of
    deploy/ whose env files are the examples."""
    docker = shutil.which("docker")
    plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True)
    if not plugin or plugin.returncode:
        pytest.skip("no docker compose plugin here: the file is checked by reading only")
    copy = shutil.copytree(DEPLOY_DIR, tmp_path / "deploy")
    for example in copy.glob("*.env.example"):
        shutil.copyfile(example, example.with_suffix(""))
    subprocess.run(
        [docker, "compose", "-f", str(copy / COMPOSE_FILE.name), "config", "--quiet"],
        check=True,
        timeout=60,
    )


def test_the_readme_says_how_to_start_it():
    """deploy/README.md's commands name the files as they are."""
    readme = (DEPLOY_DIR / "README.md").read_text()
    for example in sorted(DEPLOY_DIR.glob("*.env.example")):
        assert f"cp deploy/{example.name} deploy/{example.stem}" in readme
    assert "docker compose -f deploy/compose.yaml up -d --build" in readme
    assert "django/channels_redis/issues/420" in readme


def test_a_worker_is_given_the_time_to_drain():
    """Docker's SIGTERM starts a worker's drain (CHAT_DRAIN_SECONDS, 10 s by default): the
    grace period before SIGKILL is longer, or a stop would cut the drain short."""
    for name in TOPOLOGY["chat"]:
        grace = compose_services()[name]["stop_grace_period"]
        assert grace.endswith("s") and int(grace[:-1]) > settings.CHAT_DRAIN_SECONDS
