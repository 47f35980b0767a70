"""The signed one-click link that turns a physician's optional notices off.

The link carries the learner's row ID and what it turns off, signed with
``SECRET_KEY`` under a salt of its own (a session or CSRF signature cannot be
replayed as one, nor one of these as them). It works without signing in and
changes that one preference only. It does not expire: links in old e-mails
keep working, as RFC 8058 expects of ``List-Unsubscribe``.
"""

from __future__ import annotations

from itsdangerous import BadData, URLSafeSerializer

SALT = "notify.unsubscribe.v1"
#: What a link turns off: the reminder and rejection notices.
PURPOSE = "reminders"


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def unsubscribe_token(secret: str, learner_id: int) -> str:
    return _serializer(secret).dumps({"l": learner_id, "p": PURPOSE})


def learner_of(secret: str, token: str) -> int | None:
    """The learner a token was signed for, or None when it is forged, altered or malformed."""
    try:
        data = _serializer(secret).loads(token)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("p") != PURPOSE:
        return None
    learner_id = data.get("l")
    if not isinstance(learner_id, int) or isinstance(learner_id, bool) or learner_id < 1:
        return None
    return learner_id
