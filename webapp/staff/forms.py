"""Staff forms: consent recorded on a physician's behalf, what resolved a record, sign-in links."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; stubs are 3.2
from wtforms.validators import DataRequired, Length

from webapp.safe_text import NoControlCharacters


class StaffConsentForm(FlaskForm):
    granted = RadioField("The physician's decision", choices=[
        SelectChoice("yes", "Shares credit (gave permission)"),
        SelectChoice("no", "Does not share credit (opted out)"),
    ], validators=[DataRequired(message="Choose the physician's decision.")])
    note = TextAreaField("How the decision reached you", validators=[
        DataRequired(message="Say how you received it, e.g. 'signed form of 3 May'."),
        NoControlCharacters(multiline=True), Length(max=1000)])


class ResolveForm(FlaskForm):
    note = TextAreaField("What was done", validators=[
        DataRequired(message="Write what was done, for the record."),
        NoControlCharacters(multiline=True), Length(max=2000)])


class LinkIdentityForm(FlaskForm):
    learner_id = IntegerField("Learner", validators=[DataRequired(message="Choose a learner.")])
    note = TextAreaField("What you checked", validators=[
        DataRequired(message="Write what you checked, e.g. 'called the physician, ticket 4711'."),
        NoControlCharacters(multiline=True), Length(max=1000)])


class UnlinkIdentityForm(FlaskForm):
    note = TextAreaField("Why", validators=[
        DataRequired(message="Write why the link is wrong."),
        NoControlCharacters(multiline=True), Length(max=1000)])
