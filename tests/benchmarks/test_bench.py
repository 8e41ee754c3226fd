"""The load benchmark runs end to end: real servers, real clients, nothing dropped.

A smoke test only: it checks that every configuration completes at a tiny size with every
message delivered. Speed is for `make bench` to report, never for a test to assert.
"""

import json

import pytest

from benchmarks.configs import CONFIGS, Setup
from benchmarks.loadgen import Load
from benchmarks.run import Scenario, run_benchmark, table
from workbook.servers import CHAT_APPLICATION, SERVER_COMMANDS

pytestmark = pytest.mark.live


def test_every_configuration_delivers_everything(tmp_path):
    """Every configuration at a tiny size: all delivered; the JSON, the table, the plots."""
    scenarios = [Scenario(listeners=5, messages=5), Scenario(listeners=5, messages=5, rate=50)]
    results = run_benchmark(list(CONFIGS), scenarios, repeats=1, out=tmp_path, label="smoke")

    assert len(results["runs"]) == len(CONFIGS) * 2
    for run in results["runs"]:
        assert run["delivered"] == run["expected"] == 25, run
        assert run["drops"] == run["disconnects"] == run["connect_failures"] == 0, run
        assert run["p99_ms"] >= run["p50_ms"] > 0
        assert run["connected_rss_mb"] > 0
    written = json.loads((tmp_path / "smoke.json").read_text())
    assert written["medians"] == results["medians"]
    assert {row["config"] for row in written["medians"]} == set(CONFIGS)
    printed = table(written["medians"])
    for name in CONFIGS:
        assert f"  {name} " in printed
    for plot in ("smoke-throughput.png", "smoke-latency.png"):
        assert (tmp_path / plot).read_bytes().startswith(b"\x89PNG")


def test_listeners_alternate_between_servers_the_sender_on_the_first():
    """With two servers (chat-2procs) every other listener is on the second."""
    load = Load(urls=["ws://first", "ws://second"], listeners=5, messages=1)
    urls = [load.url_of(listener) for listener in range(5)]
    assert urls == ["ws://first", "ws://second"] * 2 + ["ws://first"]


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
    """raw runs benchmarks.raw_server on its port; every other configuration is in SERVERS."""
    server = CONFIGS["raw"].server(describing_setup(tmp_path))
    assert server.command[1:] == ("-m", "benchmarks.raw_server", str(server.port))
    assert set(CONFIGS) == {"raw", *SERVERS}
