"""The chat's topology beyond one machine, by role: what deploy/compose.yaml runs on real
hosts, and what the local cluster must run too, so that a test can compare the two."""

from pathlib import Path

import yaml

from workbook import REPO_DIR

COMPOSE_FILE = REPO_DIR / "deploy" / "compose.yaml"
# The label each service of the Compose file carries: its role
ROLE_LABEL = "org.asgi-workbook.role"

# The long-running services, by role. The migrate service runs once before the workers
# start, as the local cluster runs manage.py migrate once; it is no part of this.
TOPOLOGY = {
    "proxy": ["nginx"],
    "chat": ["chat-1", "chat-2", "chat-3"],
    "postgres": ["postgres"],
    "redis": ["redis-primary", "redis-replica"],
    "sentinel": ["sentinel-1", "sentinel-2", "sentinel-3"],
}
ONE_SHOT = {"migrate": ["migrate"]}


def compose_services(path: Path = COMPOSE_FILE) -> dict[str, dict]:
    """The services of a Compose file, YAML anchors and merges resolved."""
    return yaml.safe_load(path.read_text())["services"]


def services_by_role(path: Path = COMPOSE_FILE) -> dict[str, list[str]]:
    """The Compose file's services grouped by their role label, in the file's order."""
    roles: dict[str, list[str]] = {}
    for name, service in compose_services(path).items():
        roles.setdefault((service.get("labels") or {}).get(ROLE_LABEL), []).append(name)
    return roles
