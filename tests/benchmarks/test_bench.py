"""The load benchmark runs end to end: real servers, real clients, nothing dropped.

A smoke test only: it checks that every configuration completes at a tiny size with every
message delivered. Speed is for `make bench` to report, never for a test to assert.
"""

import json

import pytest

from benchmarks.burst import Burst, RoomState, Socket, outcome
from benchmarks.configs import CONFIGS, ClusterConfig, Config, Setup
from benchmarks.loadgen import Load
from benchmarks.run import CHATS, BurstScenario, Scenario, medians, run_benchmark, table
from workbook.servers import CHAT_APPLICATION, SERVER_COMMANDS

pytestmark = pytest.mark.live


# The configurations of processes on their own; the clusters' (15 s to start each) have
# their test in test_cluster.py
ON_THEIR_OWN = [name for name, config in CONFIGS.items() if isinstance(config, Config)]


def test_every_configuration_delivers_everything(tmp_path):
    """Every configuration at a tiny size: all delivered; the JSON, the table, the plots."""
    scenarios = [
        Scenario(listeners=5, messages=5),
        Scenario(listeners=5, messages=5, rate=50),
        BurstScenario(senders=4, per_sender=3),
    ]
    results = run_benchmark(ON_THEIR_OWN, scenarios, repeats=1, out=tmp_path, label="smoke")

    chats = set(CHATS) & set(ON_THEIR_OWN)
    assert len(results["runs"]) == len(ON_THEIR_OWN) * 2 + len(chats)
    bursts = [run for run in results["runs"] if run["scenario"].startswith("burst")]
    assert {run["config"] for run in bursts} == chats
    for run in bursts:
        # 4 senders x 3 to the 4 of room A, 10 steady ones to the 2 of room B
        assert run["delivered"] == run["expected"] == 4 * 3 * 4 + 10 * 2, run
        assert run["acknowledged"] == run["sent"] == 22, run
        assert run["lost"] == run["late"] == run["drops"] == 0, run
    for run in results["runs"]:
        if run in bursts:
            continue
        assert run["delivered"] == run["expected"] == 25, run
        assert run["drops"] == run["disconnects"] == run["connect_failures"] == 0, run
        assert run["p99_ms"] >= run["p50_ms"] > 0
        assert run["connected_rss_mb"] > 0
    written = json.loads((tmp_path / "smoke.json").read_text())
    assert written["medians"] == results["medians"]
    assert {row["config"] for row in written["medians"]} == set(ON_THEIR_OWN)
    printed = table(written["medians"])
    for name in ON_THEIR_OWN:
        assert f"  {name} " in printed
    assert "burst: 4 senders x 3 + a steady room" in printed
    for plot in ("smoke-throughput.png", "smoke-latency.png"):
        assert (tmp_path / plot).read_bytes().startswith(b"\x89PNG")


def test_listeners_alternate_between_servers_the_sender_on_the_first():
    """With two servers (chat-2procs) every other listener is on the second."""
    load = Load(urls=["ws://first", "ws://second"], listeners=5, messages=1)
    urls = [load.url_of(listener) for listener in range(5)]
    assert urls == ["ws://first", "ws://second"] * 2 + ["ws://first"]


def burst_rooms(acknowledged_lags_ms: list[float | None]) -> tuple[Burst, list[RoomState]]:
    """Room A with one sender of len(lags) messages and one listener, room B silent.

    Each message is acknowledged 10 ms after it was sent; the listener gets it lag ms after
    that (None: never). The last message is refused instead.
    """
    busy, quiet = RoomState("a", len(acknowledged_lags_ms) + 1), RoomState("b", 0)
    sender, listener = Socket(None, busy, 0), Socket(None, busy, 1)
    for number, lag in enumerate(acknowledged_lags_ms):
        key = (0, number)
        busy.sent[key] = 0
        busy.acknowledged[key] = sender.arrivals[key] = 10_000_000
        if lag is not None:
            listener.arrivals[key] = 10_000_000 + int(lag * 1e6)
    busy.refused["rate_limited"] += 1
    burst = Burst(busy_urls=[], quiet_url="", senders=1, per_sender=len(acknowledged_lags_ms) + 1)
    return burst, [busy, quiet]


def test_a_burst_counts_drops_late_and_refused_messages():
    """Drops: deliveries missing (refused ones expected by no one); late: > 2 s after the ack."""
    burst, rooms = burst_rooms([5, 2500, None])
    burst.steady = 0
    figures = outcome(burst, rooms, connect=0.1, first=0).summary()
    assert figures["refused"] == {"rate_limited": 1}
    assert figures["acknowledged"] == 3 and figures["lost"] == 0
    assert figures["expected"] == 3 * 2  # three messages not refused, two sockets
    assert figures["delivered"] == 5 and figures["drops"] == 1
    assert figures["late"] == 1
    assert figures["worst_lag_ms"] == 2500
    assert figures["worst_ack_ms"] == 10
    assert figures["seconds"] == 2.51


