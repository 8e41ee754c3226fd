"""Run the benchmark: every configuration through the same scenarios, in one sitting.

``python -m benchmarks`` (``make bench``) runs the full sweep; ``--quick`` a small one that
finishes in under a minute. Results go to benchmarks/results/: JSON (with the machine) and
PNG plots of throughput and latency.
"""

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from tqdm.auto import tqdm

from workbook import RedisServer

from . import loadgen
from .configs import CONFIGS, Setup, Usage
from .plots import plot_results

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Scenario:
    """One load: throughput (rate None: as fast as possible) or latency (a set rate)."""

    listeners: int
    messages: int
    rate: float | None = None

    @property
    def name(self) -> str:
        pace = "max" if self.rate is None else f"{self.rate:g}/s"
        return f"{self.listeners} listeners, {self.messages} msgs @ {pace}"


FULL = [
    Scenario(10, 1000),
    Scenario(100, 300),
    Scenario(1000, 30),
    Scenario(100, 50, rate=10),
    Scenario(1000, 10, rate=1),
]
QUICK = [Scenario(10, 100), Scenario(100, 30), Scenario(100, 20, rate=10)]


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": psutil.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_generator": "same machine, loopback",
    }


async def measure(server, scenario: Scenario, room: str) -> dict:
    """One run of one scenario against one server: the load's figures and the server's."""
    load = loadgen.Load(
        url=f"ws://127.0.0.1:{server.port}/ws/chat/{room}/",
        origin=server.url,
        listeners=scenario.listeners,
        messages=scenario.messages,
        rate=scenario.rate,
    )
    usage = Usage(server.pid)
    cpu_before = usage.cpu_seconds()
    outcome = await loadgen.run(load)
    return {
        **outcome.summary(),
        "server_cpu_seconds": round(usage.cpu_seconds() - cpu_before, 2),
        "server_rss_mb": round(usage.rss_mb(), 1),
    }


def medians(runs: list[dict]) -> list[dict]:
    """Per configuration and scenario, the median of each figure over the repeats."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for run in runs:
        groups.setdefault((run["config"], run["scenario"]), []).append(run)
    figures = ["deliveries_per_second", "p50_ms", "p99_ms", "drops", "connect_seconds"]
    return [
        {
            "config": config,
            "scenario": scenario,
            "repeats": len(group),
            **{name: statistics.median(run[name] for run in group) for name in figures},
            "server_rss_mb": max(run["server_rss_mb"] for run in group),
        }
        for (config, scenario), group in groups.items()
    ]


def table(rows: list[dict]) -> str:
    header = (
        f"{'config':8} {'scenario':36} {'deliv/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'drops':>6}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['config']:8} {row['scenario']:36} {row['deliveries_per_second']:10,.0f} "
            f"{row['p50_ms']:8.1f} {row['p99_ms']:8.1f} {row['drops']:6.0f}"
        )
    return "\n".join(lines)


async def sweep(configs: list[str], scenarios: list[Scenario], repeats: int, setup: Setup):
    """Every configuration through every scenario, repeats times; servers started once each."""
    runs = []
    with tqdm(total=len(configs) * len(scenarios) * repeats, unit="run") as progress:
        for name in configs:
            server = CONFIGS[name].start(setup)
            try:
                for repeat in range(repeats):
                    for index, scenario in enumerate(scenarios):
                        progress.set_description(f"{name}: {scenario.name}")
                        # A fresh room for every run: nobody else is in it
                        room = f"bench{index}r{repeat}"
                        figures = await measure(server, scenario, room)
                        runs.append(
                            {"config": name, "scenario": scenario.name, "repeat": repeat, **figures}
                        )
                        progress.update()
            finally:
                # daphne stopped while sockets are still closing can hang in its shutdown
                # (worker threads waiting on the stopped loop): no need to wait 10 s for it
                server.stop(timeout=2)
    return runs


def run_benchmark(
    configs: list[str],
    scenarios: list[Scenario],
    repeats: int = 2,
    out: Path = RESULTS_DIR,
    label: str = "full",
) -> dict:
    """Run the sweep against a Redis of its own; write and return the results."""
    return asyncio.run(arun_benchmark(configs, scenarios, repeats, out, label))


async def arun_benchmark(
    configs: list[str],
    scenarios: list[Scenario],
    repeats: int = 2,
    out: Path = RESULTS_DIR,
    label: str = "full",
) -> dict:
    """run_benchmark() for a running event loop (a notebook cell): await it."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, RedisServer(Path(tmp)) as redis:
        setup = Setup(redis_url=redis.url, database=Path(tmp) / "chat.sqlite3")
        started = time.time()
        runs = await sweep(configs, scenarios, repeats, setup)
    results = {
        "label": label,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": machine(),
        "configs": {name: CONFIGS[name].description for name in configs},
        "runs": runs,
        "medians": medians(runs),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{label}.json").write_text(json.dumps(results, indent=2) + "\n")
    plot_results(results, out)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small sweep, under a minute")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names")
    parser.add_argument("--repeats", type=int, default=None, help="runs of each (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    configs = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown configurations {unknown}; choose from {sorted(CONFIGS)}")
    scenarios = QUICK if args.quick else FULL
    repeats = args.repeats or (1 if args.quick else 2)
    label = "quick" if args.quick else "full"
    results = run_benchmark(configs, scenarios, repeats, args.out, label)
    print(table(results["medians"]))
    runs, seconds = len(results["runs"]), results["seconds"]
    print(f"\n{runs} runs in {seconds} s; results in {args.out}/{label}.json and *.png")
