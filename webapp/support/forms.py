"""The physician's report of a missing or wrong credit, their replies, and staff answers."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; stubs are 3.2
from wtforms.validators import DataRequired, Optional, StopValidation

from webapp.models import RequestKind
from webapp.safe_text import NoControlCharacters

#: Longest message (report, reply or answer), in characters.
MAX_MESSAGE = 4000


def _one_kind_of_line_break(value: str | None) -> str | None:
    """Browsers send line breaks as CR LF but count (and show) them as one character."""
    return value.replace("\r\n", "\n") if value else value


class MaxCharacters:
    """WTForms validator: refuse text longer than ``limit`` characters, saying by how much.

    Unlike ``Length`` it sets no ``maxlength`` on the text area: a browser would cut
    a longer paste silently, and the physician would not know what was lost. The
    page's counter (``static/counter.js``) shows the count as they type.
    """

    def __init__(self, limit: int = MAX_MESSAGE) -> None:
        self.limit = limit

    def __call__(self, form: object, field) -> None:
        count = len(field.data or "")
        if count > self.limit:
            over = count - self.limit
            raise StopValidation(
                f"This is {count:,} characters long; at most {self.limit:,} fit. Shorten it by "
                f"{over:,} character{'s' if over > 1 else ''} and send it again (nothing was "
                "sent).")


def message_field(label: str, *, required: str, description: str = "") -> TextAreaField:
    return TextAreaField(label, description=description, filters=[_one_kind_of_line_break],
                         validators=[DataRequired(message=required),
                                     NoControlCharacters(multiline=True), MaxCharacters()])


class ReportForm(FlaskForm):
    kind = RadioField("What is wrong?", choices=[
        SelectChoice(RequestKind.MISSING.value, "A credit I earned is missing"),
        SelectChoice(RequestKind.WRONG.value, "A credit is wrong, or was not reported as it should be"),
    ], validators=[DataRequired(message="Choose what is wrong.")])
    completion_id = HiddenField(validators=[Optional()])
    message = message_field(
        "Tell us about it",
        description="The activity, the date you completed it and what you expected to see.",
        required="Describe the problem so staff can look into it.")


class ReplyForm(FlaskForm):
    """The physician's reply to staff's answer on one of their reports."""

    message = message_field("Your reply", required="Write your reply before sending it.")


class AnswerForm(FlaskForm):
    answer = message_field("Answer to the physician",
                           required="Write the answer the physician will see.")
