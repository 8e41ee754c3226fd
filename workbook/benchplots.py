"""Benchmark results drawn and compared: the PNGs a sweep writes, and notebook 07's plots
against listeners and its profiles side by side.

Results are what ``benchmarks.run`` writes (``make bench``): every run with its listeners,
messages and rate, whatever the configurations are called.

Titles and axis labels are in the learner's language (workbook/i18n.py), but only where an
installed font has the Japanese glyphs (Debian's fonts-noto-cjk in the Docker image and on
Binder): without one, the Japanese edition's plots keep their English labels, which can be
read, instead of empty boxes.
"""

import json
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib import font_manager

# The files are drawn on Figure objects, not through pyplot: pyplot keeps no list of them and
# chooses no backend, so a notebook that writes them keeps its own inline plots
from matplotlib.figure import Figure

from . import i18n

FIGURES = ("deliveries_per_second", "p50_ms", "p99_ms", "drops")
# Fonts with Japanese glyphs, best first: Debian's and Ubuntu's fonts-noto-cjk (the Docker
# image, Binder), then those a laptop may have; any other font that covers SAMPLE comes after
JAPANESE_FONTS = (
    "Noto Sans CJK JP",
    "Noto Sans JP",
    "IPAexGothic",
    "IPAGothic",
    "TakaoGothic",
    "Hiragino Sans",
    "Yu Gothic",
    "Meiryo",
)
# Kanji, hiragana and katakana: a font with these has the labels' glyphs
SAMPLE = "日本語のラベル"
# matplotlib's own fonts (DejaVu, STIX, Computer Modern, Last Resort) have no Japanese
MATPLOTLIB_FONTS = Path(mpl.get_data_path(), "fonts")


@cache
def _covers(path: str, index: int, text: str) -> bool:
    """Whether face index of the font file at path has a glyph for every character of text."""
    try:
        charmap = font_manager.get_font(font_manager.FontPath(path, index)).get_charmap()
    except (OSError, RuntimeError):
        # A font file FreeType cannot read draws nothing
        return False
    return all(ord(character) in charmap for character in text)


def draws_japanese(font: font_manager.FontEntry) -> bool:
    """Whether an installed font has the Japanese glyphs. matplotlib's Last Resort font, which
    maps every character to a box, does not count."""
    if Path(font.fname).is_relative_to(MATPLOTLIB_FONTS):
        return False
    return _covers(font.fname, font.index, SAMPLE)


def japanese_font() -> str | None:
    """The family of an installed font that draws Japanese (JAPANESE_FONTS first), or None."""
    rank = {name: number for number, name in enumerate(JAPANESE_FONTS)}
    fonts = font_manager.fontManager.ttflist
    for font in sorted(fonts, key=lambda font: (rank.get(font.name, len(rank)), font.name)):
        if draws_japanese(font):
            return font.name
    return None


def plot_language() -> str:
    """The labels' language: the learner's, but English where no font can draw Japanese."""
    language = i18n.current_language()
    if language == "ja" and japanese_font() is None:
        return i18n.DEFAULT_LANGUAGE
    return language


def _(message: str, /, **fields: object) -> str:
    """A label in plot_language(), its {fields} filled in (messages printed, which need no
    font, use i18n._)."""
    translated = i18n.translation(plot_language()).gettext(message)
    return translated.format(**fields) if fields else translated


@contextmanager
def _labels_font() -> Iterator[None]:
    """Text made in this block is drawn in a font that has the labels' glyphs: the Japanese
    font for Japanese labels, matplotlib's own for English ones (its fonts fill any gap)."""
    font = japanese_font() if plot_language() == "ja" else None
    families = [font, *mpl.rcParams["font.family"]] if font else mpl.rcParams["font.family"]
    with mpl.rc_context({"font.family": families}):
        yield


