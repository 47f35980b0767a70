"""FAQ fixtures: a temporary content directory the app is pointed at through ``FAQ_DIR``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faq.helpers import write_question


@pytest.fixture
def faq_dir(tmp_path: Path, app, monkeypatch) -> Path:
    """An empty FAQ directory that the shared app reads for the length of the test."""
    directory = tmp_path / "faq"
    directory.mkdir()
    monkeypatch.setitem(app.config, "FAQ_DIR", str(directory))
    return directory


@pytest.fixture
def transcript_questions(faq_dir: Path) -> Path:
    """``faq_dir`` holding a minimal question for every slug the transcript links to."""
    from webapp.transcript.statuses import faq_slugs

    for number, slug in enumerate(sorted(faq_slugs())):
        write_question(faq_dir, slug, title=f"About {slug}", category="Statuses",
                       order=900 + number, keywords="status")
    return faq_dir
