"""Rendered questions are cached; edits show after a restart, or at once in development."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from tests.faq.helpers import write_question
from webapp.faq import services


def edit(path, old, new):
    path.write_text(path.read_text().replace(old, new))
    stat = path.stat()
    # Some filesystems keep coarse times: make sure the edit is visible as a change.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


@pytest.fixture
def count_loads(monkeypatch):
    calls = []
    original = services.load_directory

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "load_directory", counting)
    return calls


@pytest.fixture
def production_like(app, monkeypatch):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    monkeypatch.setitem(app.config, "TEMPLATES_AUTO_RELOAD", False)


def test_production_reads_the_files_once(client, app, faq_dir, production_like, count_loads,
                                         monkeypatch):
    path = write_question(faq_dir, "cached", "Original answer.")
    assert "Original answer." in client.get("/faq/cached").get_data(as_text=True)
    # From now on no file may be opened or even listed while serving pages.
    monkeypatch.setattr(services, "signature", lambda directory: pytest.fail("stat on request"))
    edit(path, "Original", "Edited")
    for url in ("/faq/cached", "/faq", "/faq?q=answer", "/faq/unknown"):
        client.get(url)
    assert "Original answer." in client.get("/faq/cached").get_data(as_text=True)
    assert count_loads == [faq_dir]


def test_a_restart_shows_the_edit(client, app, faq_dir, production_like):
    path = write_question(faq_dir, "cached", "Original answer.")
    assert "Original answer." in client.get("/faq/cached").get_data(as_text=True)
    edit(path, "Original", "Edited")
    app.extensions.pop("faq")  # what a new process starts with
    assert "Edited answer." in client.get("/faq/cached").get_data(as_text=True)


@pytest.mark.parametrize("app_env,auto_reload", [("development", False), ("testing", True)])
def test_development_reloads_when_a_file_changes(client, app, faq_dir, monkeypatch, count_loads,
                                                 app_env, auto_reload):
    monkeypatch.setitem(app.config, "APP_ENV", app_env)
    monkeypatch.setitem(app.config, "TEMPLATES_AUTO_RELOAD", auto_reload)
    path = write_question(faq_dir, "live", "Original answer.")
    assert "Original answer." in client.get("/faq/live").get_data(as_text=True)
    assert "Original answer." in client.get("/faq/live").get_data(as_text=True)
    assert len(count_loads) == 1  # unchanged files are not read again
    edit(path, "Original", "Edited")
    assert "Edited answer." in client.get("/faq/live").get_data(as_text=True)
    write_question(faq_dir, "added", title="A new question")
    assert "A new question" in client.get("/faq").get_data(as_text=True)
    path.unlink()
    assert client.get("/faq/live").status_code == 404
    assert len(count_loads) == 4


def test_reload_setting_follows_configuration():
    base = {"FAQ_DIR": "/x", "INSTITUTION_NAME": "I", "PORTAL_URL": "http://p",
            "REPORTING_START_DATE": dt.date(2023, 7, 1),
            "SUBMISSION_FREQUENCY": "daily", "SUPPORT_EMAIL": "e@example.org",
            "SUPPORT_PHONE": "", "BOARD_REPORTING_DAYS": 30, "PARS_YEAR_CLOSE": "03-31",
            "PHYSICIAN_DEGREES": frozenset({"MD", "DO"}), "NOTIFY_REMINDER_DAYS": 7}
    assert services.Settings.from_config({**base, "APP_ENV": "development"}).reload
    assert services.Settings.from_config({**base, "APP_ENV": "testing",
                                          "TEMPLATES_AUTO_RELOAD": True}).reload
    assert not services.Settings.from_config({**base, "APP_ENV": "production",
                                              "TEMPLATES_AUTO_RELOAD": False}).reload
