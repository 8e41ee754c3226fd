"""The instructor guide keeps up with the notebooks: each one's time is its own Time line,
and the schedule's clock adds up."""

import re
from datetime import datetime, timedelta

import nbformat

from workbook import REPO_DIR

GUIDE = REPO_DIR / "docs" / "instructor.md"
ROW = re.compile(r"^\| (\d\d:\d\d) \| (.+?) \| (\d*) \|$", re.MULTILINE)


def schedule() -> list[tuple[str, str, str]]:
    """The schedule table's rows: (clock time, what, minutes)."""
    return ROW.findall(GUIDE.read_text())


def notebook_minutes() -> dict[str, int]:
    """Each notebook's minutes, from the **Time** line of its first cell."""
    minutes = {}
    for path in sorted((REPO_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        first = nbformat.read(path, as_version=4).cells[0].source
        minutes[path.stem] = int(re.search(r"\*\*Time\*\*: about (\d+) minutes", first)[1])
    return minutes


def test_every_notebook_has_its_own_time():
    """Each notebook appears once in the schedule, with the minutes its Time line gives."""
    rows = {what.strip("`"): int(minutes) for _, what, minutes in schedule() if minutes}
    for name, minutes in notebook_minutes().items():
        assert rows.get(name) == minutes, f"{name}: {rows.get(name)} in the guide, {minutes} in it"


def test_the_clock_adds_up():
    """Each row starts when the one before it ends."""
    rows = schedule()
    for (start, what, minutes), (following, _, _) in zip(rows, rows[1:], strict=False):
        end = datetime.strptime(start, "%H:%M") + timedelta(minutes=int(minutes))
        assert end.strftime("%H:%M") == following, f"{what} ends at {end:%H:%M}"


def test_the_readme_links_the_guide():
    assert "(docs/instructor.md)" in (REPO_DIR / "README.md").read_text()
