"""Helpers for the asgi-workbook notebooks: the plumbing, never the lesson.

They find free ports, make Redis available, and start and stop servers in the background
so that notebook cells can show the real ``websockets.connect`` and ``group_send``.
"""

from .links import browser_link, browser_url
from .paths import CHATPROJECT_DIR, REPO_DIR, WORKSPACE_DIR
from .ports import free_port, wait_for_port
from .project import setup_django
from .redis_server import RedisServer, RedisUnavailable, ensure_redis
from .servers import (
    BackgroundServer,
    ServerSpec,
    project_server,
    start_daphne,
    start_runserver,
    start_uvicorn,
)

__all__ = [
    "CHATPROJECT_DIR",
    "REPO_DIR",
    "WORKSPACE_DIR",
    "BackgroundServer",
    "RedisServer",
    "RedisUnavailable",
    "ServerSpec",
    "browser_link",
    "browser_url",
    "ensure_redis",
    "free_port",
    "project_server",
    "setup_django",
    "start_daphne",
    "start_runserver",
    "start_uvicorn",
    "wait_for_port",
]
