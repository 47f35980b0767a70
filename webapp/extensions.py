"""Extension instances, bound to the application in ``create_app``."""

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session

from webapp.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True)
csrf = CSRFProtect()
login_manager = LoginManager()


def db_session() -> Session:
    """The database session of the current application context.

    ``db.session`` is Flask-SQLAlchemy's scoped registry, a proxy; calling it gives
    the Session itself, which is what services (typed ``Session``) take.
    """
    return db.session()

#: Limits count per client address; the general limit applies to form posts only.
limiter = Limiter(
    key_func=get_remote_address,
    default_limits_exempt_when=lambda: request.method != "POST",
)
