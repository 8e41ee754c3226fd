"""The load benchmark runs end to end: real servers, real clients, nothing dropped.

A smoke test only: it checks that every configuration completes at a tiny size with every
message delivered. Speed is for `make bench` to report, never for a test to assert.
"""

import json

import pytest

from benchmarks.configs import CONFIGS
from benchmarks.loadgen import Load
from benchmarks.run import Scenario, run_benchmark, table

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
