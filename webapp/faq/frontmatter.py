"""Front matter: the ``key: value`` block between ``---`` lines at the top of a question file.

Deliberately a tiny strict format rather than YAML: every value is one line of
text, so authors cannot trip over YAML's typing rules, and a typo in a key is
reported instead of silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REQUIRED = ("title", "slug", "category", "order", "keywords")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_KEY_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:(.*)$")
_FENCE = "---"


class FrontMatterError(ValueError):
    """The file's front matter is missing or malformed; the message says how."""


@dataclass(frozen=True)
class FrontMatter:
    title: str
    slug: str
    category: str
    order: int
    keywords: tuple[str, ...]


def split(text: str) -> tuple[dict[str, str], str]:
    """Split a file into its raw front matter fields and its markdown body."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != _FENCE:
        raise FrontMatterError("no front matter: the file must start with a line '---'")
    fields: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == _FENCE:
            return fields, "\n".join(lines[number:])
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _KEY_RE.match(line)
        if not match:
            raise FrontMatterError(f"line {number}: expected 'key: value', got {line.strip()!r}")
        key, value = match.group(1).lower(), match.group(2).strip()
        if key in fields:
            raise FrontMatterError(f"line {number}: {key!r} is given twice")
        fields[key] = value
    raise FrontMatterError("the front matter is not closed by a line '---'")


def parse(fields: dict[str, str]) -> FrontMatter:
    """Validate raw fields; every problem is listed in one error, separated by '; '."""
    problems = []
    unknown = sorted(set(fields) - set(REQUIRED))
    if unknown:
        problems.append("unknown front matter field(s): " + ", ".join(unknown))
    missing = [key for key in REQUIRED if not fields.get(key, "").strip()]
    if missing:
        problems.append("missing front matter field(s): " + ", ".join(missing))
    slug = fields.get("slug", "").strip()
    if slug and not SLUG_RE.match(slug):
        problems.append(f"slug {slug!r} must be lower-case letters and digits joined by hyphens")
    order_text = fields.get("order", "").strip()
    order = 0
    if order_text:
        try:
            order = int(order_text)
        except ValueError:
            problems.append(f"order must be a whole number, got {order_text!r}")
    keywords = tuple(k.strip() for k in fields.get("keywords", "").split(",") if k.strip())
    if problems:
        raise FrontMatterError("; ".join(problems))
    return FrontMatter(
        title=fields["title"].strip(), slug=slug, category=fields["category"].strip(),
        order=order, keywords=keywords,
    )