def test_a_message_never_answered_is_lost():
    """Sent, yet its sender got neither the message back nor an error: lost, and dropped."""
    burst, rooms = burst_rooms([5])
    rooms[0].to_send += 1  # one more sent, never answered
    burst.steady = 0
    burst.per_sender += 1
    figures = outcome(burst, rooms, connect=0.1, first=0).summary()
    assert figures["lost"] == 1
    assert figures["drops"] == 2  # neither socket got it


def test_bursts_run_on_the_chat_configurations_and_show_what_was_lost():
    """Only configurations that acknowledge with an id run a burst; its line has lost, late."""
    assert BurstScenario(50).runs_on("chat-2procs")
    assert not BurstScenario(50).runs_on("blog") and not BurstScenario(50).runs_on("raw")
    assert set(CHATS) < set(CONFIGS)
    run = {
        "config": "chat",
        "scenario": BurstScenario(50).name,
        "deliveries_per_second": 5000.0,
        "p50_ms": 900.0,
        "p99_ms": 4000.0,
        "drops": 0,
        "connect_seconds": 0.5,
        "seconds": 5.25,
        "lost": 0,
        "late": 0,
        "connected_rss_mb": 100.0,
        "connected_rss_mb_each": [100.0],
        "connects_per_second": 50.0,
        "deliveries_per_cpu_second": 4000.0,
        "server_rss_mb": 120.0,
    }
    rows = medians([run, {**run, "seconds": 6.25, "late": 2}])
    assert rows[0]["seconds"] == 5.75 and rows[0]["late"] == 1
    printed = table(rows)
    assert "lost" in printed and "deliver s" in printed
    assert "  chat " in printed and "5.75" in printed


def test_a_scenario_can_be_kept_to_some_configurations():
    """A scenario with only= runs on those configurations; without, on every one."""
    heavy = Scenario(1000, 30, only=("blog", "raw"))
    assert heavy.runs_on("raw")
    assert not heavy.runs_on("chat-memory")
    assert Scenario(10, 10).runs_on("chat-memory")


# What each configuration's server runs: program, application, channel layer
SERVERS = {
    "blog": ("daphne", "benchmarks.blog_asgi:application", "redis"),
    "chat": ("daphne", CHAT_APPLICATION, "redis"),
    "chat-nohub": ("daphne", CHAT_APPLICATION, "redis"),
    "chat-pubsub": ("daphne", CHAT_APPLICATION, "pubsub"),
    "chat-memory": ("daphne", CHAT_APPLICATION, "memory"),
    "chat-uvicorn": ("uvicorn", CHAT_APPLICATION, "redis"),
    "chat-uvicorn-pubsub": ("uvicorn", CHAT_APPLICATION, "pubsub"),
    "chat-2procs": ("daphne", CHAT_APPLICATION, "redis"),
}


def describing_setup(tmp_path) -> Setup:
    """What a configuration needs to describe its server (nothing is started)."""
    return Setup(redis_url="redis://127.0.0.1:1/0", database=tmp_path / "chat.sqlite3")


@pytest.mark.parametrize("config", SERVERS)
def test_a_configuration_describes_its_server_with_the_workbooks_command(tmp_path, config):
    """A Django configuration's server runs the workbook's daphne or uvicorn command."""
    program, application, layer = SERVERS[config]
    setup = describing_setup(tmp_path)
    server = CONFIGS[config].server(setup)
    assert server.command == tuple(SERVER_COMMANDS[program](application, server.port))
    assert server.env["CHAT_CHANNEL_LAYER"] == layer
    assert server.env["REDIS_URL"] == setup.redis_url
    assert server.env["DJANGO_SQLITE_PATH"] == str(setup.database)


def test_raw_is_the_plain_websockets_server_and_every_configuration_is_described(tmp_path):
    """raw runs benchmarks.raw_server on its port; every other configuration is in SERVERS,
    or a cluster."""
    server = CONFIGS["raw"].server(describing_setup(tmp_path))
    assert server.command[1:] == ("-m", "benchmarks.raw_server", str(server.port))
    clusters = {name for name, config in CONFIGS.items() if isinstance(config, ClusterConfig)}
    assert clusters == {"cluster", "cluster-1"}
    assert set(CONFIGS) == {"raw", *SERVERS, *clusters}


def test_the_table_reads_results_recorded_before_its_newest_figures():
    """A recorded run without MB/proc and conn/s (full.json, recorded before they were
    measured) still prints, those two shown as "-"; notebook 07 prints it so."""
    old = {
        "config": "chat",
        "scenario": "100 listeners @ max",
        "deliveries_per_second": 5000.0,
        "p50_ms": 3.0,
        "p99_ms": 9.0,
        "drops": 0,
        "connected_rss_mb": 120.0,
    }
    line = next(line for line in table([old]).splitlines() if line.startswith("  chat"))
    assert line.split()[-4:-2] == ["-", "-"]
    assert "5,000" in line
