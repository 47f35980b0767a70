"""The FAQ pages: public, accessible, searchable, with no inline script or style."""

from __future__ import annotations

import re

import pytest

from tests.faq.helpers import write_question
from webapp.faq import services
from webapp.transcript.statuses import faq_slugs


def page(client, url, status=200, **query):
    response = client.get(url, query_string=query)
    assert response.status_code == status
    return response.get_data(as_text=True)


def assert_no_inline_script_or_style(html):
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "style=" not in html
    assert not re.search(r"\son[a-z]+\s*=", html)


def test_index_lists_every_question_by_category_with_a_table_of_contents(client, app):
    library = services.library(app)
    html = page(client, "/faq")
    assert len(library.questions) >= 30
    for question in library.questions:
        assert f'href="/faq/{question.slug}"' in html
    toc = html[html.index('aria-labelledby="faq-toc-heading"'):html.index("</nav>",
               html.index('aria-labelledby="faq-toc-heading"'))]
    for category in library.categories:
        assert f'href="#{category.anchor}"' in toc
        assert f'<h2 id="{category.anchor}">' in html
    assert_no_inline_script_or_style(html)


def test_search_box_is_labelled_and_inside_a_search_landmark(client):
    html = page(client, "/faq")
    assert 'role="search"' in html
    assert '<label for="faq-q">Search the questions</label>' in html
    assert 'id="faq-q" name="q"' in html
    assert '<main id="main"' in html and "<h1>" in html


def test_every_question_the_transcript_links_to_exists(client):
    for slug in sorted(faq_slugs()):
        assert "<h1" in page(client, f"/faq/{slug}")


@pytest.mark.parametrize("query,slug", [
    ("opt out", "opting-out"), ("opting-out", "opting-out"), ("CME Passport", "cme-passport"),
    ("delay", "when-credit-is-sent"),
])
def test_search_lists_the_matching_questions(client, query, slug):
    html = page(client, "/faq", q=query)
    assert "answers for" in html or "answer for" in html
    first = re.search(r'<ol class="faq-hits">\s*<li>\s*<a href="/faq/([a-z0-9-]+)"', html)
    assert first and first.group(1) == slug
    assert "<mark>" in html
    assert f'value="{query}"' in html  # the box keeps the query
    assert_no_inline_script_or_style(html)


def test_no_results_suggests_contacting_support(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "SUPPORT_EMAIL", "help@example.org")
    monkeypatch.setitem(app.config, "SUPPORT_PHONE", "555-0100")
    html = page(client, "/faq", q="xylophone")
    assert "No answers for “xylophone”" in html
    results = html[html.index('class="faq-results"'):]
    assert 'href="mailto:help@example.org"' in results
    assert 'href="tel:5550100">555-0100</a>' in results


def test_search_input_is_escaped(client):
    html = page(client, "/faq", q='"><script>alert(1)</script>')
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


def test_question_page_has_related_questions_and_a_copyable_link(client, app):
    html = page(client, "/faq/opting-out")
    assert '<h1 id="faq-title">' in html
    assert 'aria-label="Breadcrumb"' in html
    related = html[html.index('id="faq-related-heading"'):html.index("</aside>")]
    assert 'href="/faq/opting-back-in"' in related
    assert '<label for="faq-share-link">Link to this answer</label>' in html
    field = re.search(r'<input type="url" id="faq-share-link"[^>]*>', html).group(0)
    assert f'value="{app.config["PORTAL_URL"]}/faq/opting-out"' in field
    assert "readonly" in field
    assert '<script src="/static/faq.js" defer></script>' in html
    assert_no_inline_script_or_style(html)


def test_a_long_answer_gets_an_on_this_page_list(client):
    html = page(client, "/faq/opting-out")
    contents = html[html.index('id="faq-contents-heading"'):]
    assert '<a href="#what-it-does-not-do">' in contents


def test_the_copy_script_is_served_locally(client):
    response = client.get("/static/faq.js")
    assert response.status_code == 200
    assert "clipboard" in response.get_data(as_text=True)
    response.close()


def test_unknown_slug_gets_a_helpful_404_with_a_search_box(client):
    html = page(client, "/faq/opting-out-of-sharing", status=404)
    assert "Question not found" in html
    assert 'role="search"' in html and '<label for="faq-q">' in html
    assert 'value="opting out of sharing"' in html
    suggestions = html[html.index('id="faq-suggestions-heading"'):]
    assert 'href="/faq/opting-out"' in suggestions
    assert "mailto:" in html


def test_faq_is_public_and_linked_from_the_navigation(client):
    html = page(client, "/")
    assert '<a href="/faq"' in html
    assert page(client, "/faq")


def test_questions_from_another_directory_are_shown(client, faq_dir):
    write_question(faq_dir, "only-one", "Just this.", title="The only question", category="Solo")
    html = page(client, "/faq")
    assert "The only question" in html and "Solo" in html
    assert 'href="/faq/opting-out"' not in html
