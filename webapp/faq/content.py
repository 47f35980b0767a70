"""Question files on disk, loaded into an immutable ``Library``.

Loading never raises for a bad file: it records a ``Problem`` and leaves the
file out, so one broken question cannot take the FAQ down; ``flask faq check``
turns the problems into a failing exit code before anything ships.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from webapp.faq import frontmatter, placeholders
from webapp.faq.placeholders import Value
from webapp.faq.rendering import Rendered, render
from webapp.faq.search import Index


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class Question:
    path: Path
    slug: str
    #: Placeholders filled in.
    title: str
    category: str
    order: int
    keywords: tuple[str, ...]
    body: Rendered
    #: The markdown as written, placeholders unfilled (for checks).
    source: str


@dataclass(frozen=True)
class Category:
    name: str
    anchor: str
    questions: tuple[Question, ...]


class Library:
    """The loaded questions of one FAQ directory, in display order. Not changed after loading."""

    def __init__(self, questions: list[Question], problems: list[Problem]) -> None:
        self.questions = tuple(questions)
        self.problems = tuple(problems)
        self.categories = _group(self.questions)
        self.index = Index.build(self.questions)
        self._by_slug = {q.slug: q for q in self.questions}

    def get(self, slug: str) -> Question | None:
        return self._by_slug.get(slug)

    def related(self, question: Question, limit: int = 5) -> list[Question]:
        """Questions in the same category and/or sharing keywords, closest first."""
        own = {k.casefold() for k in question.keywords}
        scored = []
        for other in self.questions:
            if other.slug == question.slug:
                continue
            shared = len(own & {k.casefold() for k in other.keywords})
            score = shared + (2 if other.category == question.category else 0)
            if score:
                scored.append((-score, other.order, other.title.casefold(), other))
        scored.sort(key=lambda item: item[:3])
        return [item[-1] for item in scored[:limit]]


def question_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.md") if p.is_file())


#: The longest question file is a few KB; markdown's cost grows faster than its size.
MAX_FILE_BYTES = 32 * 1024
#: Deepest nesting of link brackets, and longest run of emphasis marks, a question may have.
MAX_BRACKET_DEPTH = 8
MAX_EMPHASIS_RUN = 12
_EMPHASIS_RUN = re.compile(rf"[*_]{{{MAX_EMPHASIS_RUN + 1},}}")


class ContentTooComplex(frontmatter.FrontMatterError):
    """A file over the size or nesting limits: refused before markdown sees it."""


def _check_limits(body: str) -> None:
    depth = deepest = 0
    escaped = False
    for ch in body:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == "]" and depth:
            depth -= 1
    if deepest > MAX_BRACKET_DEPTH:
        raise ContentTooComplex(f"link brackets nested {deepest} deep; at most "
                                f"{MAX_BRACKET_DEPTH} are allowed")
    run = _EMPHASIS_RUN.search(body)
    if run:
        line = body.count("\n", 0, run.start()) + 1
        raise ContentTooComplex(f"body line {line}: a run of {len(run.group())} emphasis marks "
                                f"('*' or '_'); at most {MAX_EMPHASIS_RUN} are allowed")


def load_file(path: Path, known: Mapping[str, Value]) -> Question:
    """One question; raises ``frontmatter.FrontMatterError`` or ``UnicodeDecodeError``."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ContentTooComplex(f"the file is {size:,} bytes; a question may have at most "
                                f"{MAX_FILE_BYTES:,}")
    text = path.read_text(encoding="utf-8")
    fields, body = frontmatter.split(text)
    meta = frontmatter.parse(fields)
    if not body.strip():
        raise frontmatter.FrontMatterError("the question has no answer text after the front matter")
    _check_limits(body)
    return Question(
        path=path,
        slug=meta.slug,
        title=placeholders.fill_text(meta.title, known),
        category=meta.category,
        order=meta.order,
        keywords=tuple(placeholders.fill_text(k, known) for k in meta.keywords),
        body=render(body, known),
        source=text,
    )


def category_anchor(name: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in name.casefold()).split()
    return "faq-category-" + "-".join(words)


def load_directory(directory: Path, known: Mapping[str, Value]) -> Library:
    """Every ``*.md`` file in ``directory``; broken files become problems, not exceptions."""
    questions: list[Question] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    if not directory.is_dir():
        problems.append(Problem(directory, "FAQ directory does not exist"))
    for path in question_files(directory) if directory.is_dir() else []:
        try:
            question = load_file(path, known)
        except frontmatter.FrontMatterError as exc:
            problems.append(Problem(path, str(exc)))
            continue
        except UnicodeDecodeError:
            problems.append(Problem(path, "not UTF-8 text"))
            continue
        except RecursionError:
            problems.append(Problem(path, "too deeply nested to render; simplify the markdown"))
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file must not take the FAQ down
            problems.append(Problem(path, f"could not be loaded or rendered: "
                                          f"{type(exc).__name__}: {exc}"))
            continue
        if question.slug in seen:
            first = seen[question.slug].name
            problems.append(Problem(path, f"duplicate slug {question.slug!r}, also in {first}"))
            continue
        seen[question.slug] = path
        questions.append(question)
    questions.sort(key=lambda q: (q.order, q.title.casefold()))
    return Library(questions, problems)


def _group(questions: Iterable[Question]) -> tuple[Category, ...]:
    """Categories in the order of their first question (questions arrive sorted by order)."""
    grouped: dict[str, list[Question]] = {}
    for question in questions:
        grouped.setdefault(question.category, []).append(question)
    return tuple(
        Category(name, category_anchor(name), tuple(items)) for name, items in grouped.items()
    )
