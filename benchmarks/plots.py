"""Plots of a benchmark's results: throughput and latency, configuration by configuration."""

from pathlib import Path

# Figures drawn straight to files: no pyplot, so no GUI backend is chosen, and a notebook
# that imports this module keeps its own inline plots
from matplotlib.figure import Figure


def _grouped_bars(axes, rows: list[dict], scenarios: list[str], figure: str, offset=0.0):
    configs = list(dict.fromkeys(row["config"] for row in rows))
    width = 0.8 / len(configs)
    for number, config in enumerate(configs):
        values = {row["scenario"]: row[figure] for row in rows if row["config"] == config}
        positions = [index + offset + number * width for index in range(len(scenarios))]
        heights = [values.get(scenario, 0) for scenario in scenarios]
        axes.bar(positions, heights, width, label=config)
    axes.set_xticks([index + 0.4 - width / 2 for index in range(len(scenarios))])
    axes.set_xticklabels([scenario.replace(", ", "\n") for scenario in scenarios], fontsize=8)
    axes.legend()


def plot_throughput(medians: list[dict], path: Path) -> Path:
    """Deliveries a second when the sender goes as fast as it can (log scale: raw is far ahead)."""
    rows = [row for row in medians if row["scenario"].endswith("@ max")]
    scenarios = list(dict.fromkeys(row["scenario"] for row in rows))
    figure = Figure(figsize=(8, 4.5))
    axes = figure.subplots()
    _grouped_bars(axes, rows, scenarios, "deliveries_per_second")
    axes.set_yscale("log")
    axes.set_ylabel("deliveries / s (median)")
    axes.set_title("Fan-out throughput: one sender, every listener in one room")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def plot_latency(medians: list[dict], path: Path) -> Path:
    """p50 and p99 latency at a steady offered rate."""
    rows = [row for row in medians if not row["scenario"].endswith("@ max")]
    scenarios = list(dict.fromkeys(row["scenario"] for row in rows))
    figure = Figure(figsize=(10, 4.5))
    p50, p99 = figure.subplots(1, 2, sharey=True)
    for axes, name in ((p50, "p50_ms"), (p99, "p99_ms")):
        _grouped_bars(axes, rows, scenarios, name)
        axes.set_title(f"{name.removesuffix('_ms')} latency (ms, median of runs)")
    p50.set_ylabel("ms from send to arrival")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def plot_results(results: dict, out: Path) -> list[Path]:
    """The plots that the sweep has figures for (a sweep may have no set-rate scenario)."""
    label, rows = results["label"], results["medians"]
    paths = []
    if any(row["scenario"].endswith("@ max") for row in rows):
        paths.append(plot_throughput(rows, out / f"{label}-throughput.png"))
    if not all(row["scenario"].endswith("@ max") for row in rows):
        paths.append(plot_latency(rows, out / f"{label}-latency.png"))
    return paths
