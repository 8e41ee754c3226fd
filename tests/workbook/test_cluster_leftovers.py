"""What notebook 08 relies on before it starts a cluster: missing programs named with what
to run (no traceback in a notebook), and a PostgreSQL left running in the cluster's folder
stopped, so that a second Run All starts afresh."""

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers import assert_japanese, require
from workbook import cluster
from workbook.cluster import LocalCluster, ProgramsMissing, missing_programs, require_programs
from workbook.postgres import PostgresServer, missing_server_user, postgres_bin


def test_a_missing_nginx_is_named_with_what_to_run(monkeypatch):
    """The message names what is missing and the make target, and is all a notebook shows."""
    monkeypatch.setattr(cluster, "nginx_binary", lambda: None)
    assert "nginx is not installed" in missing_programs()
    with pytest.raises(ProgramsMissing) as missing:
        require_programs()
    shown = missing.value._render_traceback_()
    assert shown[0] == "✗ nginx is not installed"
    assert any("make nginx postgres" in line for line in shown)


def test_missing_programs_are_named_in_japanese(monkeypatch, japanese):
    monkeypatch.setattr(cluster, "nginx_binary", lambda: None)
    monkeypatch.setattr(cluster, "postgres_bin", lambda: None)
    monkeypatch.setattr(cluster, "server_binary", lambda: None)
    with pytest.raises(ProgramsMissing) as missing:
        require_programs()
    assert_japanese(str(missing.value))


def test_nothing_to_stop_in_a_folder_without_a_cluster(tmp_path):
    """A first run: the folder is empty or not there at all."""
    LocalCluster.stop_leftover(tmp_path / "none")
    LocalCluster.stop_leftover(tmp_path)


def test_a_leftover_postgresql_is_stopped():
    """A PostgreSQL that a killed kernel left running in the cluster's folder is stopped."""
    require(postgres_bin() is not None, "no PostgreSQL server programs (make postgres)")
    require(missing_server_user() is None, str(missing_server_user()))
    # Under /tmp and open to others: PostgreSQL's user must reach it when the tests run as root
    folder = Path(tempfile.mkdtemp(prefix="cluster-leftover-"))
    folder.chmod(0o711)
    left = PostgresServer(folder / "postgres").start()
    try:
        assert left.is_running()
        LocalCluster.stop_leftover(folder)
        assert not left.is_running()
    finally:
        left.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
