"""The transcript's filter form (a GET form: nothing changes, so no CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; stubs are 3.2
from wtforms.validators import Optional, ValidationError

from webapp.boards import BOARDS


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    credit_type = SelectField(
        "Credit",
        choices=[SelectChoice("", "All credit"), SelectChoice("AMA", "AMA PRA Category 1 Credit™")]
        + [SelectChoice(code, f"{code} MOC credit") for code in BOARDS],
        default="",
        validate_choice=True,
    )

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date must be on or after the start date.")
