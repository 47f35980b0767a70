"""Random input to the importer and the FAQ renderer: a clean result or a clean error, never
an exception, and nothing changed by a rejected file.

Deterministic (derandomized) and modest in size so the suite stays fast on a small machine.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from flask import current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.credits.test_import import BASE
from webapp.credits.importer import ImportRejected, import_credits
from webapp.credits.validation import COLUMNS
from webapp.faq import content, frontmatter
from webapp.models import (
    Activity,
    AuditEvent,
    BoardCertification,
    BoardCredit,
    Completion,
    ConsentEvent,
    ImportRow,
    Learner,
    License,
)
from webapp.pars.policy import Policy

FUZZ = settings(max_examples=50, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
MODELS = (Learner, Activity, Completion, BoardCredit, License, BoardCertification, ConsentEvent,
          AuditEvent, ImportRow)
TODAY = dt.date(2026, 11, 27)


def _state(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in MODELS)


def _import_cleanly(session, data: bytes) -> None:
    before = _state(session)
    try:
        import_credits(session, io.BytesIO(data), policy=Policy.from_config(current_app.config),
                       today=TODAY)
    except ImportRejected as rejected:
        assert rejected.errors, "a rejection names at least one error"
        for error in rejected.errors:
            text = str(error)
            assert text.startswith(("line ", "file")), text
            assert text.isprintable(), text
        assert _state(session) == before


HEADER = ",".join(COLUMNS).encode() + b"\n"
_CSV_BYTES = st.sampled_from([b",", b'"', b"\n", b"\r", b"\r\n", b"\x00", b"\xef\xbb\xbf", b"\xff",
                              b"1", b"a", b"-", b".", b"e", b"MD", b"2024-05-01", b"ABIM", b" ",
                              b"\x1b[2J", "\u202e".encode()])


@FUZZ
@given(data=st.one_of(
    st.binary(max_size=600),
    st.lists(_CSV_BYTES, max_size=200).map(b"".join),
    st.lists(_CSV_BYTES, max_size=200).map(lambda parts: HEADER + b"".join(parts)),
))
def test_random_csv_bytes_end_cleanly(db_session, data):
    _import_cleanly(db_session, data)


_CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "0", "0.25", "1e400", "-1", "NaN", "Infinity", "1e-400", "MD",
                     "ABIM", "ABS", "Medical Knowledge", "yes", "no", "MI", "04-17", "02-30",
                     "2024-05-01", "9999-12-31", "a@b.org", "\x00", "\u212a@example.org",
                     "x" * 600]),
)


@FUZZ
@given(rows=st.lists(
    st.fixed_dictionaries({}, optional={column: _CELL for column in COLUMNS}),
    min_size=1, max_size=4,
))
def test_random_rows_end_cleanly(db_session, rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(BASE), lineterminator="\n")
    writer.writeheader()
    writer.writerows([BASE | row for row in rows])
    _import_cleanly(db_session, out.getvalue().encode("utf-8", errors="surrogatepass"))


_MARKDOWN = st.one_of(
    st.text(max_size=800),
    st.lists(st.sampled_from(["*", "_", "[", "]", "(", ")", "<", ">", "#", "`", "!", "-", "+",
                              "|", "\\", ":", "/", " ", "\n", "\t", "x", "1.", "&", ";", "\"",
                              "'", "{#a}", "{{ portal_url }}", "<script>", "javascript:",
                              "<a href=", "```", "~~~", "    ", "---", "\u202e"]),
             max_size=400).map("".join),
)


@FUZZ
@given(body=_MARKDOWN)
def test_random_markdown_renders_or_is_refused_cleanly(tmp_path_factory, body):
    directory: Path = tmp_path_factory.mktemp("faq")
    path = directory / "q.md"
    path.write_text("---\ntitle: T\nslug: q\ncategory: C\norder: 1\nkeywords: k\n---\n" + body,
                    encoding="utf-8", errors="surrogatepass")
    try:
        question = content.load_file(path, {})
    except (frontmatter.FrontMatterError, UnicodeDecodeError):
        return
    assert "<script" not in question.body.html.lower()
    for href in question.body.links:
        assert not href.strip().lower().startswith(("javascript:", "data:", "vbscript:")), href
    library = content.load_directory(directory, {})
    assert [q.slug for q in library.questions] == ["q"]
