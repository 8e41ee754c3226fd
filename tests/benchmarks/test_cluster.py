"""The cluster configurations of the benchmark: every client through nginx, to three workers
on PostgreSQL and Redis through Sentinel; and what a message costs there.

One cluster for the module (15 s to start); tiny loads only: figures are for `make bench`
and `python -m benchmarks.costs` to report, never for a test to assert.
"""

import asyncio
import shutil
import tempfile
from pathlib import Path

import pytest

from benchmarks.cluster import BenchCluster, ClusterDeployment, start_cluster
from benchmarks.configs import BENCH_WORKER, CONFIGS, UNLIMITED_SENDER
from benchmarks.costs import measure_costs
from benchmarks.run import AT_SCALE, CHATS, Scenario, measure
from tests.helpers import require
from workbook.cluster import missing_programs
from workbook.nginx import served_by

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def cluster():
    """The `cluster` configuration's cluster: nginx, three workers, PostgreSQL, Sentinel."""
    missing = missing_programs()
    require(not missing, "; ".join(missing) + " (make nginx postgres)")
    cluster = start_cluster(CONFIGS["cluster"].workers, BENCH_WORKER)
    try:
        yield cluster
    finally:
        cluster.remove()
    assert not cluster.folder.exists()


def test_the_cluster_configurations_run_the_chat_configurations_worker():
    """cluster has three workers, cluster-1 one, each set up as the chat configuration's
    server (Redis layer, room hub, limits on one sender raised); both run every scenario."""
    assert CONFIGS["cluster"].workers == 3 and CONFIGS["cluster-1"].workers == 1
    assert BENCH_WORKER["CHAT_CHANNEL_LAYER"] == "redis" and BENCH_WORKER["CHAT_ROOM_HUB"] == "1"
    assert UNLIMITED_SENDER.items() <= BENCH_WORKER.items()
    assert {"cluster", "cluster-1"} <= set(CHATS) and {"cluster", "cluster-1"} <= set(AT_SCALE)
    folder = Path(tempfile.mkdtemp())
    try:
        assert BenchCluster(folder, 1).names == ["chat-1"]
    finally:
        shutil.rmtree(folder)


def test_the_cluster_delivers_everything_through_nginx_to_its_workers(cluster):
    """A tiny run: every message delivered; memory for each of the three workers; the
    sockets reached more than one worker through nginx."""
    deployment = ClusterDeployment(cluster)
    assert deployment.urls("smoke") == [
        f"ws://{cluster.nginx.host}:{cluster.nginx.port}/ws/chat/smoke/"
    ]
    run = asyncio.run(measure(deployment, Scenario(listeners=6, messages=5), "smoke"))

    assert run["delivered"] == run["expected"] == 30, run
    assert run["drops"] == run["disconnects"] == run["connect_failures"] == 0, run
    assert len(run["connected_rss_mb_each"]) == 3 and min(run["connected_rss_mb_each"]) > 0
    assert run["connects_per_second"] > 0 and run["deliveries_per_cpu_second"] > 0
    # nginx logs a WebSocket when it closes
    workers = {cluster.address(worker) for worker in cluster.workers.values()}
    cluster.nginx.wait_for_access(request="GET /ws/chat/smoke/ HTTP/1.1")
    upstreams = {
        served_by(entry)
        for entry in cluster.nginx.access_log()
        if entry.get("request") == "GET /ws/chat/smoke/ HTTP/1.1"
    }
    assert upstreams <= workers and len(upstreams) >= 2, upstreams


def test_the_one_worker_cluster_starts_and_delivers():
    """cluster-1, the baseline the cluster is measured against: one worker behind nginx."""
    missing = missing_programs()
    require(not missing, "; ".join(missing) + " (make nginx postgres)")
    alone = start_cluster(CONFIGS["cluster-1"].workers, BENCH_WORKER)
    try:
        assert list(alone.workers) == ["chat-1"]
        scenario = Scenario(listeners=3, messages=3)
        run = asyncio.run(measure(ClusterDeployment(alone), scenario, "smoke"))
        assert run["delivered"] == run["expected"] == 9, run
        assert len(run["connected_rss_mb_each"]) == 1
    finally:
        alone.remove()


def test_costs_per_message_come_from_redis_postgres_and_the_workers(cluster):
    """benchmarks.costs on a tiny load: Redis commands and a saved row per message, and the
    workers' CPU time."""
    costs = asyncio.run(measure_costs(cluster, listeners=3, messages=5, idle_seconds=1))

    assert costs["delivered"] == 15, costs
    assert costs["redis_commands_per_message"] > 0
    assert costs["redis_commands_by_name"], costs
    # Each message is one row; the room's row came with the first
    assert costs["postgres_per_message"]["inserted"] >= 1, costs
    assert costs["cpu_seconds"]["workers"] > 0
    assert costs["deliveries_per_worker_cpu_second"] > 0
