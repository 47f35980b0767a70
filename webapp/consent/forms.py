"""Forms for the sharing permission and the identifiers PARS needs."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FieldList, FormField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; stubs are 3.2
from wtforms.validators import AnyOf, Optional, StopValidation, ValidationError

from webapp.boards import BOARDS
from webapp.identifiers import (
    US_STATES,
    board_id_problem,
    license_number_problem,
    month_day_is_valid,
    npi_problem,
)
from webapp.safe_text import NoControlCharacters

MONTHS = ("January February March April May June July August September October November "
          "December").split()
#: Empty rows offered for adding a license or a board, so the form works without JavaScript.
SPARE_ROWS = 1
#: Most licenses and board certifications one physician may list.
MAX_ROWS = 20


class SharingForm(FlaskForm):
    #: ``yes`` to share, ``no`` to opt out.
    share = HiddenField(validators=[AnyOf(["yes", "no"], message="Choose whether to share.")])
    #: Set on the confirmation page; opting out takes two steps.
    confirmed = HiddenField(default="")


class NoticeForm(FlaskForm):
    """Continue past the sharing notice, keeping the current choice."""

    #: Where the physician was going when they signed in (checked with ``safe_next``).
    next = HiddenField(default="")


class LicenseNumber:
    """WTForms validator: a state license number as ``license_number_problem`` accepts it.

    Unlike ``Length`` it sets no ``maxlength`` on the input, so a browser never cuts a
    long paste silently: it reaches the server and is refused with the reason.
    """

    def __call__(self, form: object, field) -> None:
        problem = field.data and license_number_problem(field.data)
        if problem:
            raise StopValidation(f"This license number {problem}")


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class _Row(FlaskForm):
    class Meta:
        csrf = False  # the enclosing form carries the token


class LicenseRow(_Row):
    state = SelectField("State", choices=[SelectChoice("", "—")]
                        + [SelectChoice(s, s) for s in sorted(US_STATES)], default="")
    number = StringField("License number", validators=[Optional(), NoControlCharacters(), LicenseNumber()],
                         filters=[_strip])

    def validate_state(self, field):
        # Checked on the state: an empty number stops its own validators (Optional).
        if bool(field.data) != bool(self.number.data):
            raise ValidationError("Enter both the state and the license number, or neither.")


class BoardRow(_Row):
    board = SelectField("Board", choices=[SelectChoice("", "—")]
                        + [SelectChoice(code, f"{code} – {name}") for code, name in BOARDS.items()],
                        default="")
    board_id = StringField("Board ID", validators=[Optional(), NoControlCharacters()],
                           filters=[_strip])

    def validate_board_id(self, field):
        if field.data and not self.board.data:
            raise ValidationError("Choose the board this ID belongs to.")
        problem = field.data and board_id_problem(self.board.data, field.data)
        if problem:
            raise ValidationError(f"This board ID {problem}")


class IdentifiersForm(FlaskForm):
    npi = StringField("NPI (National Provider Identifier)", validators=[Optional(), NoControlCharacters()],
                      filters=[lambda v: v.replace(" ", "").strip() if v else v])
    birth_month = SelectField("Month", choices=[SelectChoice("", "—")]
                              + [SelectChoice(f"{i:02d}", m) for i, m in enumerate(MONTHS, 1)],
                              default="")
    birth_day = SelectField("Day", choices=[SelectChoice("", "—")]
                            + [SelectChoice(f"{d:02d}", str(d)) for d in range(1, 32)], default="")
    licenses = FieldList(FormField(LicenseRow), min_entries=1)
    #: Index of the license row chosen as primary (one radio per row, all of this name).
    primary_license = StringField("Primary license", default="")
    boards = FieldList(FormField(BoardRow), min_entries=1)

    def validate_npi(self, field):
        problem = field.data and npi_problem(field.data)
        if problem:
            raise ValidationError(f"This NPI {problem}")

    def validate_birth_day(self, field):
        month, day = self.birth_month.data, field.data
        if bool(month) != bool(day):
            raise ValidationError("Choose both the month and the day of your birth, or neither.")
        if month and not month_day_is_valid(f"{month}-{day}"):
            raise ValidationError(f"{MONTHS[int(month) - 1]} has no day {int(day)}.")

    def validate_licenses(self, field):
        _at_most(field, "licenses", lambda row: row.state.data or row.number.data)

    def validate_primary_license(self, field):
        value = (field.data or "").strip()
        if value and not (value.isdigit() and int(value) < len(self.licenses.entries)):
            raise ValidationError("Choose one of your licenses as the primary one.")

    def validate_boards(self, field):
        _at_most(field, "board certifications", lambda row: row.board.data or row.board_id.data)
        seen = set()
        for row in field.entries:
            board = row.form.board.data
            if board and board in seen:
                raise ValidationError(f"{board} is listed twice; keep one entry per board.")
            seen.add(board)

    @property
    def birth_month_day(self) -> str | None:
        if self.birth_month.data and self.birth_day.data:
            return f"{self.birth_month.data}-{self.birth_day.data}"
        return None

    def license_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for row in self.licenses.entries:
            if row.form.state.data and row.form.number.data:
                pair = (row.form.state.data, row.form.number.data)
                if pair not in pairs:
                    pairs.append(pair)
        return pairs

    def primary_pair(self) -> tuple[str, str] | None:
        """The license chosen as primary, or None when the chosen row is empty or none was chosen
        (the services then keep the current primary, or take the next one)."""
        value = (self.primary_license.data or "").strip()
        if not value.isdigit() or int(value) >= len(self.licenses.entries):
            return None
        row = self.licenses.entries[int(value)].form
        if row.state.data and row.number.data:
            return (row.state.data, row.number.data)
        return None

    def board_pairs(self) -> list[tuple[str, str | None]]:
        return [(row.form.board.data, row.form.board_id.data or None)
                for row in self.boards.entries if row.form.board.data]


def _at_most(field, what: str, filled) -> None:
    """A field error when more than ``MAX_ROWS`` rows are filled in (or sent at all); the
    form shown again keeps only that many, so the page stays small."""
    if len(field.entries) > MAX_ROWS + SPARE_ROWS or \
            sum(1 for row in field.entries if filled(row.form)) > MAX_ROWS:
        del field.entries[MAX_ROWS + SPARE_ROWS:]
        raise ValidationError(f"At most {MAX_ROWS} {what} can be listed.")
