"""Benchmark results drawn: the sweep's PNGs, and notebook 07's plots against listeners and
profiles compared, with labels in English, or in Japanese where a font can draw them."""

import io
import json
import string
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from babel.messages.pofile import read_po
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from matplotlib import font_manager

from benchmarks.run import RESULTS_DIR
from tests.helpers import JAPANESE, require
from workbook import i18n
from workbook.benchplots import (
    SAMPLE,
    by_scenario,
    compare_profiles,
    draws_japanese,
    japanese_font,
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


# The labels in the learner's language, in a font that has their glyphs


def catalog_characters() -> str:
    """Every character of the Japanese catalog's translations."""
    with (i18n.LOCALE_DIR / "ja" / "LC_MESSAGES" / "workbook.po").open("rb") as source:
        return "".join({character for message in read_po(source) for character in message.string})


def box_font(path: Path, family: str, text: str) -> Path:
    """A TrueType font named family, with a glyph (a box) for every character of text."""
    pen = TTGlyphPen(None)
    pen.moveTo((100, 0))
    pen.lineTo((100, 700))
    pen.lineTo((900, 700))
    pen.lineTo((900, 0))
    pen.closePath()
    glyphs = {".notdef": pen.glyph(), "space": TTGlyphPen(None).glyph(), "box": pen.glyph()}
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(list(glyphs))
    builder.setupCharacterMap({ord(character): "box" for character in text} | {32: "space"})
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (1000, 0) for name in glyphs})
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": family, "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    builder.setupPost()
    builder.save(str(path))
    return path


@pytest.fixture
def fonts(monkeypatch):
    """matplotlib's fonts less every one that draws Japanese: the machine as if it had no CJK
    font installed (a test adds the one it needs)."""
    manager = font_manager.fontManager
    monkeypatch.setattr(manager, "ttflist", [f for f in manager.ttflist if not draws_japanese(f)])
    manager._findfont_cached.cache_clear()
    yield manager
    manager._findfont_cached.cache_clear()


@pytest.fixture
def english(monkeypatch):
    """No language chosen anywhere: no WORKBOOK_LANGUAGE, no locale."""
    for name in (i18n.LANGUAGE_VARIABLE, *i18n.LOCALE_VARIABLES):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def japanese(monkeypatch):
    """The Japanese edition."""
    monkeypatch.setenv(i18n.LANGUAGE_VARIABLE, "ja")


# Every drawing of the module, each with the labels it shows
DRAWINGS = {
    "against listeners": lambda: plot_against_listeners(RESULTS, "recorded"),
    "throughput": lambda: throughput_figure(RECORDED["medians"]),
    "latency": lambda: latency_figure(RECORDED["medians"]),
}


def labels(figure) -> list:
    """The figure's titles and axis labels, as Text objects."""
    texts = [figure._suptitle] if figure._suptitle else []
    for axes in figure.axes:
        texts += [axes.title, axes.xaxis.label, axes.yaxis.label, *axes.texts]
    return [text for text in texts if text.get_text()]


def drawn_without_warnings(figure) -> bytes:
    """The figure as a PNG; a warning (a glyph missing from the font) fails the test."""
    png = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure.savefig(png, format="png", dpi=50)
    return png.getvalue()


def font_face(text) -> tuple[str, int]:
    """The font file, and face in it, that matplotlib draws a Text with."""
    found = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
    return found.path, found.face_index


@pytest.mark.parametrize("draw", DRAWINGS.values(), ids=DRAWINGS.keys())
def test_labels_are_english_by_default(draw, english):
    """With no language chosen, every label is English, in matplotlib's own font."""
    figure = draw()
    assert labels(figure)
    for text in labels(figure):
        assert not JAPANESE.search(text.get_text()), text.get_text()
        assert text.get_fontfamily() == plt.rcParams["font.family"]
    drawn_without_warnings(figure)


