"""How much a learner reads in each notebook, and how long a notebook takes.

The main path is every markdown cell but the "Going further" ones: a Going further cell is a
markdown cell that is one collapsed ``<details>`` block, placed at the end of a section::

    <details>
    <summary>Going further: the title</summary>

    Text for the curious, in ordinary Markdown (no headings).

    </details>

The minutes a notebook takes are reading (at 120 words a minute, a second-language reader's
pace), running and reading each code cell, and the exercises.

    python -m workbook.reading    a table of words and minutes per notebook (scripts/count-words)
"""

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .paths import REPO_DIR

NOTEBOOKS_DIR = REPO_DIR / "notebooks"
# The whole main path, 00 to the last notebook, in words
MAIN_PATH_BUDGET = 12_000
WORDS_PER_MINUTE = 120
# Shift-Enter, a look at the output: a code cell takes a learner this long on average
SECONDS_PER_CODE_CELL = 15
MINUTES_PER_EXERCISE = 4
GOING_FURTHER = re.compile(
    r"\A<details>\s*<summary>Going further: [^<]+</summary>\n\n.+\n\n</details>\Z", re.S
)
TIME_LINE = re.compile(r"^\*\*Time\*\*: about (\d+) minutes\.$", re.M)
WORD = re.compile(r"\S+")


def is_going_further(cell: nbformat.NotebookNode) -> bool:
    """Whether cell is a collapsed Going further block (outside the main path)."""
    return cell.cell_type == "markdown" and cell.source.lstrip().startswith("<details>")


def is_solution(cell: nbformat.NotebookNode) -> bool:
    return "solution" in cell.metadata.get("tags", [])


@dataclass(frozen=True)
class Reading:
    """One notebook's reading: words on the main path and aside, code cells, exercises."""

    path: Path
    main_words: int
    further_words: int
    code_cells: int
    exercises: int
    stated_minutes: int | None

    @property
    def estimated_minutes(self) -> int:
        """Reading, running and exercises, rounded up to whole minutes."""
        reading = self.main_words / WORDS_PER_MINUTE
        running = self.code_cells * SECONDS_PER_CODE_CELL / 60
        return math.ceil(reading + running + self.exercises * MINUTES_PER_EXERCISE)


def words(text: str) -> int:
    return len(WORD.findall(text))


def read(path: Path) -> Reading:
    notebook = nbformat.read(path, as_version=4)
    markdown = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
    further = [cell for cell in markdown if is_going_further(cell)]
    main = [cell for cell in markdown if not is_going_further(cell)]
    time_line = next(filter(None, (TIME_LINE.search(cell.source) for cell in main)), None)
    return Reading(
        path=path,
        main_words=sum(words(cell.source) for cell in main),
        further_words=sum(words(cell.source) for cell in further),
        code_cells=sum(
            cell.cell_type == "code" and not is_solution(cell) for cell in notebook.cells
        ),
        exercises=sum(map(is_solution, notebook.cells)),
        stated_minutes=int(time_line.group(1)) if time_line else None,
    )


def notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def report(readings: list[Reading]) -> str:
    columns = ("main", 6), ("further", 7), ("cells", 5), ("ex.", 3), ("est.", 5), ("says", 5)
    lines = [f"{'notebook':36} " + " ".join(f"{name:>{width}}" for name, width in columns)]
    for reading in readings:
        lines.append(
            f"{reading.path.stem:36} {reading.main_words:6,} {reading.further_words:7,} "
            f"{reading.code_cells:5} {reading.exercises:3} {reading.estimated_minutes:5} "
            f"{reading.stated_minutes or '-':>5}"
        )
    total = sum(reading.main_words for reading in readings)
    lines.append(f"main path: {total:,} words (budget {MAIN_PATH_BUDGET:,})")
    return "\n".join(lines)


def main() -> int:
    readings = [read(path) for path in notebooks()]
    print(report(readings))
    return 0 if sum(reading.main_words for reading in readings) <= MAIN_PATH_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
