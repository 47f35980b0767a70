"""Markdown to safe HTML: render with Python-Markdown, then sanitise with nh3.

Sanitising comes last, after placeholder values are filled in, so nothing in a
question file or in configuration can put script, event handlers, inline
styles or ``javascript:`` links on the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import markdown
import nh3
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import TocExtension
from markdown.extensions.toc import slugify as _slugify

from webapp.faq.placeholders import Protected, Value

HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
ALLOWED_TAGS = HEADINGS | {
    "p", "br", "hr", "a", "ul", "ol", "li", "strong", "em", "b", "i", "code", "pre",
    "blockquote", "table", "thead", "tbody", "tr", "th", "td", "abbr", "kbd", "sub", "sup",
    "dl", "dt", "dd",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "th": {"align", "scope"},
    "td": {"align"},
    **{tag: {"id"} for tag in HEADINGS},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
#: Ids the page layout uses itself; content must not be able to take them over.
RESERVED_IDS = frozenset({"main"})
RESERVED_ID_PREFIX = "faq-"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "id" and (
        not _ID_RE.match(value) or value in RESERVED_IDS or value.startswith(RESERVED_ID_PREFIX)
    ):
        return None
    if attribute == "align" and value not in {"left", "right", "center"}:
        return None
    return value


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_keep_attribute,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str


@dataclass(frozen=True)
class Rendered:
    html: str
    #: Plain text of the body, for search and snippets.
    text: str
    headings: tuple[Heading, ...]
    #: Every element id in the body (link targets).
    ids: frozenset[str]
    #: Every link target, as written after placeholders were filled in.
    links: tuple[str, ...] = field(default=())
    #: What sanitising removed (raw HTML, unsafe links), for ``flask faq check``.
    dropped: tuple[str, ...] = field(default=())


class _Unsafe(HTMLParser):
    """What ``sanitise`` will remove from rendered markdown, described for authors."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def _note(self, message: str) -> None:
        if message not in self.found:
            self.found.append(message)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h1":
            return  # a '#' heading: the check names its line
        if tag not in ALLOWED_TAGS:
            self._note(f"<{tag}> is removed from the page (raw HTML and images are not shown); "
                       "write markdown instead")
            return
        for name, value in attrs:
            if name == "href" and value is not None:
                scheme = urlsplit(value.strip()).scheme.lower() if ":" in value else ""
                if scheme and scheme not in URL_SCHEMES:
                    self._note(f"link {value[:60]!r} is removed: only "
                               + ", ".join(sorted(URL_SCHEMES)) + " links are allowed")
            elif name.startswith("on") or name == "style":
                self._note(f"attribute {name!r} on <{tag}> is removed")

    def handle_comment(self, data: str) -> None:
        self._note("an HTML comment is removed from the page")


#: Elements whose edges separate words in the plain text.
_BLOCKS = HEADINGS | {"p", "li", "td", "th", "br", "pre", "dd", "dt", "blockquote", "tr"}


class _Inspector(HTMLParser):
    """Collects text, ids, links and headings from sanitised HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.headings: list[Heading] = []
        self._heading: tuple[int, str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"] or "")
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")
        if tag in HEADINGS:
            self._heading = (int(tag[1]), attributes.get("id") or "", [])
        if tag in _BLOCKS:
            self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in HEADINGS and self._heading:
            level, anchor, parts = self._heading
            self.headings.append(Heading(level, anchor, " ".join("".join(parts).split())))
            self._heading = None
        if tag in _BLOCKS:
            self.text.append(" ")

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading:
            self._heading[2].append(data)


def render(body: str, known: Mapping[str, Value]) -> Rendered:
    """Render one question body with this installation's placeholder values."""
    protected = Protected(body, known)

    def slugify(value: str, separator: str) -> str:
        # Anchors come from the heading as the reader sees it, values filled in.
        return _slugify(unescape(protected.restore_text(value)), separator)

    converter = markdown.Markdown(
        extensions=[
            TocExtension(toc_depth="2-4", slugify=slugify),
            TableExtension(use_align_attribute=True),
            "attr_list",  # lets an author pin a heading's anchor: ## Heading {#stable-id}
            "sane_lists",
            "fenced_code",
        ],
        output_format="html",
    )
    raw = protected.restore_html(converter.convert(protected.source))
    unsafe = _Unsafe()
    try:
        unsafe.feed(raw)
        unsafe.close()
    except ValueError:  # nothing the parser cannot read reaches the page unsanitised anyway
        pass
    html = sanitise(raw)
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return Rendered(
        html=html,
        text=" ".join("".join(inspector.text).split()),
        headings=tuple(inspector.headings),
        ids=frozenset(inspector.ids),
        links=tuple(inspector.links),
        dropped=tuple(unsafe.found),
    )
