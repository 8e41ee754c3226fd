"""The notebooks as a learner reads them: a main path short enough to read, asides collapsed,
Time lines that match the work, solutions that do not give themselves away, and a way on."""

import re

import nbformat
import pytest

from workbook.reading import (
    GOING_FURTHER,
    MAIN_PATH_BUDGET,
    is_going_further,
    is_solution,
    notebooks,
    read,
)

NOTEBOOKS = notebooks()
SOLUTION_FIRST_LINE = "# Solution"


def notebook_id(path) -> str:
    return path.stem


def test_the_main_path_fits_its_budget():
    """All notebooks' markdown outside Going further blocks: at most 12,000 words."""
    total = sum(read(path).main_words for path in NOTEBOOKS)
    assert total <= MAIN_PATH_BUDGET, f"{total:,} words on the main path"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_the_time_line_matches_reading_running_and_exercises(path):
    """**Time** is the estimate (120 words a minute, each cell, each exercise) rounded up to
    five minutes: neither less, which leaves a room behind, nor padded."""
    reading = read(path)
    assert reading.stated_minutes is not None, "no '**Time**: about N minutes.' line"
    expected = -(-reading.estimated_minutes // 5) * 5
    assert reading.stated_minutes == expected, (
        f"says {reading.stated_minutes} minutes, the estimate is {reading.estimated_minutes}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_going_further_blocks_are_whole_collapsed_cells(path):
    """Every <details> is a cell of its own in the one convention, with no heading inside
    (a heading would break the notebook's outline and the site's table of contents)."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        if is_going_further(cell):
            assert GOING_FURTHER.match(cell.source.strip()), f"cell {index}: not the convention"
            assert not re.search(r"^#", cell.source, re.M), f"cell {index}: a heading inside"
        else:
            assert "<details>" not in cell.source, f"cell {index}: <details> inside other text"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_solutions_start_with_a_neutral_line(path):
    """JupyterLab shows a collapsed cell's first line: it must not be the answer."""
    notebook = nbformat.read(path, as_version=4)
    solutions = [cell for cell in notebook.cells if is_solution(cell)]
    for cell in solutions:
        assert cell.metadata.get("jupyter", {}).get("source_hidden"), "a solution not collapsed"
        first = cell.source.splitlines()[0]
        assert first.startswith(SOLUTION_FIRST_LINE), f"first line gives it away: {first!r}"


@pytest.mark.parametrize("path", NOTEBOOKS[:-1], ids=notebook_id)
def test_next_names_the_next_notebook(path):
    """The last "Next:" points at the notebook that follows."""
    notebook = nbformat.read(path, as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    nexts = re.findall(r"^Next: (.*)$", text, re.M)
    position = NOTEBOOKS.index(path)
    assert nexts, "no 'Next:' line at the end"
    following = NOTEBOOKS[position + 1].stem[:2]
    assert re.search(rf"\b{following}\b", nexts[-1]), f"'Next: {nexts[-1]}' skips {following}"