def recorded_results(path: Path) -> dict | None:
    """The results at path, said in a line; None (and how to make them) when there are none."""
    if not path.exists():
        print(
            i18n._(
                "No recorded results at {name} yet. `make bench` runs the full sweep "
                "(10, 100 and 1,000 listeners, each configuration twice) and writes them "
                "there; run this cell again afterwards. The notebook goes on without them.",
                name=path.name,
            )
        )
        return None
    results = json.loads(path.read_text())
    where = results["machine"]
    print(
        i18n._(
            "{label}: {runs} runs on {started}, {seconds} s; {cpus} CPUs, {processor}, "
            "Python {python}; load generator: {load_generator}",
            label=results["label"],
            runs=len(results["runs"]),
            started=results["started"],
            seconds=f"{results['seconds']:.0f}",
            cpus=where["cpus"],
            processor=where["processor"],
            python=where["python"],
            load_generator=where["load_generator"],
        )
    )
    return results


def by_scenario(results: dict) -> list[dict]:
    """The median of each figure per configuration, listeners and rate, from every run."""
    groups: dict[tuple, list[dict]] = {}
    for run in results["runs"]:
        groups.setdefault((run["config"], run["listeners"], run["rate"]), []).append(run)
    return [
        {
            "config": config,
            "listeners": listeners,
            "rate": rate,
            **{name: statistics.median(run[name] for run in runs) for name in FIGURES},
        }
        for (config, listeners, rate), runs in groups.items()
    ]


def _legend_below(figure: Figure) -> None:
    """One legend for all panels, under them: a legend inside a panel covers its data. The
    figure needs the constrained layout, which makes room for it."""
    labelled = {}
    for axes in figure.axes:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            labelled.setdefault(label, handle)
    if labelled:
        columns = min(len(labelled), 5)
        figure.legend(labelled.values(), labelled.keys(), loc="outside lower center", ncols=columns)


def _lines(axes, rows: list[dict], figure: str, colours: dict[str, str]) -> None:
    """One line per configuration, listeners on the x axis (log: 10, 100, 1,000)."""
    if not rows:
        axes.text(
            0.5, 0.5, _("no such runs in these results"), ha="center", transform=axes.transAxes
        )
        return
    for config in dict.fromkeys(row["config"] for row in rows):
        points = sorted((row["listeners"], row[figure]) for row in rows if row["config"] == config)
        axes.plot(*zip(*points, strict=True), marker="o", label=config, color=colours[config])
    axes.set_xscale("log")
    sizes = sorted({row["listeners"] for row in rows})
    axes.set_xticks(sizes, [f"{size:,}" for size in sizes])
    axes.minorticks_off()
    axes.set_xlabel(_("listeners in the room"))


# The title of a live run's figure (notebook 07); recorded results are titled by their date
JUST_NOW = i18n.N_("This machine, just now: one tiny run of each")
RECORDED = i18n.N_("Recorded: {started}")


def plot_against_listeners(results: dict, title: str = RECORDED) -> Figure:
    """Throughput (sender flat out) and p99 latency (at a set rate) against listeners, under
    title (translated if the catalog has it; {started} is when the results were made)."""
    rows = by_scenario(results)
    flat_out = [row for row in rows if row["rate"] is None]
    paced = [row for row in rows if row["rate"] is not None]
    # One colour per configuration in both panels, so that one legend serves both
    configs = dict.fromkeys(row["config"] for row in rows)
    colours = {config: f"C{number % 10}" for number, config in enumerate(configs)}
    with _labels_font():
        figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
        _lines(left, flat_out, "deliveries_per_second", colours)
        left.set_yscale("log" if flat_out else "linear")
        left.set_ylabel(_("deliveries / s (log scale)"))
        left.set_title(_("throughput, sender as fast as it can"))
        _lines(right, paced, "p99_ms", colours)
        right.set_yscale("log" if paced else "linear")
        right.set_ylabel(_("p99 ms, send to arrival (log scale)"))
        rates = ", ".join(
            sorted(
                {
                    _(
                        "{listeners} at {rate}/s",
                        listeners=row["listeners"],
                        rate=f"{row['rate']:g}",
                    )
                    for row in paced
                }
            )
        )
        right.set_title(_("p99 latency at a set rate ({rates})", rates=rates), fontsize=9)
        figure.suptitle(_(title, started=results.get("started", "")))
        _legend_below(figure)
    return figure


