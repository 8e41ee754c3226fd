"""The Japanese edition mirrors the English one cell for cell: same cells, ids, tags and
code, every text translated, so the two cannot drift apart."""

import re

import nbformat
import pytest

from workbook.reading import NOTEBOOKS_DIR, is_going_further, notebooks

JAPANESE_DIR = NOTEBOOKS_DIR / "ja"
ENGLISH = notebooks()
JAPANESE_TEXT = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
JAPANESE_FURTHER = re.compile(
    r"\A<details>\s*<summary>さらに詳しく: [^<]+</summary>\n\n.+\n\n</details>\Z", re.S
)
TIME_EN = re.compile(r"^\*\*Time\*\*: about (\d+) minutes\.$", re.M)
TIME_JA = re.compile(r"^\*\*所要時間\*\*: 約 (\d+) 分$", re.M)
# The one code line an edition may have of its own: the line that selects its language
MAX_CODE_LINES_APART = 1


def twins(path):
    """The English notebook at path and its Japanese twin."""
    english = nbformat.read(path, as_version=4)
    japanese = nbformat.read(JAPANESE_DIR / path.name, as_version=4)
    return english, japanese


def notebook_id(path) -> str:
    return path.stem


def test_each_edition_has_the_same_notebooks():
    assert [path.name for path in notebooks(JAPANESE_DIR)] == [path.name for path in ENGLISH]


@pytest.mark.parametrize("path", ENGLISH, ids=notebook_id)
def test_the_same_cells_in_the_same_order(path):
    """Cell for cell: type, id, tags and hidden flag; the notebook's metadata too."""
    english, japanese = twins(path)

    def shape(notebook):
        return [(cell.cell_type, cell.get("id"), cell.metadata) for cell in notebook.cells]

    assert shape(japanese) == shape(english)
    assert japanese.metadata == english.metadata


@pytest.mark.parametrize("path", ENGLISH, ids=notebook_id)
def test_the_code_is_the_same(path):
    """Code cells are identical, but for at most one line that selects the language."""
    english, japanese = twins(path)
    apart = []
    for mine, theirs in zip(english.cells, japanese.cells, strict=True):
        if mine.cell_type == "code" and mine.source != theirs.source:
            lines = zip(mine.source.splitlines(), theirs.source.splitlines(), strict=False)
            apart += [pair for pair in lines if pair[0] != pair[1]]
            apart += [("lines", "added or removed")] * (
                mine.source.count("\n") != theirs.source.count("\n")
            )
    assert len(apart) <= MAX_CODE_LINES_APART, f"code differs: {apart[:3]}"


@pytest.mark.parametrize("path", ENGLISH, ids=notebook_id)
def test_every_text_is_translated(path):
    """No markdown cell is left as it is in English, and each one holds Japanese."""
    english, japanese = twins(path)
    pairs = zip(english.cells, japanese.cells, strict=True)
    for index, (mine, theirs) in enumerate(pairs):
        if mine.cell_type != "markdown":
            continue
        assert theirs.source != mine.source, f"cell {index} is still English"
        assert JAPANESE_TEXT.search(theirs.source), f"cell {index} holds no Japanese"


@pytest.mark.parametrize("path", ENGLISH, ids=notebook_id)
def test_asides_headings_and_time_match(path):
    """Going further blocks in the same places and form, the same heading levels, and the
    same minutes on the time line."""
    english, japanese = twins(path)
    for index, (mine, theirs) in enumerate(zip(english.cells, japanese.cells, strict=True)):
        if mine.cell_type != "markdown":
            continue
        if is_going_further(mine):
            assert JAPANESE_FURTHER.match(theirs.source.strip()), f"cell {index}: not さらに詳しく"
        levels = re.findall(r"^(#+) ", mine.source, re.M)
        assert re.findall(r"^(#+) ", theirs.source, re.M) == levels, f"cell {index}: headings"
    english_time = TIME_EN.search(english.cells[0].source)[1]
    japanese_time = TIME_JA.search(japanese.cells[0].source)
    assert japanese_time and japanese_time[1] == english_time, "所要時間 differs from Time"
