"""The chat beyond one machine as a benchmark configuration: workbook.cluster's topology
(nginx, chat workers, PostgreSQL, Redis through Sentinel) with every client connecting
through nginx, and the same with fewer workers to compare it with.
"""

import contextlib
import io
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workbook.cluster import WORKER_HOSTS, LocalCluster
from workbook.servers import BackgroundServer


class BenchCluster(LocalCluster):
    """LocalCluster with its first `workers` workers only, each with env added to a
    deployed worker's environment (the benchmark's: limits on one sender raised)."""

    def __init__(
        self, folder: Path, workers: int = len(WORKER_HOSTS), env: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(folder, log=lambda line: None)
        self.names = list(WORKER_HOSTS)[:workers]
        self.env = dict(env or {})

    def worker_environment(self) -> dict[str, str]:
        return {**super().worker_environment(), **self.env}

    def start_worker(self, name: str, port: int | None = None) -> BackgroundServer | None:
        """LocalCluster's, for this cluster's workers only: start() asks for every one."""
        if name not in self.names:
            return None
        # start_daphne prints each worker's command, which would break the progress bar
        with contextlib.redirect_stdout(io.StringIO()):
            return super().start_worker(name, port)

    def remove(self) -> None:
        """Stop the cluster and remove its folder (its database with it)."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def nginx_url(self, room: str) -> str:
        return f"ws://{self.nginx.host}:{self.nginx.port}/ws/chat/{room}/"

    @property
    def primary(self):
        """The Redis primary (the one the Sentinels name)."""
        return self.redis.server_at(self.redis.primary_address())


def cluster_folder() -> Path:
    """A folder of its own for one cluster, which PostgreSQL's user can reach when the
    benchmark runs as root (a TemporaryDirectory is closed to everyone else)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    folder.chmod(0o711)
    return folder


def start_cluster(workers: int, env: Mapping[str, str] | None = None) -> BenchCluster:
    """A BenchCluster started in a folder of its own (removed again if it fails to start)."""
    cluster = BenchCluster(cluster_folder(), workers, env)
    try:
        return cluster.start()
    except BaseException:
        shutil.rmtree(cluster.folder, ignore_errors=True)
        raise


@dataclass
class ClusterDeployment:
    """A running BenchCluster as run.py measures a deployment: the clients' URL is
    nginx's, the processes measured are the workers."""

    cluster: BenchCluster

    def urls(self, room: str) -> list[str]:
        return [self.cluster.nginx_url(room)]

    @property
    def pids(self) -> list[int]:
        return [worker.pid for worker in self.cluster.workers.values()]

    def stop(self, timeout: float = 10) -> None:
        self.cluster.remove()
