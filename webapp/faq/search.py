"""Search over question titles, keywords and answer text.

Small enough to keep in memory and rank in Python: about thirty questions.
Words are folded (case, accents), split on anything that is not a letter or a
digit (so "opt-out" is "opt out") and reduced by a light suffix stripper (so
"opting", "opted" and "opt" meet). A title match outweighs any number of
keyword matches of the same word, which outweigh any number of body matches.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from webapp.faq.content import Question

#: Longest query looked at; the rest is ignored.
MAX_QUERY = 200

TITLE_WEIGHT = 20.0
KEYWORD_WEIGHT = 6.0
#: Keyword hits count at most twice, body hits are damped and capped: see ``_term_score``.
KEYWORD_CAP = 2
BODY_CAP = 5.0
PHRASE_BONUS = {"title": 10.0, "keywords": 5.0, "body": 2.0}

_WORD_RE = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset("""
a an and are as at be been but by can could do does doesn don for from had has have how
i if in into is isn it its me my of on or our s should so t than that the their them then
there these they this to too up was we were what when where which who why will with would
you your yours
""".split())
#: Words people write as one that the content writes as two.
_SPLITS = {"optout": ("opt", "out"), "optin": ("opt", "in"), "optedout": ("opt", "out"),
           "cmepassport": ("cme", "passport")}


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(word: str) -> str:
    """A deliberately light English suffix stripper; consistent, not linguistically exact."""
    if len(word) <= 3 or word.isdigit():
        if len(word) == 3 and word.endswith("s") and word[1] not in "asu":
            return word[:2]  # ids -> id
        return word
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # submitted -> submit
            return _drop_e(base)
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return _drop_e(word[:-2])
    if word.endswith("ses") and len(word) > 4:  # licenses, statuses
        return _drop_e(word[:-1])
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return _drop_e(word[:-1])
    return _drop_e(word)


def _drop_e(word: str) -> str:
    # share/shared/sharing all become "shar"
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def words(text: str) -> Iterable[re.Match[str]]:
    return _WORD_RE.finditer(fold(text))


def terms(text: str) -> list[str]:
    """The searchable terms of ``text``, in order, stop words left out."""
    found: list[str] = []
    for match in words(text):
        word = match.group(0)
        for part in _SPLITS.get(word, (word,)):
            if part not in STOPWORDS:
                found.append(stem(part))
    return found


def _contains(sequence: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(list(sequence[i:i + n]) == list(phrase) for i in range(len(sequence) - n + 1))


@dataclass(frozen=True)
class _Document:
    question: Question
    title: tuple[str, ...]
    keywords: tuple[str, ...]
    body: tuple[str, ...]
    counts: dict[str, Counter[str]]


@dataclass(frozen=True)
class Segment:
    text: str
    match: bool


@dataclass(frozen=True)
class Hit:
    question: Question
    score: float
    matched: int
    #: Part of the answer around the first match, with matching words marked.
    snippet: tuple[Segment, ...]


@dataclass(frozen=True)
class Results:
    query: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    #: No question had every word; these match some of them.
    partial: bool


class Index:
    def __init__(self, documents: list[_Document]) -> None:
        self._documents = documents
        frequency: Counter[str] = Counter()
        for doc in documents:
            frequency.update(set(doc.title) | set(doc.keywords) | set(doc.body))
        total = max(len(documents), 1)
        # Rarer words count for more when a query has several.
        self._idf = {term: math.log(1 + total / df) for term, df in frequency.items()}

    @classmethod
    def build(cls, questions: Iterable[Question]) -> Index:
        documents = []
        for question in questions:
            title = tuple(terms(question.title))
            keywords = tuple(terms(" , ".join(question.keywords)))
            body = tuple(terms(question.body.text))
            documents.append(_Document(
                question, title, keywords, body,
                {"title": Counter(title), "keywords": Counter(keywords), "body": Counter(body)},
            ))
        return cls(documents)

    def search(self, query: str) -> Results:
        query = " ".join(query.split())[:MAX_QUERY]
        wanted = list(dict.fromkeys(terms(query)))
        if not wanted:
            return Results(query, (), (), False)
        scored = []
        for doc in self._documents:
            matched = [t for t in wanted if any(doc.counts[f][t] for f in doc.counts)]
            if not matched:
                continue
            score = sum(self._idf.get(t, 0.0) * _term_score(doc, t) for t in matched)
            if len(wanted) > 1:
                for name, sequence in (("title", doc.title), ("keywords", doc.keywords),
                                       ("body", doc.body)):
                    if _contains(sequence, wanted):
                        score += PHRASE_BONUS[name]
            scored.append((len(matched), score, doc))
        complete = [item for item in scored if item[0] == len(wanted)]
        chosen = complete or scored
        chosen.sort(key=lambda item: (-item[0], -item[1], item[2].question.order))
        hits = tuple(
            Hit(doc.question, round(score, 3), n, snippet(doc.question.body.text, set(wanted)))
            for n, score, doc in chosen
        )
        return Results(query, tuple(wanted), hits, partial=bool(hits) and not complete)


def _term_score(doc: _Document, term: str) -> float:
    title = doc.counts["title"][term]
    keywords = min(doc.counts["keywords"][term], KEYWORD_CAP)
    body = doc.counts["body"][term]
    body_score = min(1 + math.log(body), BODY_CAP) if body else 0.0
    return TITLE_WEIGHT * min(title, 1) + KEYWORD_WEIGHT * keywords + body_score


def snippet(text: str, wanted: set[str], width: int = 28) -> tuple[Segment, ...]:
    """About ``width`` words of ``text`` around the first word matching ``wanted``."""
    spans = [(m.start(), m.end()) for m in _WORD_RE.finditer(fold(text))]
    if len(fold(text)) != len(text):  # folding changed lengths: fall back to the opening words
        spans = []
    hits = [i for i, (s, e) in enumerate(spans) if _matches(text[s:e], wanted)]
    if not hits:
        opening = " ".join(text.split()[:width])
        return (Segment(opening + (" …" if len(text.split()) > width else ""), False),)
    first = hits[0]
    start_word = max(first - width // 3, 0)
    end_word = min(start_word + width, len(spans)) - 1
    start, end = spans[start_word][0], spans[end_word][1]
    segments: list[Segment] = [Segment("… ", False)] if start_word else []
    cursor = start
    for i in range(start_word, end_word + 1):
        s, e = spans[i]
        if _matches(text[s:e], wanted):
            if s > cursor:
                segments.append(Segment(text[cursor:s], False))
            segments.append(Segment(text[s:e], True))
            cursor = e
    if end > cursor:
        segments.append(Segment(text[cursor:end], False))
    if end_word < len(spans) - 1:
        segments.append(Segment(" …", False))
    return tuple(segments)


def _matches(word: str, wanted: set[str]) -> bool:
    return any(part in wanted for part in terms(word))
