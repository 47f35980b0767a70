"""The FAQ as the web pages and the check command see it: loaded once, cached per app.

Production reads the files once per process (a restart picks up edits). With
``APP_ENV=development`` or ``TEMPLATES_AUTO_RELOAD`` on, each request compares
the files' names, sizes and modification times with those at load time and
reloads when anything changed, so authors see an edit at once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from webapp.faq.content import Library, load_directory, question_files
from webapp.faq.placeholders import Value, values_from_config

_EXTENSION_KEY = "faq"


@dataclass(frozen=True)
class Settings:
    directory: Path
    values: tuple[tuple[str, Value], ...]
    reload: bool

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        return cls(
            directory=Path(config["FAQ_DIR"]),
            values=tuple(sorted(values_from_config(config).items())),
            reload=config.get("APP_ENV") == "development"
            or bool(config.get("TEMPLATES_AUTO_RELOAD")),
        )


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    settings: Settings | None = None
    signature: tuple[tuple[str, int, int], ...] = ()
    library: Library | None = None


def signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when a question file is added, removed or edited."""
    result = []
    for path in question_files(directory) if directory.is_dir() else []:
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed while listing
            continue
        result.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(result)


def load(settings: Settings) -> Library:
    return load_directory(settings.directory, dict(settings.values))


def library(app: Flask | None = None) -> Library:
    """The current app's questions, loading (or reloading, in development) when needed."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cache: _Cache = app.extensions.setdefault(_EXTENSION_KEY, _Cache())
    # Settings are cheap to build and normally constant; comparing them lets a
    # test (or an app whose config changed) get the right content without a restart.
    settings = Settings.from_config(app.config)
    with cache.lock:
        stale = cache.library is None or cache.settings != settings
        if not stale and settings.reload:
            stale = signature(settings.directory) != cache.signature
        if stale:
            current = signature(settings.directory)
            cache.library = load(settings)
            cache.settings, cache.signature = settings, current
        assert cache.library is not None
        return cache.library


@dataclass(frozen=True)
class Support:
    email: str
    phone: str

    @property
    def dial(self) -> str:
        """The phone number as a ``tel:`` link wants it."""
        return "".join(ch for ch in self.phone if ch.isdigit() or ch == "+")


def support(config: Mapping[str, Any]) -> Support:
    """How readers reach CME support when the FAQ has no answer."""
    return Support(config["SUPPORT_EMAIL"].strip(), config["SUPPORT_PHONE"].strip())
