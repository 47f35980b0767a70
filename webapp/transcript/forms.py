"""The transcript's filter form (a GET form: nothing changes, so no CSRF token)."""

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; stubs are 3.2
from wtforms.validators import Optional, ValidationError

AMA_CHOICE = "AMA PRA Category 1 Credit™"
#: AMA PRA Category 1 Credit™ is designated for physicians; other learners receive a
#: certificate of participation for the same activities.
PARTICIPATION_CHOICE = "Participation in activities designated for AMA PRA Category 1 Credit™"


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    credit_type = SelectField("Credit", default="", validate_choice=True)

    def __init__(self, formdata=None, *, boards: Iterable[str] = (), physician: bool = True,
                 **kwargs) -> None:
        """``boards``: the boards the learner has credit with, the only ones offered."""
        super().__init__(formdata, **kwargs)
        self.credit_type.choices = [
            SelectChoice("", "All credit"),
            SelectChoice("AMA", AMA_CHOICE if physician else PARTICIPATION_CHOICE),
            *(SelectChoice(code, f"{code} MOC credit") for code in boards),
        ]

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date must be on or after the start date.")
