"""Run the benchmark: every configuration through the same scenarios, in one sitting.

``python -m benchmarks`` (``make bench``) runs the full sweep; ``--quick`` a small one of
blog, chat and raw that finishes in under a minute (``--configs`` adds others). Results go to
benchmarks/results/: JSON (with the machine) and PNG plots of throughput and latency.
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
from workbook.benchplots import plot_results
from workbook.cluster import missing_programs

from . import burst, loadgen
from .configs import CONFIGS, ClusterConfig, Deployment, Setup, Usage

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Scenario:
    """One load: throughput (rate None: as fast as possible) or latency (a set rate)."""

    listeners: int
    messages: int
    rate: float | None = None
    # The configurations that run it; empty: every one
    only: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        pace = "max" if self.rate is None else f"{self.rate:g}/s"
        return f"{self.listeners} listeners, {self.messages} msgs @ {pace}"

    def runs_on(self, config: str) -> bool:
        return not self.only or config in self.only


# The configurations that run the chat: they answer a message with its id, which a burst
# needs to tell what was acknowledged (blog's consumer and raw do not)
CHATS = (
    "chat",
    "chat-nohub",
    "chat-pubsub",
    "chat-memory",
    "chat-uvicorn",
    "chat-uvicorn-pubsub",
    "chat-2procs",
    "cluster-1",
    "cluster",
)


@dataclass(frozen=True)
class BurstScenario:
    """Senders in one room each send per_sender at once; another room's sender goes on.

    benchmarks/burst.py says what it measures: drops, lost and late messages, and the
    time the burst took to deliver.
    """

    senders: int
    per_sender: int = 10
    only: tuple[str, ...] = CHATS

    @property
    def name(self) -> str:
        return f"burst: {self.senders} senders x {self.per_sender} + a steady room"

    def runs_on(self, config: str) -> bool:
        return config in self.only


# The 1000-listener flood is the longest run of all (1000 handshakes, then 30,000 deliveries),
# so only the baseline, the chat as built, its fastest server and the ceiling take it. Every
# configuration meets 1000 listeners at 1 message a second: drops, latency, idle memory.
# benchmarks/README.md gives the time this plan takes.
AT_SCALE = ("blog", "chat", "chat-uvicorn", "chat-uvicorn-pubsub", "cluster-1", "cluster", "raw")
FULL = [
    Scenario(10, 1000),
    Scenario(100, 300),
    Scenario(1000, 30, only=AT_SCALE),
    Scenario(100, 50, rate=10),
    Scenario(1000, 10, rate=1),
    BurstScenario(50),
    BurstScenario(200, only=("chat",)),
]
QUICK = [Scenario(10, 100), Scenario(100, 30), Scenario(100, 20, rate=10), BurstScenario(20)]
# --quick compares these unless --configs says otherwise, to stay under a minute
QUICK_CONFIGS = ["blog", "chat", "raw"]


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": psutil.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_generator": "same machine, loopback",
    }


async def measure(deployment: Deployment, scenario: Scenario | BurstScenario, room: str) -> dict:
    """One run of one scenario against one deployment: the load's figures and the servers'."""
    usage = Usage(deployment.pids)
    started, cpu_before = time.perf_counter(), usage.cpu_seconds()
    connected_rss: list[list[float]] = []
    connected = lambda: connected_rss.append(usage.rss_mb_each())  # noqa: E731
    if isinstance(scenario, BurstScenario):
        outcome = await run_burst(deployment, scenario, room, connected)
    else:
        load = loadgen.Load(
            urls=deployment.urls(room),
            listeners=scenario.listeners,
            messages=scenario.messages,
            rate=scenario.rate,
        )
        outcome = await loadgen.run(load, connected)
    figures = outcome.summary()
    cpu_seconds = usage.cpu_seconds() - cpu_before
    # A burst's sockets: its senders, and the quiet room's sender and listener
    sockets = scenario.senders + 2 if isinstance(scenario, BurstScenario) else scenario.listeners
    return {
        **figures,
        # Handshakes the clients completed a second (through nginx, for a cluster)
        "connects_per_second": round(sockets / max(figures["connect_seconds"], 1e-6), 1),
        "server_cpu_seconds": round(cpu_seconds, 2),
        # Deliveries per second of the servers' CPU (connecting and closing included)
        "deliveries_per_cpu_second": round(figures["delivered"] / max(cpu_seconds, 0.01), 1),
        # Every listener connected, nothing sent yet: the memory that many idle sockets take
        "connected_rss_mb": round(sum(connected_rss[0]), 1),
        # The same for each server process (each worker of a cluster)
        "connected_rss_mb_each": [round(mb, 1) for mb in connected_rss[0]],
        "server_rss_mb": round(usage.rss_mb(), 1),
        # Connecting and closing included: what a sweep's plan has to budget for
        "wall_seconds": round(time.perf_counter() - started, 2),
    }


async def run_burst(deployment: Deployment, scenario: BurstScenario, room: str, connected):
    """The burst across two rooms: room_a busy on every server, room_b on the first."""
    load = burst.Burst(
        busy_urls=deployment.urls(f"{room}_a"),
        quiet_url=deployment.urls(f"{room}_b")[0],
        senders=scenario.senders,
        per_sender=scenario.per_sender,
    )
    return await burst.run(load, connected)


def medians(runs: list[dict]) -> list[dict]:
    """Per configuration and scenario, the median of each figure over the repeats."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for run in runs:
        groups.setdefault((run["config"], run["scenario"]), []).append(run)
    figures = ["deliveries_per_second", "p50_ms", "p99_ms", "drops", "connect_seconds", "seconds"]
    figures += ["connects_per_second", "deliveries_per_cpu_second"]
    # A burst's own: messages never answered, deliveries later than 2 s after the answer
    figures += ["lost", "late"]
    return [
        {
            "config": config,
            "scenario": scenario,
            "repeats": len(group),
            **{
                name: statistics.median(run[name] for run in group)
                for name in figures
                if all(name in run for run in group)
            },
            "connected_rss_mb": max(run["connected_rss_mb"] for run in group),
            # The biggest server process of the configuration (its biggest worker)
            "connected_rss_mb_each": max(max(run["connected_rss_mb_each"]) for run in group),
            "server_rss_mb": max(run["server_rss_mb"] for run in group),
        }
        for (config, scenario), group in groups.items()
    ]


