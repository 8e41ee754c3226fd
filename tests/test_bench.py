"""The load benchmark runs end to end: real servers, real clients, nothing dropped.

A smoke test only: it checks that every configuration completes at a tiny size with every
message delivered. Speed is for `make bench` to report, never for a test to assert.
"""

import json

import pytest

from benchmarks.run import Scenario, run_benchmark, table

pytestmark = pytest.mark.live


def test_every_configuration_delivers_everything(tmp_path):
    scenarios = [Scenario(listeners=5, messages=5), Scenario(listeners=5, messages=5, rate=50)]
    results = run_benchmark(
        ["blog", "chat", "raw"], scenarios, repeats=1, out=tmp_path, label="smoke"
    )

    assert len(results["runs"]) == 3 * 2
    for run in results["runs"]:
        assert run["delivered"] == run["expected"] == 25, run
        assert run["drops"] == run["disconnects"] == run["connect_failures"] == 0, run
        assert run["p99_ms"] >= run["p50_ms"] > 0
    written = json.loads((tmp_path / "smoke.json").read_text())
    assert written["medians"] == results["medians"]
    assert {row["config"] for row in written["medians"]} == {"blog", "chat", "raw"}
    assert "raw" in table(written["medians"])
    for plot in ("smoke-throughput.png", "smoke-latency.png"):
        assert (tmp_path / plot).read_bytes().startswith(b"\x89PNG")
