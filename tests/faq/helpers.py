"""Writing question files for tests."""

from __future__ import annotations

from pathlib import Path


def write_question(directory: Path, slug: str, body: str = "An answer.\n", *,
                   filename: str | None = None, **front: object) -> Path:
    """A question file with complete front matter unless ``front`` overrides (``None`` drops)."""
    fields: dict[str, object] = {
        "title": f"Question {slug}", "slug": slug, "category": "General", "order": 10,
        "keywords": "general",
    }
    fields.update(front)
    lines = ["---"] + [f"{key}: {value}" for key, value in fields.items() if value is not None]
    path = directory / (filename or f"{slug}.md")
    path.write_text("\n".join(lines) + "\n---\n" + body, encoding="utf-8")
    return path
