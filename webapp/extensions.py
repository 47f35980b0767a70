"""Extension instances, bound to the application in ``create_app``."""

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
