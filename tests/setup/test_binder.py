"""The Binder launch: binder/ installs the same pins, gets redis-server, and starts Redis.

repo2docker reads only binder/ when the folder exists. Its files are parsed here, and
binder/start is run for real: it must start a Redis, hand its URL on, and exec the command.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.helpers import require
from workbook import REPO_DIR, free_port
from workbook.lab import LANGUAGE_ROUTE, LOCALES, save_interface_language
from workbook.redis_server import DEFAULT_LOCAL_URL, is_usable, server_binary, server_version

BINDER_DIR = REPO_DIR / "binder"
START = BINDER_DIR / "start"


def requirement_lines(path: Path) -> list[str]:
    """The requirements a file asks for, with -r includes followed as pip does (relative to
    the including file); comments and blank lines left out."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r "):
            lines += requirement_lines(path.parent / line[3:].strip())
        else:
            lines.append(line)
    return lines


def git_mode(path: Path) -> str:
    """The file mode git records for a path (100755 for an executable)."""
    result = subprocess.run(
        ["git", "ls-files", "--stage", str(path.relative_to(REPO_DIR))],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split(" ", 1)[0]


def test_requirements_are_the_roots_pins():
    """binder/requirements.txt resolves to exactly the root's requirements.txt."""
    assert requirement_lines(BINDER_DIR / "requirements.txt") == requirement_lines(
        REPO_DIR / "requirements.txt"
    )


def test_requirements_only_include_the_root():
    """Nothing is pinned in binder/ itself, so the two can never drift apart."""
    own = [
        line
        for line in (BINDER_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert own == ["-r ../requirements.txt"]


def test_python_is_3_11():
    """runtime.txt asks repo2docker for the Python the project targets."""
    assert (BINDER_DIR / "runtime.txt").read_text().strip() == "python-3.11"


def apt_packages() -> list[str]:
    """The packages apt.txt asks for, read as repo2docker reads it: a package a line, with
    comments after #."""
    lines = (
        line.partition("#")[0].strip() for line in (BINDER_DIR / "apt.txt").read_text().splitlines()
    )
    return [line for line in lines if line]


def test_apt_lists_only_package_names():
    """Every line is one package name (repo2docker refuses anything else)."""
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", package) for package in apt_packages())


def test_apt_installs_redis_server():
    """apt.txt lists Ubuntu's redis-server package."""
    assert "redis-server" in apt_packages()


def test_apt_installs_what_the_cluster_needs_as_the_docker_image_does():
    """nginx and PostgreSQL, for notebook 08's cluster, on Binder as in Docker."""
    dockerfile = (REPO_DIR / "Dockerfile").read_text()
    for package in ("nginx", "postgresql"):
        assert package in apt_packages()
        assert re.search(rf"apt-get install .*\b{package}\b", dockerfile)


def test_apt_installs_the_japanese_font_the_docker_image_has():
    """fonts-noto-cjk, as in the Dockerfile: the Japanese edition's plots can label themselves
    in Japanese on Binder too."""
    assert "fonts-noto-cjk" in apt_packages()
    assert "fonts-noto-cjk" in (REPO_DIR / "Dockerfile").read_text()


def test_post_build_installs_the_repository():
    """postBuild installs the workbook and benchmarks packages in place, failing loudly."""
    script = (BINDER_DIR / "postBuild").read_text()
    assert script.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in script
    assert "pip install --no-cache-dir --no-deps -e ." in script
    # gettext reads .mo files, which git does not keep: Japanese messages need them built
    assert script.rstrip().endswith("python -m workbook compile-messages")


@pytest.mark.parametrize("name", ["start", "postBuild"])
def test_scripts_are_executable_in_git(name):
    """The scripts are committed executable, so a checkout runs them as they are."""
    path = BINDER_DIR / name
    assert os.access(path, os.X_OK)
    assert git_mode(path) == "100755"


def test_start_exports_redis_url_and_execs_the_command():
    """start exports REDIS_URL and ends with exec "$@", as repo2docker requires."""
    script = START.read_text()
    assert script.startswith("#!/bin/bash\n")
    assert "export REDIS_URL=" in script
    assert script.rstrip().splitlines()[-1] == 'exec "$@"'


def start_environment(tmp_path: Path, **env: str) -> dict[str, str]:
    """The environment repo2docker gives start, more or less: no REDIS_URL unless given, this
    interpreter first on the PATH, and the project's Redis files in tmp_path."""
    environment = {name: value for name, value in os.environ.items() if name != "REDIS_URL"}
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    return {**environment, "PATH": path, "WORKBOOK_REDIS_DIR": str(tmp_path), **env}


def run_start(command: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Run binder/start with a command, as repo2docker's entrypoint does."""
    return subprocess.run(
        [str(START), *command],
        env=start_environment(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


PRINT_REDIS_URL_AND_PID = "import os; print(os.environ['REDIS_URL']); print(os.getpid())"


def test_start_runs_redis_and_hands_its_url_on(tmp_path):
    """start starts a Redis that answers at REDIS_URL, then becomes the command (exec)."""
    require(server_binary() is not None, "no redis-server binary")
    url_file = tmp_path / "redis.url"
    already_running = is_usable(DEFAULT_LOCAL_URL)
    try:
        with subprocess.Popen(
            [str(START), sys.executable, "-c", PRINT_REDIS_URL_AND_PID],
            env=start_environment(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        url, pid = stdout.split()
        # exec: the command runs in start's own process, not in a child of it
        assert int(pid) == process.pid
        client = redis.Redis.from_url(url)
        try:
            assert client.ping()
        finally:
            client.close()
        if already_running:
            # ensure_redis's order: a Redis on the default port comes before starting one
            assert url == DEFAULT_LOCAL_URL
        else:
            # The project's own server, which `python -m workbook redis stop` knows about
            assert url_file.read_text().strip() == url
    finally:
        stop = subprocess.run(
            [sys.executable, "-m", "workbook", "redis", "stop"],
            cwd=REPO_DIR,
            env=start_environment(tmp_path),
            capture_output=True,
            text=True,
        )
    if not already_running:
        assert "stopped the project's own server" in stop.stderr
        assert server_version(url) is None


def test_start_passes_on_the_commands_exit_code(tmp_path):
    """Whatever the command returns, start returns: it is the command."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = run_start(["sh", "-c", "exit 7"], tmp_path, REDIS_URL=url)
    assert result.returncode == 7


def test_without_redis_jupyterlab_still_starts(tmp_path):
    """A REDIS_URL where nothing answers is reported, and the command runs all the same."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = run_start(["sh", "-c", 'echo "ran with $REDIS_URL"'], tmp_path, REDIS_URL=url)
    assert result.returncode == 0
    assert result.stdout == f"ran with {url}\n"
    assert "no Redis answers" in result.stderr
    assert "binder/start: no Redis for the notebooks" in result.stderr


LAUNCH_DOC = REPO_DIR / "docs" / "docker-and-binder.md"
LAUNCH_LINK = re.compile(r"https://mybinder\.org/v2/gh/(\S+?)\?urlpath=lab/tree/(\S+)")


def test_the_launch_link_opens_notebook_00():
    """The documented Binder link opens JupyterLab on notebook 00, a file this repository has."""
    links = LAUNCH_LINK.findall(LAUNCH_DOC.read_text())
    assert links, f"no Binder launch link in {LAUNCH_DOC.name}"
    for _, path in links:
        assert (REPO_DIR / path).is_file(), path
        assert Path(path).name.startswith("00_"), path


def test_the_launch_link_is_built_from_ones_own_fork():
    """The link names placeholders for the reader's fork and its default branch, not a
    repository that may not exist."""
    repositories = [repository for repository, _ in LAUNCH_LINK.findall(LAUNCH_DOC.read_text())]
    assert repositories == ["<you>/<repo>/HEAD"]


def test_the_readme_has_no_dead_badge():
    """No Binder badge or link without a real repository in the README: it points at the
    launch instructions instead."""
    readme = (REPO_DIR / "README.md").read_text()
    assert "mybinder.org" not in readme
    assert "OWNER" not in readme
    assert "(docs/docker-and-binder.md#launch-your-fork-on-binder)" in readme


JAPANESE_README = REPO_DIR / "README.ja.md"
JAPANESE_LINK = re.compile(
    r"https://mybinder\.org/v2/gh/(\S+?)\?urlpath=(\S+?)/(\w+)/lab/tree/(\S+\.ipynb)"
)


def test_the_japanese_readme_launches_the_japanese_edition_in_japanese():
    """README.ja.md's Binder link opens notebooks/ja/00 through the path that makes the
    interface Japanese (Binder passes a launch nothing else), from one's own fork."""
    links = JAPANESE_LINK.findall(JAPANESE_README.read_text())
    assert len(links) == 1, links
    repository, route, language, path = links[0]
    assert repository == "<you>/<repo>/HEAD"
    assert (route, language) == (LANGUAGE_ROUTE, "ja")
    assert path == "notebooks/ja/00_welcome.ipynb"
    assert (REPO_DIR / path).is_file()


def test_the_interface_language_is_kept_with_the_users_other_settings(tmp_path):
    """The language is saved where Settings > Language saves it, beside what was there."""
    path = save_interface_language("ja", tmp_path)
    assert path == tmp_path / "@jupyterlab/translation-extension/plugin.jupyterlab-settings"
    path.write_text('{"locale": "ja_JP", "displayStringsPrefix": false}')
    save_interface_language("en", tmp_path)
    assert json.loads(path.read_text()) == {"locale": LOCALES["en"], "displayStringsPrefix": False}
