"""Extension instances, bound to the application in ``create_app``."""

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from webapp.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True)
csrf = CSRFProtect()
login_manager = LoginManager()

#: Limits count per client address; the general limit applies to form posts only.
limiter = Limiter(
    key_func=get_remote_address,
    default_limits_exempt_when=lambda: request.method != "POST",
)
