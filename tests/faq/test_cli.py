"""``flask faq check``: exit status and one clear message per problem, naming the file."""

from __future__ import annotations

import pytest

from tests.faq.helpers import write_question


def run_check(app):
    return app.test_cli_runner().invoke(args=["faq", "check"])


def test_the_real_content_passes(app):
    result = run_check(app)
    assert result.exit_code == 0, result.output
    assert "FAQ check passed: " in result.output
    assert " questions in 7 categories" in result.output


def test_a_clean_directory_passes(app, transcript_questions):
    write_question(transcript_questions, "linked",
                   "See [this](/faq/opting-out), [that](/faq/opting-out#top), "
                   "[home](/), [all](/faq?q=board) and [ACCME](https://www.accme.org/).\n\n"
                   "## Top\n\nAnd [back up](#top).")
    (transcript_questions / "notes.txt").write_text("not a question")
    write_question(transcript_questions, "opting-out", "## Top\n\nText.", filename="opting-out.md")
    result = run_check(app)
    assert result.exit_code == 0, result.output


def test_missing_transcript_questions_are_listed(app, faq_dir):
    write_question(faq_dir, "alone")
    result = run_check(app)
    assert result.exit_code == 1
    assert "no question with slug 'opting-out', which the transcript links to" in result.output
    assert "no question with slug 'board-rejected'" in result.output
    from webapp.transcript.statuses import faq_slugs

    assert f"FAQ check failed: {len(faq_slugs())} problem(s) in {faq_dir}" in result.output


@pytest.mark.parametrize("body,front,needle", [
    ("Text.", {"title": None}, "missing front matter field(s): title"),
    ("Text.", {"keywords": None, "order": "soon"},
     "missing front matter field(s): keywords; order must be a whole number"),
    ("See [x](/faq/no-such-question).", {},
     "link '/faq/no-such-question': there is no question with slug 'no-such-question'"),
    ("See [x](/faq/opting-out#nowhere).", {},
     "link '/faq/opting-out#nowhere': question 'opting-out' has no heading with id 'nowhere'"),
    ("See [x](#missing).", {}, "link '#missing': no heading with id 'missing' in this question"),
    ("See [x](opting-out).", {}, "link 'opting-out' is relative"),
    ("See [x](/no/such/page).", {}, "link '/no/such/page': no page at '/no/such/page'"),
    ("See [x](http://127.0.0.1:5000/faq/gone).", {},
     "link 'http://127.0.0.1:5000/faq/gone': there is no question with slug 'gone'"),
    ("Hello {{ institution }}.", {}, "unknown placeholder '{{ institution }}'"),
    ("Text.", {"title": "About {{ instituton_name }}"}, "unknown placeholder"),
    ("# A second title\n\nText.", {}, "line 8: top-level heading '# A second title'"),
])
def test_each_problem_fails_the_check_with_the_file_name(app, transcript_questions, body, front,
                                                          needle):
    write_question(transcript_questions, "opting-out", "## Top\n\nText.")
    write_question(transcript_questions, "bad", body, filename="bad-question.md", **front)
    result = run_check(app)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert errors[0].startswith(f"error: {transcript_questions / 'bad-question.md'}: ")
    assert needle in errors[0]


def test_duplicate_slugs_fail_the_check(app, transcript_questions):
    write_question(transcript_questions, "twice", filename="first.md")
    write_question(transcript_questions, "twice", filename="second.md")
    result = run_check(app)
    assert result.exit_code == 1
    assert "second.md: duplicate slug 'twice', also in first.md" in result.output


def test_code_blocks_may_show_headings_and_braces_literally(app, transcript_questions):
    write_question(transcript_questions, "code", "```\n# not a heading\n```\n\nFine.")
    assert run_check(app).exit_code == 0


def test_every_problem_is_reported_not_only_the_first(app, transcript_questions):
    write_question(transcript_questions, "one", "[x](/faq/nope) {{ nope }}")
    write_question(transcript_questions, "two", title=None)
    result = run_check(app)
    assert result.exit_code == 1
    assert result.output.count("error: ") == 3
    assert "FAQ check failed: 3 problem(s)" in result.output
