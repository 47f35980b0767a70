"""The home page."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated and "transcript.index" in _endpoints():
        return redirect(url_for("transcript.index"))
    return render_template("main/index.html")


def _endpoints():
    from flask import current_app

    return current_app.view_functions
