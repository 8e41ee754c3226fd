"""The documentation keeps up with what it describes: the README stays a two-minute read and
lists the notebooks as they are, the instructor guide's schedule adds up, the chat's page
names every setting, and every relative link leads somewhere."""

import re
from datetime import datetime, timedelta
from pathlib import Path

import nbformat
import pytest

from workbook import CHATPROJECT_DIR, REPO_DIR

README = REPO_DIR / "README.md"
README_JA = REPO_DIR / "README.ja.md"
GUIDE = REPO_DIR / "docs" / "instructor.md"
GUIDE_JA = REPO_DIR / "docs" / "instructor.ja.md"
CHAT_DOC = REPO_DIR / "docs" / "chat.md"
DOCUMENTS = [
    README,
    README_JA,
    *sorted((REPO_DIR / "docs").glob("*.md")),
    REPO_DIR / "benchmarks" / "README.md",
]
ROW = re.compile(r"^\| (\d\d:\d\d) \| (.+?) \| (\d*) \|$", re.MULTILINE)
NOTEBOOK_ROW = re.compile(
    r"^\| \[`(\w+)`\]\(notebooks/(\w+)\.ipynb\) \| (.+?) \| (\d+) \|$", re.MULTILINE
)


def schedule(guide: Path = GUIDE) -> list[tuple[str, str, str]]:
    """The schedule table's rows: (clock time, what, minutes)."""
    return ROW.findall(guide.read_text())


def notebook_headers() -> dict[str, tuple[str, int]]:
    """Each notebook's title and minutes, from the H1 and the **Time** line of its first cell."""
    headers = {}
    for path in sorted((REPO_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        first = nbformat.read(path, as_version=4).cells[0].source
        title = re.match(r"# \d\d · (.+)", first)[1]
        minutes = int(re.search(r"\*\*Time\*\*: about (\d+) minutes", first)[1])
        headers[path.stem] = (title, minutes)
    return headers


def notebook_minutes() -> dict[str, int]:
    """Each notebook's minutes, from the **Time** line of its first cell."""
    return {name: minutes for name, (_, minutes) in notebook_headers().items()}


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


def test_the_japanese_guide_keeps_the_same_day():
    """instructor.ja.md's schedule: the same clock, the same notebooks, the same minutes."""

    def day(guide: Path) -> list[tuple[str, str, str]]:
        return [
            (start, what if what.startswith("`") else "", minutes)
            for start, what, minutes in schedule(guide)
        ]

    assert day(GUIDE_JA) == day(GUIDE)


def test_the_readme_links_the_guide():
    assert "(docs/instructor.md)" in README.read_text()


def test_the_readme_is_a_short_read():
    """The README stays under 6,000 characters; the details live in docs/."""
    assert len(README.read_text()) < 6000


def test_the_readme_shows_the_two_commands():
    """The quick start shows the two commands literally, as CI and newcomers look for them."""
    readme = README.read_text()
    assert "make lab" in readme
    assert "make test" in readme


def test_the_readmes_notebook_table_matches_the_notebooks():
    """Every notebook has a row, linked to its file, with its own title and Time line."""
    rows = {}
    for name, file, title, minutes in NOTEBOOK_ROW.findall(README.read_text()):
        assert file == name, f"{name} links to {file}.ipynb"
        rows[name] = (title, int(minutes))
    assert rows == notebook_headers()


def settings_variables() -> set[str]:
    """The environment variables the chat's settings read."""
    source = (CHATPROJECT_DIR / "chatproject" / "settings.py").read_text()
    return set(re.findall(r'(?:os\.environ\.get|env_list)\(\s*"([A-Z_]+)"', source))


def test_the_chat_page_lists_every_setting():
    """docs/chat.md names each environment variable the settings read."""
    variables = settings_variables()
    assert {"REDIS_URL", "CHAT_CHANNEL_LAYER", "CHAT_PROXY_HOSTS"} <= variables
    text = CHAT_DOC.read_text()
    missing = sorted(name for name in variables if f"`{name}`" not in text)
    assert not missing, f"not in docs/chat.md: {missing}"


def without_code(markdown: str) -> str:
    """The text with fenced code blocks and inline code left out: links there are examples."""
    markdown = re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", markdown)


def relative_links(markdown: str) -> list[str]:
    """The targets of inline links, images and link definitions that name no scheme."""
    text = without_code(markdown)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    targets += re.findall(r"^\[[^\]]+\]:\s*(\S+)", text, flags=re.MULTILINE)
    return [target for target in targets if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings (a repeated one gets -1, -2 …)."""
    slugs: set[str] = set()
    for heading in re.findall(r"^#+ (.+)$", without_code(path.read_text()), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        unique, count = slug, 0
        while unique in slugs:
            count += 1
            unique = f"{slug}-{count}"
        slugs.add(unique)
    return slugs


def test_the_readme_links_every_document():
    """Each page of docs/ and the benchmark's README is one click from the README; the
    Japanese pages from README.ja.md, which the README links."""
    for readme, pages in (
        (README, [path for path in DOCUMENTS if ".ja." not in path.name]),
        (README_JA, [path for path in DOCUMENTS if ".ja." in path.name]),
    ):
        links = {link.partition("#")[0] for link in relative_links(readme.read_text())}
        pages = {str(path.relative_to(REPO_DIR)) for path in pages if path != readme}
        assert pages <= links, sorted(pages - links)


def leads_somewhere(document: Path, link: str) -> bool:
    """Whether a relative link of document names a file that exists, and its heading if any."""
    file, _, anchor = link.partition("#")
    target = (document.parent / file).resolve() if file else document
    if not target.exists():
        return False
    return not anchor or target.suffix != ".md" or anchor in anchors(target)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO_DIR)))
def test_relative_links_lead_somewhere(document):
    """Each relative link names a file that exists, and a heading there if it names one."""
    links = relative_links(document.read_text())
    broken = [link for link in links if not leads_somewhere(document, link)]
    assert not broken, f"{document.name}: {broken}"