# What the chat should reach, printed under the table to read it against
FOOTNOTE = """\
RSS MB: the servers' memory with every listener connected, before the first message;
MB/proc: the biggest server process's (a cluster's worker; nginx, Redis and PostgreSQL
are not counted); conn/s: handshakes the clients completed a second.
Targets: as fast as possible at 100 listeners, >= 10x blog and >= 50 % of raw; p99 <= 20 ms
at 100 listeners x 10/s and <= 100 ms at 1000 x 1/s; no drops up to 1000 listeners; 1000
idle sockets in <= 200 MB. Bursts: no drops, nothing lost or late (delivered more than 2 s
after its sender had it back); "deliver s" is from the first message sent to the last
delivery."""


def table(rows: list[dict]) -> str:
    """A block per scenario, a line per configuration, compared with blog and raw.

    Throughput is compared as fast as possible only: at a set rate every configuration
    that keeps up delivers the same. A burst's block says how long it took to deliver, and
    what was lost or late, instead.
    """
    columns = (
        f"  {'config':20} {'deliv/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'drops':>6} {'RSS MB':>7}"
        f" {'MB/proc':>7} {'conn/s':>7}"
    )
    lines = []
    for scenario in dict.fromkeys(row["scenario"] for row in rows):
        group = {row["config"]: row for row in rows if row["scenario"] == scenario}
        is_burst = scenario.startswith("burst")
        extra = f" {'lost':>6} {'late':>6} {'deliver s':>9}" if is_burst else ""
        extra += f" {'x blog':>7} {'% raw':>6}" if scenario.endswith("@ max") else ""
        lines += [scenario, columns + extra]
        for config, row in group.items():
            speed = row["deliveries_per_second"]
            line = (
                f"  {config:20} {speed:10,.0f} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} "
                f"{row['drops']:6.0f} {row['connected_rss_mb']:7.0f} "
                f"{figure(row, 'connected_rss_mb_each', 7)} {figure(row, 'connects_per_second', 7)}"
            )
            if is_burst:
                line += f" {row['lost']:6.0f} {row['late']:6.0f} {row['seconds']:9.2f}"
            if scenario.endswith("@ max"):
                line += compared(speed, group)
            lines.append(line)
        lines.append("")
    return "\n".join([*lines, FOOTNOTE])


