"""Loading question files: front matter, errors per file, ordering, duplicates."""

from __future__ import annotations

import pytest

from tests.faq.helpers import write_question
from webapp.faq import frontmatter
from webapp.faq.content import load_directory
from webapp.faq.placeholders import values_from_config


@pytest.fixture
def known(app):
    return values_from_config(app.config)


def test_a_complete_file_loads(tmp_path, known):
    write_question(tmp_path, "first", "Some **bold** text.\n", title="First question",
                   category="Basics", order=5, keywords="alpha, beta gamma , ")
    library = load_directory(tmp_path, known)
    assert library.problems == ()
    question = library.get("first")
    assert question.title == "First question"
    assert question.category == "Basics"
    assert question.order == 5
    assert question.keywords == ("alpha", "beta gamma")
    assert "<strong>bold</strong>" in question.body.html


@pytest.mark.parametrize("front,needle", [
    ({"title": None}, "missing front matter field(s): title"),
    ({"title": None, "keywords": None}, "missing front matter field(s): title, keywords"),
    ({"category": "  "}, "missing front matter field(s): category"),
    ({"order": "first"}, "order must be a whole number, got 'first'"),
    ({"summary": "x"}, "unknown front matter field(s): summary"),
])
def test_front_matter_errors_name_the_file_and_the_field(tmp_path, known, front, needle):
    write_question(tmp_path, "broken", filename="broken.md", **front)
    write_question(tmp_path, "fine")
    library = load_directory(tmp_path, known)
    assert [q.slug for q in library.questions] == ["fine"]
    [problem] = library.problems
    assert problem.path.name == "broken.md"
    assert needle in problem.message
    assert str(problem).startswith(str(tmp_path / "broken.md") + ": ")


def test_a_slug_must_be_lowercase_words_joined_by_hyphens(tmp_path, known):
    write_question(tmp_path, "Not A Slug", filename="broken.md")
    [problem] = load_directory(tmp_path, known).problems
    assert "slug 'Not A Slug' must be lower-case letters and digits" in problem.message


@pytest.mark.parametrize("text,needle", [
    ("title: x\n---\nbody", "no front matter"),
    ("---\ntitle: x\nslug: y\n", "not closed"),
    ("---\ntitle: a\ntitle: b\n---\nbody", "'title' is given twice"),
    ("---\njust words\n---\nbody", "expected 'key: value'"),
])
def test_malformed_front_matter(text, needle):
    with pytest.raises(frontmatter.FrontMatterError, match=needle):
        frontmatter.split(text)


def test_a_question_needs_answer_text(tmp_path, known):
    write_question(tmp_path, "empty", "\n  \n")
    [problem] = load_directory(tmp_path, known).problems
    assert "no answer text" in problem.message


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path, known):
    (tmp_path / "latin.md").write_bytes("---\ntitle: Caf\xe9\n---\n".encode("latin-1"))
    [problem] = load_directory(tmp_path, known).problems
    assert problem.path.name == "latin.md"
    assert "not UTF-8" in problem.message


def test_duplicate_slugs_keep_the_first_file_and_report_the_second(tmp_path, known):
    write_question(tmp_path, "same", filename="a.md", title="From a")
    write_question(tmp_path, "same", filename="b.md", title="From b")
    library = load_directory(tmp_path, known)
    assert library.get("same").title == "From a"
    [problem] = library.problems
    assert problem.path.name == "b.md"
    assert "duplicate slug 'same', also in a.md" in problem.message


def test_questions_and_categories_follow_the_order_field(tmp_path, known):
    write_question(tmp_path, "late", category="Second", order=200)
    write_question(tmp_path, "early", category="First", order=100)
    write_question(tmp_path, "middle", category="First", order=150)
    write_question(tmp_path, "notes", filename="README.txt")  # not markdown: ignored
    library = load_directory(tmp_path, known)
    assert [c.name for c in library.categories] == ["First", "Second"]
    assert [q.slug for q in library.categories[0].questions] == ["early", "middle"]
    assert library.categories[0].anchor == "faq-category-first"


def test_related_questions_share_a_category_or_keywords(tmp_path, known):
    write_question(tmp_path, "main", category="A", keywords="consent, privacy")
    write_question(tmp_path, "same-category", category="A", keywords="other")
    write_question(tmp_path, "shared-keyword", category="B", keywords="Privacy")
    write_question(tmp_path, "both", category="A", keywords="consent")
    write_question(tmp_path, "unrelated", category="C", keywords="boards")
    library = load_directory(tmp_path, known)
    related = [q.slug for q in library.related(library.get("main"))]
    assert related == ["both", "same-category", "shared-keyword"]


def test_a_missing_directory_is_a_problem_not_a_crash(tmp_path, known):
    library = load_directory(tmp_path / "nowhere", known)
    assert library.questions == ()
    assert "does not exist" in library.problems[0].message
