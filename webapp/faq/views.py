"""FAQ pages: the index with search, and one question. Public: no sign-in."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from webapp.faq import services
from webapp.faq.search import MAX_QUERY

bp = Blueprint("faq", __name__, url_prefix="/faq")


@bp.get("")
def index():
    library = services.library()
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    results = library.index.search(query) if query else None
    return render_template("faq/index.html", library=library, query=query, results=results,
                           support=services.support(current_app.config))


@bp.get("/<slug>")
def question(slug: str):
    library = services.library()
    found = library.get(slug)
    if found is None:
        guess = slug.replace("-", " ")[:MAX_QUERY]
        return render_template(
            "faq/not_found.html", slug=slug, query=guess,
            suggestions=library.index.search(guess).hits[:5],
            support=services.support(current_app.config),
        ), 404
    link = current_app.config["PORTAL_URL"].rstrip("/") + url_for("faq.question", slug=slug)
    return render_template(
        "faq/question.html", question=found, related=library.related(found), share_link=link,
        category=next(c for c in library.categories if c.name == found.category),
        support=services.support(current_app.config),
    )