def figure(row: dict, name: str, width: int) -> str:
    """row's figure, right-aligned in width; "-" where a run recorded before the figure
    existed has none (full.json's MB/proc and conn/s)."""
    value = row.get(name)
    return f"{'-':>{width}}" if value is None else f"{value:{width}.0f}"


def compared(speed: float, group: dict[str, dict]) -> str:
    """speed as a multiple of blog's and a share of raw's ("-" when one did not run)."""
    blog = group.get("blog", {}).get("deliveries_per_second")
    raw = group.get("raw", {}).get("deliveries_per_second")
    times_blog = f"{speed / blog:.1f}" if blog else "-"
    share_of_raw = f"{speed / raw:.0%}" if raw else "-"
    return f" {times_blog:>7} {share_of_raw:>6}"


async def sweep(configs: list[str], scenarios: list[Scenario], repeats: int, setup: Setup):
    """Every configuration through its scenarios, repeats times.

    Repeats go round all configurations in turn, each time on freshly started servers, so
    that a noisy minute on a shared machine hits one run of several configurations rather
    than every run of one.
    """
    plan = [(name, [one for one in scenarios if one.runs_on(name)]) for name in configs]
    runs = []
    with tqdm(total=repeats * sum(len(mine) for _, mine in plan), unit="run") as progress:
        for repeat in range(repeats):
            for name, mine in plan:
                runs += await run_config(name, mine, repeat, setup, progress)
    return runs


async def run_config(name: str, scenarios: list[Scenario], repeat: int, setup: Setup, progress):
    """One configuration through its scenarios once, on servers started for the purpose."""
    deployment = CONFIGS[name].start(setup)
    runs = []
    try:
        for index, scenario in enumerate(scenarios):
            progress.set_description(f"{name}: {scenario.name}")
            # A room of its own for every run: nobody else is in it, nothing left over from
            # another configuration (letters, digits and _ only, for the blog's routing)
            room = f"{name.replace('-', '_')}_{index}_r{repeat}"
            figures = await measure(deployment, scenario, room)
            runs.append({"config": name, "scenario": scenario.name, "repeat": repeat, **figures})
            progress.update()
    finally:
        # daphne stopped while sockets are still closing can hang in its shutdown (worker
        # threads waiting on the stopped loop): no need to wait 10 s for it
        deployment.stop(timeout=2)
    return runs


def run_benchmark(*args, **kwargs) -> dict:
    """arun_benchmark() where no event loop runs (the command line); the same arguments."""
    return asyncio.run(arun_benchmark(*args, **kwargs))


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
    parser.add_argument(
        "--configs",
        help=f"comma-separated, from {', '.join(CONFIGS)} (default: all; --quick: "
        f"{', '.join(QUICK_CONFIGS)})",
    )
    parser.add_argument("--repeats", type=int, default=None, help="runs of each (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--label", help="the results' file name (default: full, or quick)")
    args = parser.parse_args(argv)
    default = QUICK_CONFIGS if args.quick else list(CONFIGS)
    # The full sweep leaves the clusters out, saying why, where their programs are missing
    if not args.configs and (missing := missing_programs()):
        default = [name for name in default if not isinstance(CONFIGS[name], ClusterConfig)]
        print(f"Without the clusters: {'; '.join(missing)} (make nginx postgres)")
    chosen = args.configs.split(",") if args.configs else default
    configs = [name.strip() for name in chosen if name.strip()]
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown configurations {unknown}; choose from {sorted(CONFIGS)}")
    scenarios = QUICK if args.quick else FULL
    repeats = args.repeats or (1 if args.quick else 2)
    label = args.label or ("quick" if args.quick else "full")
    results = run_benchmark(configs, scenarios, repeats, args.out, label)
    print(table(results["medians"]))
    runs, seconds = len(results["runs"]), results["seconds"]
    print(f"\n{runs} runs in {seconds} s; results in {args.out}/{label}.json and *.png")