def compare_profiles(profiles: dict[str, dict]) -> str:
    """Cost centres side by side: each profile's share of its samples."""
    shares = {
        name: {row["centre"]: row["share"] for row in profile["centres"]}
        for name, profile in profiles.items()
    }
    centres = list(dict.fromkeys(centre for one in shares.values() for centre in one))
    width = max(12, *(len(name) for name in profiles))
    lines = [f"{'cost centre':27}" + "".join(f"{name:>{width + 2}}" for name in profiles)]
    lines.append("-" * len(lines[0]))
    for centre in centres:
        cells = "".join(f"{shares[name].get(centre, 0):>{width + 2}.0%}" for name in profiles)
        lines.append(f"{centre:27}{cells}")
    samples = "".join(f"{profile['samples']:>{width + 2}}" for profile in profiles.values())
    lines.append(f"{'samples':27}{samples}")
    return "\n".join(lines)


def _grouped_bars(axes, rows: list[dict], scenarios: list[str], figure: str) -> None:
    """A group of bars per scenario, a bar per configuration."""
    configs = list(dict.fromkeys(row["config"] for row in rows))
    width = 0.8 / len(configs)
    for number, config in enumerate(configs):
        values = {row["scenario"]: row[figure] for row in rows if row["config"] == config}
        positions = [index + number * width for index in range(len(scenarios))]
        heights = [values.get(scenario, 0) for scenario in scenarios]
        axes.bar(positions, heights, width, label=config)
    axes.set_xticks([index + 0.4 - width / 2 for index in range(len(scenarios))])
    axes.set_xticklabels([scenario.replace(", ", "\n") for scenario in scenarios], fontsize=8)


def throughput_figure(medians: list[dict]) -> Figure:
    """Deliveries a second when the sender goes as fast as it can (log scale: raw is far ahead)."""
    rows = [row for row in medians if row["scenario"].endswith("@ max")]
    scenarios = list(dict.fromkeys(row["scenario"] for row in rows))
    with _labels_font():
        figure = Figure(figsize=(8, 5), layout="constrained")
        axes = figure.subplots()
        _grouped_bars(axes, rows, scenarios, "deliveries_per_second")
        axes.set_yscale("log")
        axes.set_ylabel(_("deliveries / s (median)"))
        axes.set_title(_("Fan-out throughput: one sender, every listener in one room"))
        _legend_below(figure)
    return figure


def latency_figure(medians: list[dict]) -> Figure:
    """p50 and p99 latency at a steady offered rate."""
    rows = [row for row in medians if not row["scenario"].endswith("@ max")]
    scenarios = list(dict.fromkeys(row["scenario"] for row in rows))
    with _labels_font():
        figure = Figure(figsize=(10, 5), layout="constrained")
        p50, p99 = figure.subplots(1, 2, sharey=True)
        for axes, name in ((p50, "p50_ms"), (p99, "p99_ms")):
            _grouped_bars(axes, rows, scenarios, name)
            percentile = name.removesuffix("_ms")
            axes.set_title(_("{percentile} latency (ms, median of runs)", percentile=percentile))
        p50.set_ylabel(_("ms from send to arrival"))
        _legend_below(figure)
    return figure


def plot_throughput(medians: list[dict], path: Path) -> Path:
    throughput_figure(medians).savefig(path, dpi=100)
    return path


def plot_latency(medians: list[dict], path: Path) -> Path:
    latency_figure(medians).savefig(path, dpi=100)
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