def test_the_english_labels_are_the_ones_the_plots_always_had(english):
    """The English edition's plots read as before: the message is its own English."""
    left, right = plot_against_listeners(RESULTS, "recorded").axes
    assert left.get_ylabel() == "deliveries / s (log scale)"
    assert left.get_xlabel() == "listeners in the room"
    assert right.get_title() == "p99 latency at a set rate (100 at 10/s, 1000 at 1/s)"


@pytest.mark.parametrize("draw", DRAWINGS.values(), ids=DRAWINGS.keys())
def test_without_a_japanese_font_the_japanese_edition_keeps_english_labels(draw, japanese, fonts):
    """No font can draw Japanese: the labels stay English, which can be read, rather than
    boxes, and the PNG is drawn without a missing-glyph warning."""
    assert japanese_font() is None
    figure = draw()
    for text in labels(figure):
        assert not JAPANESE.search(text.get_text()), text.get_text()
    assert drawn_without_warnings(figure).startswith(b"\x89PNG")


def test_matplotlibs_last_resort_font_is_no_japanese_font(fonts):
    """matplotlib's Last Resort font has a glyph for every character, a box: it is not taken
    for a font that draws Japanese."""
    boxes = [font for font in fonts.ttflist if font.name.startswith("Last Resort")]
    assert boxes
    charmap = font_manager.get_font(boxes[0].fname).get_charmap()
    assert all(ord(character) in charmap for character in SAMPLE)
    assert japanese_font() is None


@pytest.fixture
def box_font_installed(fonts, tmp_path):
    """A font with a glyph for every character of the Japanese catalog, and ASCII, added to
    matplotlib as a font installed on the machine would be."""
    text = SAMPLE + catalog_characters() + string.printable.strip()
    fonts.addfont(box_font(tmp_path / "workbook-test-gothic.ttf", "Workbook Test Gothic", text))
    return "Workbook Test Gothic", str(tmp_path / "workbook-test-gothic.ttf")


@pytest.mark.parametrize("draw", DRAWINGS.values(), ids=DRAWINGS.keys())
def test_with_a_japanese_font_the_labels_are_japanese_in_that_font(
    draw, japanese, box_font_installed
):
    """A font that draws Japanese is installed: the Japanese edition's labels are Japanese,
    drawn in that font, and the PNG has every glyph (no warning)."""
    family, path = box_font_installed
    assert japanese_font() == family
    figure = draw()
    for text in labels(figure):
        assert text.get_fontfamily()[0] == family
        assert font_face(text) == (path, 0)
    translated = [text.get_text() for text in labels(figure) if JAPANESE.search(text.get_text())]
    assert translated
    assert drawn_without_warnings(figure).startswith(b"\x89PNG")


def test_the_japanese_labels_are_the_catalogs(japanese, box_font_installed):
    """The labels read as the Japanese catalog says; the notebook's own title is kept."""
    figure = plot_against_listeners(RESULTS, "recorded")
    left, right = figure.axes
    assert figure._suptitle.get_text() == "recorded"
    assert left.get_ylabel() == "1 秒あたりの配信数（対数目盛）"
    assert left.get_xlabel() == "部屋のリスナー数"
    assert right.get_title() == (
        "一定のレートでの p99 レイテンシー（100 人に毎秒 10 件, 1000 人に毎秒 1 件）"
    )


def test_the_installed_japanese_font_draws_the_japanese_labels(japanese):
    """The font of this machine that draws Japanese (Noto Sans CJK JP in the Docker image and
    on Binder) draws every label of the Japanese edition, without a missing glyph."""
    family = japanese_font()
    require(family is not None, "no installed font draws Japanese (make test installs one)")
    fonts = font_manager.fontManager.ttflist
    japanese_faces = {(font.fname, font.index) for font in fonts if draws_japanese(font)}
    for draw in DRAWINGS.values():
        figure = draw()
        for text in labels(figure):
            assert text.get_fontfamily()[0] == family
            assert font_face(text) in japanese_faces
        drawn_without_warnings(figure)
