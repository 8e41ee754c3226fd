"""The workbook's command line, for the Makefile and for people.

python -m workbook redis ensure   print the URL of a usable Redis, starting one if need be
python -m workbook redis status   print it, starting nothing
python -m workbook redis stop     stop the project's own Redis server
python -m workbook check-env      is this machine ready for the workshop? (make check-env)
python -m workbook lab [ARGS]     JupyterLab on notebooks/ with the settings in jupyter/ (make lab;
                                  ARGS go to jupyter lab)
python -m workbook lab-ja [ARGS]  the same in Japanese, opening notebooks/ja/00 (make lab-ja)
python -m workbook chat PORT      the finished chat on 127.0.0.1:PORT in the foreground, with
                                  Redis if there is one (make chat)
python -m workbook link PORT PATH the browser's URL of PATH on a chat at PORT (via Jupyter's
                                  proxy in Docker, on Binder or JupyterHub)
python -m workbook proxy-env PORT the variables that serve a chat at PORT behind that proxy,
                                  as NAME=VALUE lines (none when the browser reaches 127.0.0.1)
python -m workbook cluster up     the chat beyond one machine, here: nginx, three workers,
                                  PostgreSQL, Redis with Sentinel (make cluster)
python -m workbook cluster down   stop it, leaving nothing running (make cluster-stop)
python -m workbook cluster status its services and URL, if it runs
python -m workbook compile-messages [PO...]
                                  compile the translations (.po) of the workbook and the chat
                                  to the .mo files gettext reads (make setup)
"""

import sys
from pathlib import Path

from .i18n import _
from .links import browser_url, proxy_environment
from .redis_server import RedisUnavailable, ensure_redis, stop_project_server
from .servers import project_server


def log(text: str) -> None:
    # Only results go to stdout, so that REDIS_URL=$(python -m workbook redis ensure) works
    print(text, file=sys.stderr)


def redis_command(action: str) -> int:
    try:
        if action == "ensure":
            print(ensure_redis(keep_running=True, log=log))
        elif action == "status":
            print(ensure_redis(start=False, log=log))
        elif action == "stop":
            stopped = stop_project_server()
            said = _("stopped the project's own server") if stopped else _("not running")
            log(f"Redis: {said}")
        else:
            log(__doc__)
            return 2
    except RedisUnavailable as error:
        log(str(error))
        return 1
    return 0


def chat_command(port: int) -> int:
    """Make Redis available, create the chat's tables, print its link, then become daphne
    serving it: daphne takes this process's place (exec), in the foreground, and Ctrl-C
    stops it."""
    try:
        redis_url = ensure_redis(keep_running=True, log=log)
    except RedisUnavailable as error:
        log(str(error))
        redis_url = None
        print("==> " + _("No Redis: the chat runs with the in-memory layer (one process only)"))
    # The chat's own database (chatproject/db.sqlite3), not the notebooks'
    server = project_server("daphne", port=port, redis_url=redis_url, database=None)
    try:
        server.create_tables()
    except RuntimeError as error:
        # manage.py migrate failed; its own output says why
        log(str(error))
        return 1
    url = browser_url(server, "/chat/")
    print("==> " + _("The chat is at {url} (Ctrl-C stops it)", url=url))
    server.exec()


def cluster_command(action: str, folder: str | None = None) -> int:
    # Imported here: it needs nginx and PostgreSQL's modules, which nothing else here does
    from . import cluster

    where = Path(folder) if folder else cluster.CLUSTER_DIR
    if action == "up":
        return cluster.up(where, log=log)
    if action == "down":
        return cluster.down(where, log=log)
    if action == "status":
        state = cluster.running_state(where)
        if state is None or "url" not in state:
            log(_("No cluster is running."))
            return 1
        for name, address in state["services"].items():
            print(f"{name:<14} {address}")
        print(state["url"])
        return 0
    if action == "supervise":
        return cluster.supervise(where)
    log(__doc__)
    return 2


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "redis":
        return redis_command(argv[1])
    if argv == ["check-env"]:
        # Imported here: `redis ensure` starts Binder and make lab, and needs none of it
        from .checkenv import main as check_env

        return check_env()
    if argv[:1] in (["lab"], ["lab-ja"]):
        from .lab import exec_lab

        exec_lab(argv[1:], language="ja" if argv[0] == "lab-ja" else "en")
    if len(argv) == 2 and argv[0] == "chat" and argv[1].isdigit():
        return chat_command(int(argv[1]))
    if len(argv) == 3 and argv[0] == "link" and argv[1].isdigit():
        print(browser_url(int(argv[1]), argv[2]))
        return 0
    if len(argv) == 2 and argv[0] == "proxy-env" and argv[1].isdigit():
        for name, value in proxy_environment(int(argv[1])).items():
            print(f"{name}={value}")
        return 0
    if argv[:1] == ["cluster"] and len(argv) in (2, 3):
        return cluster_command(*argv[1:])
    if argv[:1] == ["compile-messages"]:
        from .i18n import compile_catalogs

        for compiled in compile_catalogs([Path(path) for path in argv[1:]]):
            log(f"==> Compiled {compiled}")
        return 0
    log(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
