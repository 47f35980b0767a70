"""Staff forms: consent and identifiers recorded on a physician's behalf, what resolved a
record, sign-in links, and PARS's answer to an uploaded Excel batch."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; stubs are 3.2
from wtforms.validators import DataRequired, Length, Optional

from webapp.consent.forms import SPARE_ROWS, IdentifiersForm
from webapp.models import Learner
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


class ConfirmBatchForm(FlaskForm):
    """PARS's answer to an uploaded file: the rows its upload report refused, if any."""

    refused = TextAreaField("Rows PARS refused", validators=[
        Optional(), Length(max=50_000, message="That is too long for one batch's refused rows.")])


class LinkIdentityForm(FlaskForm):
    learner_id = IntegerField("Learner", validators=[DataRequired(message="Choose a learner.")])
    note = TextAreaField("What you checked", validators=[
        DataRequired(message="Write what you checked, e.g. 'called the physician, ticket 4711'."),
        NoControlCharacters(multiline=True), Length(max=1000)])


class UnlinkIdentityForm(FlaskForm):
    note = TextAreaField("Why", validators=[
        DataRequired(message="Write why the link is wrong."),
        NoControlCharacters(multiline=True), Length(max=1000)])


class StaffIdentifiersForm(IdentifiersForm):
    """The physician's own identifiers form, validated exactly as theirs, plus how the
    correction reached staff (kept in the audit log)."""

    note = TextAreaField("How the correction reached you", validators=[
        DataRequired(message="Say how you received it, e.g. 'phone call, ticket 4711'."),
        NoControlCharacters(multiline=True), Length(max=1000)],
        # Its own id: the consent form on the same page has a ``note`` too.
        id="correction-note")


def identifiers_data(learner: Learner) -> dict[str, object]:
    """The learner's identifiers as the form's initial data, with one spare row each."""
    month, _, day = (learner.birth_month_day or "").partition("-")
    primary = learner.primary_license
    return {
        "npi": learner.npi or "", "birth_month": month, "birth_day": day,
        "licenses": [{"state": lic.state, "number": lic.number} for lic in learner.licenses]
        + [{}] * SPARE_ROWS,
        "boards": [{"board": c.board, "board_id": c.board_id or ""}
                   for c in learner.board_certifications] + [{}] * SPARE_ROWS,
        "primary_license": str(learner.licenses.index(primary)) if primary else "",
        "note": "",
    }
