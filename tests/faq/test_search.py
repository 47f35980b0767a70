"""Search: word variants meet, titles outrank keywords outrank body, real questions are found."""

from __future__ import annotations

import pytest

from tests.faq.helpers import write_question
from webapp.faq import services
from webapp.faq.content import load_directory
from webapp.faq.placeholders import values_from_config
from webapp.faq.search import stem, terms


@pytest.mark.parametrize("variant", ["opt out", "opt-out", "Opting out", "opted out", "OPTOUT"])
def test_variants_of_opt_out_become_the_same_terms(variant):
    assert terms(variant) == ["opt", "out"]


@pytest.mark.parametrize("words", [
    ("share", "shared", "sharing", "shares"),
    ("delay", "delays", "delayed"),
    ("submit", "submitted", "submitting"),
    ("license", "licenses", "licensed"),
    ("id", "ids"),
    ("status", "statuses"),
])
def test_stemming_brings_word_forms_together(words):
    assert len({stem(word) for word in words}) == 1


def test_stop_words_and_accents_are_ignored():
    assert terms("Why is my crédit not in the PARS?") == ["credit", "not", "par"]


@pytest.fixture
def ranked(tmp_path, app):
    write_question(tmp_path, "in-body", "A body that mentions passport once.", title="Body only",
                   keywords="travel", order=1)
    write_question(tmp_path, "in-body-often",
                   "Passport here, passport there, passport everywhere.", title="Body often",
                   keywords="travel", order=2)
    write_question(tmp_path, "in-keywords", "Nothing relevant.", title="Keyword only",
                   keywords="passport", order=3)
    write_question(tmp_path, "in-title", "Nothing relevant.", title="About the passport",
                   keywords="travel", order=4)
    write_question(tmp_path, "elsewhere", "Unrelated.", title="Other", keywords="travel", order=5)
    return load_directory(tmp_path, values_from_config(app.config)).index


def test_title_beats_keywords_beats_body_and_frequency_counts(ranked):
    results = ranked.search("passport")
    assert [hit.question.slug for hit in results.hits] == [
        "in-title", "in-keywords", "in-body-often", "in-body"]
    scores = [hit.score for hit in results.hits]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 4
    assert not results.partial


def test_questions_with_every_word_come_before_partial_matches(tmp_path, app):
    write_question(tmp_path, "both", "Board deadline explained.", title="Deadlines", order=2)
    write_question(tmp_path, "one", "Board board board board.", title="Boards", order=1)
    index = load_directory(tmp_path, values_from_config(app.config)).index
    assert [h.question.slug for h in index.search("board deadline").hits] == ["both"]
    only_some = index.search("board nonsenseword")
    assert only_some.partial
    assert {h.question.slug for h in only_some.hits} == {"both", "one"}


def test_an_empty_or_stop_word_query_finds_nothing(ranked):
    assert ranked.search("").hits == ()
    assert ranked.search("the of and").hits == ()


def test_snippets_mark_the_matching_words(tmp_path, app):
    write_question(tmp_path, "snip", "First words. Then you can opt out of sharing here.")
    index = load_directory(tmp_path, values_from_config(app.config)).index
    [hit] = index.search("opting out").hits
    marked = [segment.text for segment in hit.snippet if segment.match]
    assert marked == ["opt", "out"]
    assert "".join(segment.text for segment in hit.snippet).startswith("First words.")


@pytest.mark.parametrize("query,expected", [
    ("opt out", "opting-out"),
    ("opt-out", "opting-out"),
    ("opting out", "opting-out"),
    ("opt back in", "opting-back-in"),
    ("CME Passport", "cme-passport"),
    ("delay", "when-credit-is-sent"),
    ("30 days", "board-30-day-deadline"),
    ("NPI", "what-identifiers-are-for"),
    ("who can see my data", "who-can-see-my-data"),
    ("American Board of Surgery", "american-board-of-surgery"),
])
def test_the_real_questions_are_found_first(app, query, expected):
    hits = services.library(app).index.search(query).hits
    assert hits and hits[0].question.slug == expected, [h.question.slug for h in hits[:5]]
