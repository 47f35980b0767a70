"""Hostile or broken question files: each becomes a problem naming the file, never a 500."""

from __future__ import annotations

from tests.faq.helpers import write_question

STARS = "*" * 2000 + "x" + "*" * 2000


def test_deep_emphasis_is_a_problem_and_the_other_questions_are_served(app, client,
                                                                        transcript_questions):
    bad = write_question(transcript_questions, "stars", STARS)
    write_question(transcript_questions, "fine", "A fine answer.")
    assert client.get("/faq").status_code == 200
    assert client.get("/faq/fine").status_code == 200
    assert client.get("/faq/stars").status_code == 404
    result = app.test_cli_runner().invoke(args=["faq", "check"])
    assert result.exit_code == 1
    assert f"{bad}: body line 1: a run of 2000 emphasis marks" in result.output
    assert "Traceback" not in result.output


def test_nested_link_brackets_are_refused_before_rendering(app, client, transcript_questions,
                                                           monkeypatch):
    from webapp.faq import content

    real, rendered = content.render, []

    def recording(body, known):
        rendered.append(body)
        return real(body, known)

    monkeypatch.setattr(content, "render", recording)
    bad = write_question(transcript_questions, "brackets", "[" * 12000 + "x" + "]" * 12000)
    assert client.get("/faq").status_code == 200
    # Refused by the cheap nesting check: the markdown engine never sees it (it takes
    # seconds on such input), so no speed of machine makes this test pass or fail.
    assert rendered and not any(body.startswith("[[[") for body in rendered)
    result = app.test_cli_runner().invoke(args=["faq", "check"])
    assert f"{bad}: link brackets nested 12000 deep; at most 8 are allowed" in result.output


def test_an_oversized_file_is_refused(app, transcript_questions):
    bad = write_question(transcript_questions, "big", "word " * 10000)
    result = app.test_cli_runner().invoke(args=["faq", "check"])
    assert result.exit_code == 1
    assert f"{bad}: the file is 50,0" in result.output
    assert "a question may have at most 32,768" in result.output


def test_any_failure_while_rendering_names_the_file(app, client, transcript_questions,
                                                    monkeypatch):
    from webapp.faq import content

    real = content.render

    def explode(body, known):
        if "boom" in body:
            raise RecursionError("maximum recursion depth exceeded")
        return real(body, known)

    monkeypatch.setattr(content, "render", explode)
    bad = write_question(transcript_questions, "boom", "boom")
    write_question(transcript_questions, "calm", "calm")
    assert client.get("/faq/calm").status_code == 200
    result = app.test_cli_runner().invoke(args=["faq", "check"])
    assert f"{bad}: too deeply nested to render" in result.output


def test_check_reports_raw_html_and_unsafe_links_it_drops(app, client, transcript_questions):
    bad = write_question(transcript_questions, "raw",
                         "Hello <script>alert(1)</script> and <b onclick=\"x()\">bold</b>.\n\n"
                         "[click](javascript:alert(1)) and <!-- secret -->\n\n"
                         "```python\ncode\n```\n\n[fine](https://www.accme.org/)")
    html = client.get("/faq/raw").get_data(as_text=True)
    assert "<script>alert" not in html and "javascript:" not in html
    result = app.test_cli_runner().invoke(args=["faq", "check"])
    assert result.exit_code == 1
    output = result.output
    assert f"{bad}: <script> is removed from the page (raw HTML and images are not shown); " \
        "write markdown instead" in output
    assert f"{bad}: attribute 'onclick' on <b> is removed" in output
    assert f"{bad}: link 'javascript:alert(1)' is removed: only http, https, mailto, tel links " \
        "are allowed" in output
    assert f"{bad}: an HTML comment is removed from the page" in output
    assert "accme" not in output and "<code>" not in output
