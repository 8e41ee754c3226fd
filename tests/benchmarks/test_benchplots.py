"""Benchmark results drawn: the sweep's PNGs, and notebook 07's plots against listeners and
profiles compared."""

import json

import matplotlib.pyplot as plt
import pytest

from benchmarks.run import RESULTS_DIR
from workbook.benchplots import (
    by_scenario,
    compare_profiles,
    latency_figure,
    plot_against_listeners,
    plot_results,
    recorded_results,
    throughput_figure,
)


def run(config: str, listeners: int, rate: float | None, speed: float, p99: float) -> dict:
    """One run as benchmarks.run records it (the figures a plot needs)."""
    return {
        "config": config,
        "scenario": f"{listeners} listeners",
        "repeat": 0,
        "listeners": listeners,
        "messages": 10,
        "rate": rate,
        "deliveries_per_second": speed,
        "p50_ms": p99 / 2,
        "p99_ms": p99,
        "drops": 0,
    }


RESULTS = {
    "label": "full",
    "started": "2026-11-24T21:00:00+0000",
    "seconds": 612.0,
    "machine": {
        "python": "3.11.7",
        "processor": "x86_64",
        "cpus": 2,
        "load_generator": "same machine, loopback",
    },
    "configs": {"blog": "the blog's consumer", "chat-uvicorn": "the chat under uvicorn"},
    "runs": [
        run("blog", 10, None, 1000, 90),
        run("blog", 10, None, 3000, 70),
        run("blog", 100, None, 2000, 900),
        run("chat-uvicorn", 10, None, 9000, 20),
        run("chat-uvicorn", 100, None, 20000, 40),
        run("blog", 100, 10, 1000, 87),
        run("chat-uvicorn", 100, 10, 1000, 16),
        run("chat-uvicorn", 1000, 1, 1000, 117),
    ],
}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_medians_per_configuration_listeners_and_rate():
    """Repeats of one scenario become one row with the median of each figure."""
    rows = by_scenario(RESULTS)
    blog_10 = [row for row in rows if row["config"] == "blog" and row["listeners"] == 10]
    assert blog_10 == [
        {
            "config": "blog",
            "listeners": 10,
            "rate": None,
            "deliveries_per_second": 2000,
            "p50_ms": 40,
            "p99_ms": 80,
            "drops": 0,
        }
    ]
    assert len(rows) == 7


def test_plot_has_a_line_per_configuration_whatever_its_name():
    """Throughput and paced p99 against listeners, one line per configuration."""
    figure = plot_against_listeners(RESULTS, "recorded")
    throughput, latency = figure.axes
    lines = {line.get_label(): line for line in throughput.get_lines()}
    assert set(lines) == {"blog", "chat-uvicorn"}
    assert list(lines["chat-uvicorn"].get_xdata()) == [10, 100]
    assert list(lines["chat-uvicorn"].get_ydata()) == [9000, 20000]
    paced = {line.get_label(): list(line.get_ydata()) for line in latency.get_lines()}
    assert paced == {"blog": [87], "chat-uvicorn": [16, 117]}
    assert "1000 at 1/s" in latency.get_title()


def legends_over_data(figure) -> list[str]:
    """The legends whose box, as drawn, overlaps a panel's data area."""
    figure.draw_without_rendering()
    legends = [*figure.legends, *filter(None, (axes.get_legend() for axes in figure.axes))]
    return [
        f"legend {[text.get_text() for text in legend.get_texts()]} over {axes.get_title()!r}"
        for legend in legends
        for axes in figure.axes
        if legend.get_window_extent().overlaps(axes.get_window_extent())
    ]


RECORDED = json.loads((RESULTS_DIR / "full.json").read_text())


