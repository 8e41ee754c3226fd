"""Every link inside the built site must lead somewhere: a file that exists and, with a
#fragment, an element with that id. Links to other sites are left alone."""

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    """The ids a page defines and the links (href, src) it makes."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            elif name in ("href", "src") and value:
                self.links.append(value)


def read_page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(errors="replace"))
    return page


def is_inside(link: str) -> bool:
    """Whether link points into the site (not another site, a mail address or a script)."""
    url = urlsplit(link)
    return not (url.scheme or url.netloc) and bool(url.path or url.fragment)


def broken_links(site: Path) -> list[str]:
    """'page: link' for each link inside the site that goes nowhere."""
    # The theme's _static/*.html are templates for Sphinx, not pages anyone opens
    pages = {
        path: read_page(path)
        for path in site.rglob("*.html")
        if path.relative_to(site).parts[0] != "_static"
    }
    broken = []
    for path, page in pages.items():
        for link in filter(is_inside, page.links):
            url = urlsplit(link)
            target = (path.parent / unquote(url.path)).resolve() if url.path else path
            if target.is_dir():
                target = target / "index.html"
            missing = not target.exists()
            if not missing and url.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else read_page(target).ids
                missing = unquote(url.fragment) not in ids
            if missing:
                broken.append(f"{path.relative_to(site)}: {link}")
    return broken
