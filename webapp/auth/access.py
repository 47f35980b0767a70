"""Who may open a page: the physician's own pages and the staff console."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from flask import abort, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

P = ParamSpec("P")


def physician_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Signed in, and as a learner: staff accounts without a transcript get a clear page."""

    @wraps(view)
    @login_required
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        if current_user.learner_id is None:
            return render_template("transcript/no_learner.html"), 403
        return view(*args, **kwargs)

    return wrapper


def staff_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Signed in with the staff flag from sign-in; anyone else is refused (403)."""

    @wraps(view)
    @login_required
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapper
