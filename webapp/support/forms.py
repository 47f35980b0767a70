"""The physician's report of a missing or wrong credit."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; stubs are 3.2
from wtforms.validators import DataRequired, Length, Optional

from webapp.models import RequestKind
from webapp.safe_text import NoControlCharacters


class ReportForm(FlaskForm):
    kind = RadioField("What is wrong?", choices=[
        SelectChoice(RequestKind.MISSING.value, "A credit I earned is missing"),
        SelectChoice(RequestKind.WRONG.value, "A credit is wrong, or was not reported as it should be"),
    ], validators=[DataRequired(message="Choose what is wrong.")])
    completion_id = HiddenField(validators=[Optional()])
    message = TextAreaField(
        "Tell us about it",
        description="The activity, the date you completed it and what you expected to see.",
        validators=[DataRequired(message="Describe the problem so staff can look into it."),
                    NoControlCharacters(multiline=True), Length(max=4000)],
    )


class AnswerForm(FlaskForm):
    answer = TextAreaField("Answer to the physician", validators=[
        DataRequired(message="Write the answer the physician will see."),
        NoControlCharacters(multiline=True), Length(max=4000)])