@pytest.mark.parametrize("results", [RESULTS, RECORDED], ids=["two configs", "recorded sweep"])
def test_legend_sits_outside_the_panels(results):
    """One legend names every configuration, with one colour in both panels, and covers no
    data: it sits below the panels."""
    figure = plot_against_listeners(results, "recorded")
    assert len(figure.legends) == 1
    assert not legends_over_data(figure)
    configs = {run["config"] for run in results["runs"]}
    assert {text.get_text() for text in figure.legends[0].get_texts()} == configs
    colours = [
        {line.get_label(): line.get_color() for line in axes.get_lines()} for axes in figure.axes
    ]
    shared = colours[0].keys() & colours[1].keys()
    assert all(colours[0][config] == colours[1][config] for config in shared)


def test_plot_without_paced_runs_says_so():
    """Results with no paced scenario still plot, with a note in the empty panel."""
    flat_out = {**RESULTS, "runs": [one for one in RESULTS["runs"] if one["rate"] is None]}
    _, latency = plot_against_listeners(flat_out, "flat out only").axes
    assert not latency.get_lines()
    assert "no such runs" in latency.texts[0].get_text()


def test_missing_results_say_how_to_make_them(tmp_path, capsys):
    """No file: None, and the command that writes one."""
    assert recorded_results(tmp_path / "full.json") is None
    assert "make bench" in capsys.readouterr().out


def test_recorded_results_are_read_and_described(tmp_path, capsys):
    """A file: its contents, and a line saying when and where it was measured."""
    path = tmp_path / "full.json"
    path.write_text(json.dumps(RESULTS))
    assert recorded_results(path) == RESULTS
    said = capsys.readouterr().out
    assert "8 runs on 2026-11-24T21:00:00+0000" in said
    assert "2 CPUs" in said


def test_profiles_side_by_side():
    """Every centre of any profile gets a row; a centre a profile lacks shows 0 %."""
    blog = {
        "samples": 100,
        "centres": [{"centre": "asgiref", "share": 0.3}, {"centre": "loop", "share": 0.7}],
    }
    chat = {
        "samples": 50,
        "centres": [{"centre": "loop", "share": 0.9}, {"centre": "json", "share": 0.1}],
    }
    lines = compare_profiles({"blog": blog, "chat": chat}).splitlines()
    assert lines[0].split() == ["cost", "centre", "blog", "chat"]
    assert lines[2].split() == ["asgiref", "30%", "0%"]
    assert lines[3].split() == ["loop", "70%", "90%"]
    assert lines[4].split() == ["json", "0%", "10%"]
    assert lines[5].split() == ["samples", "100", "50"]


def median(config: str, scenario: str, speed: float) -> dict:
    """One row of a sweep's medians, as benchmarks.run writes them (the figures a plot needs)."""
    return {
        "config": config,
        "scenario": scenario,
        "deliveries_per_second": speed,
        "p50_ms": 5.0,
        "p99_ms": 9.0,
    }


FLAT_OUT = "10 listeners, 50 msgs @ max"
PACED = "10 listeners, 10 msgs @ 20/s"


def test_a_sweep_is_drawn_to_png_files(tmp_path):
    """Throughput and latency plots, named after the sweep's label."""
    rows = [
        median(config, scenario, 100)
        for config in ("blog", "raw")
        for scenario in (FLAT_OUT, PACED)
    ]
    paths = plot_results({"label": "smoke", "medians": rows}, tmp_path)
    assert [path.name for path in paths] == ["smoke-throughput.png", "smoke-latency.png"]
    for path in paths:
        assert path.read_bytes().startswith(b"\x89PNG")
    assert not plt.get_fignums(), "the files' figures are not pyplot's"


def test_a_sweep_without_paced_runs_has_no_latency_plot(tmp_path):
    """Only the plots the sweep has figures for are written."""
    paths = plot_results({"label": "fast", "medians": [median("chat", FLAT_OUT, 10)]}, tmp_path)
    assert [path.name for path in paths] == ["fast-throughput.png"]


@pytest.mark.parametrize("draw", [throughput_figure, latency_figure])
def test_the_sweeps_legends_sit_outside_the_panels(draw):
    """The PNGs' legends too: below the bars, not over them."""
    figure = draw(RECORDED["medians"])
    assert len(figure.legends) == 1
    assert not legends_over_data(figure)
