"""The transcript as CSV and PDF, and one credit's delivery timeline.

Both downloads cover every credit the filter covers (read in chunks by
``services.iter_rows``), whatever page the physician was looking at. The CSV is
UTF-8 with a byte-order mark, so Excel opens names and the ™ sign correctly; its
dates are ISO 8601 (``2026-03-31``) and its credit columns plain numbers, one
column per board and credit type. The PDF spells dates as the pages do.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flask import current_app
from fpdf import FPDF
from fpdf.fonts import FontFace

from webapp.cme_credit import AMA_CREDIT_TYPE
from webapp.dates import readable_date
from webapp.models import Completion, Learner
from webapp.transcript.services import CreditRow, DestinationStatus, Transcript

log = logging.getLogger(__name__)

#: The credit as the documents name it: AMA PRA Category 1 Credit™ is designated for
#: physicians; other learners receive a certificate of participation.
AMA_CREDIT = AMA_CREDIT_TYPE + "™"
PARTICIPATION = "Participation (activity designated for AMA PRA Category 1 Credit™)"
PARTICIPATION_NOTE = (
    "AMA PRA Category 1 Credit™ is designated for physicians. {name} is not recorded as a "
    "physician, so the credit shown is the amount each activity was designated for, as a "
    "certificate of participation; it is not AMA PRA Category 1 Credit™ and is not reported "
    "to PARS.")

BOM = "\ufeff"


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _board_credit(row: CreditRow) -> str:
    return "; ".join(f"{b.board} {b.credit_type} {b.credits}" for b in row.completion.board_credits)


def credit_heading(transcript: Transcript) -> str:
    return AMA_CREDIT if transcript.physician else PARTICIPATION


def csv_header(transcript: Transcript) -> list[str]:
    header = ["Completion date", "Activity", "ACCME Activity ID", credit_heading(transcript)]
    header += [f"{board} {credit_type} credit" for board, credit_type in transcript.board_columns]
    header += ["PARS status", "PARS status date"]
    for board in transcript.board_totals:
        header += [f"{board} status", f"{board} status date"]
    return header


def csv_lines(transcript: Transcript, rows: Iterable[CreditRow]) -> Iterator[str]:
    """The CSV, a line at a time: the byte-order mark, the header, a row per credit."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(csv_header(transcript))
    yield BOM + flush()
    columns = transcript.board_columns
    boards = list(transcript.board_totals)
    for row in rows:
        c = row.completion
        amounts = {(b.board, b.credit_type): b.credits for b in c.board_credits}
        by_board = {s.board: s for s in row.boards}
        cells: list[object] = [c.completion_date.isoformat(), c.activity.title,
                               c.activity.accme_activity_id or "", c.cme_credits]
        cells += [amounts.get(column, "") for column in columns]
        cells += [row.pars.info.label, row.pars.on.isoformat() if row.pars.on else ""]
        for board in boards:
            status = by_board.get(board)
            cells += ([status.info.label, status.on.isoformat() if status.on else ""]
                      if status else ["", ""])
        writer.writerow([_cell(v) for v in cells])
        yield flush()


def download_name(transcript: Transcript, extension: str, today: dt.date) -> dict[str, str]:
    """``filename`` (and ``filename*`` for names beyond ASCII, RFC 6266 / 5987) for the
    Content-Disposition header: the physician's name and the date range."""
    f = transcript.filters
    if f.date_from or f.date_to:
        span = (f"{f.date_from.isoformat()}-to-" if f.date_from else "until-") + \
            (f.date_to or today).isoformat()
    else:
        span = f"all-credit-to-{today.isoformat()}"
    person = re.sub(r"[^\w]+", "-", transcript.learner.full_name, flags=re.UNICODE).strip("-_")
    name = f"cme-transcript-{person}-{span}.{extension}" if person else \
        f"cme-transcript-{span}.{extension}"
    try:
        name.encode("ascii")
        return {"filename": name}
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        return {"filename": simple, "filename*": "UTF-8''" + quote(name, safe="")}


# --- PDF -----------------------------------------------------------------------------------

_REPLACEMENTS = {"™": "(TM)", "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"',
                 "…": "...", "•": "-"}


def _latin1(text: str) -> str:
    """The PDF's built-in fonts cover Latin-1; map the rest to close equivalents."""
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    text = unicodedata.normalize("NFKC", text)
    return text.encode("latin-1", "replace").decode("latin-1")


@dataclass(frozen=True)
class PdfSettings:
    institution: str
    accreditation: str
    designation: str
    #: Folder with DejaVuSans.ttf and DejaVuSans-Bold.ttf (Debian's fonts-dejavu-core).
    font_dir: str

    @classmethod
    def from_app(cls) -> PdfSettings:
        cfg = current_app.config
        institution = cfg["INSTITUTION_NAME"]
        return cls(institution,
                   cfg["TRANSCRIPT_ACCREDITATION_STATEMENT"].replace("{institution}", institution),
                   cfg["TRANSCRIPT_DESIGNATION_STATEMENT"].replace("{institution}", institution),
                   cfg["PDF_FONT_DIR"])


class _TranscriptPDF(FPDF):
    def __init__(self, footer_text: str, font_dir: str) -> None:
        super().__init__(orientation="landscape", unit="mm", format="Letter")
        regular = Path(font_dir) / "DejaVuSans.ttf"
        bold = Path(font_dir) / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            self.add_font("DejaVu", "", str(regular))
            self.add_font("DejaVu", "B", str(bold))
            # fonts-dejavu-core has no oblique face: notes are set in the regular one.
            self.add_font("DejaVu", "I", str(regular))
            self.family = "DejaVu"
            self.unicode = True
        else:
            # Production refuses to start without the font (config); elsewhere the PDF is
            # still made, with (TM) for the sign and Latin-1 letters only.
            log.warning("PDF_FONT_DIR has no DejaVu Sans; the PDF uses a built-in font")
            self.family = "Helvetica"
            self.unicode = False
        self.footer_text = footer_text
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def text(self, value: str) -> str:  # type: ignore[override]
        return value if self.unicode else _latin1(value)

    def font(self, style: str = "", size: float = 10) -> None:
        self.set_font(self.family, style, size)

    def one_line(self, text: str, style: str, size: float, height: float,
                 smallest: float = 8) -> None:
        """``text`` on one line of the page's width, in a smaller size if it needs one."""
        self.font(style, size)
        while size > smallest and self.get_string_width(text) > self.epw:
            size -= 0.5
            self.font(style, size)
        self.cell(0, height, text, new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-12)
        self.font("", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.text(f"{self.footer_text} - page {self.page_no()} of {{nb}}"),
                  align="C")


def _identifiers(learner: Learner) -> str:
    parts = []
    if learner.npi:
        parts.append(f"NPI {learner.npi}")
    license_ = learner.primary_license
    if license_ is not None:
        parts.append(f"{license_.state} license {license_.number}")
    return "; ".join(parts) or "None on record"


def _status_words(status: DestinationStatus) -> str:
    return status.info.label + (f", {readable_date(status.on)}" if status.on else "")


def _board_cell(row: CreditRow) -> str:
    by_board = {s.board: s for s in row.boards}
    lines = []
    for line in row.completion.board_credits:
        status = by_board.get(line.board)
        lines.append(f"{line.board} {line.credit_type} {line.credits}"
                     + (f": {_status_words(status)}" if status else ""))
    return "\n".join(lines) or "-"


#: Table columns (mm) on a landscape Letter page with 15 mm margins: 249 mm.
_COLUMNS = (35, 64, 44, 58, 48)
_HEADING_SIZE = 8.5


def pdf_bytes(transcript: Transcript, rows: Iterable[CreditRow], settings: PdfSettings,
              today: dt.date) -> bytes:
    learner = transcript.learner
    f = transcript.filters
    if f.date_from or f.date_to:
        start = readable_date(f.date_from) if f.date_from else "the first credit"
        end = readable_date(f.date_to) if f.date_to else readable_date(today)
        period = f"{start} to {end}"
    else:
        period = f"All credit on record, to {readable_date(today)}"
    institution = settings.institution
    pdf = _TranscriptPDF(f"{institution} CME transcript for {learner.full_name}, "
                         f"generated {readable_date(today)}", settings.font_dir)
    t = pdf.text
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_title(t(f"CME transcript - {learner.full_name}"))
    pdf.set_author(t(institution))
    pdf.one_line(t(institution), "B", 16, 9)
    pdf.one_line("Continuing Medical Education Transcript", "", 12, 7)
    pdf.ln(2)
    credit_shown = {"": "All credit", "AMA": credit_heading(transcript)}.get(
        f.credit_type, f"{f.credit_type} MOC credit")
    details = [
        ("Learner" if not transcript.physician else "Physician",
         f"{learner.full_name}, {learner.degree}"),
        ("NPI / license", _identifiers(learner)),
        ("Period", period),
        ("Credit shown", credit_shown),
        ("Generated", readable_date(today)),
    ]
    for label, value in details:
        pdf.font("B", 10)
        pdf.cell(34, 6, t(label))
        pdf.font("", 10)
        pdf.cell(0, 6, t(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.font("B", 11)
    pdf.cell(0, 7, "Totals", new_x="LMARGIN", new_y="NEXT")
    pdf.font("", 10)
    pdf.cell(0, 6, t(f"{credit_heading(transcript)}: {transcript.ama_total}"),
             new_x="LMARGIN", new_y="NEXT")
    for board, types in transcript.board_totals.items():
        parts = ", ".join(f"{name} {amount}" for name, amount in types.items())
        pdf.cell(0, 6, t(f"{board} MOC credit: {sum(types.values())} ({parts})"),
                 new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.font("", 8)
    for statement in (settings.accreditation, settings.designation):
        pdf.multi_cell(0, 4, t(statement), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    if not transcript.physician:
        pdf.multi_cell(0, 4, t(PARTICIPATION_NOTE.format(name=learner.full_name)),
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    if not transcript.shown_count:
        pdf.font("", 10)
        pdf.cell(0, 7, "No credit in this period.", new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())
    headings = ["Completed", "Activity",
                "AMA PRA Cat. 1 Credit™" if transcript.physician else "Participation",
                "Board MOC credit and status", "PARS status"]
    pdf.font("B", _HEADING_SIZE)
    heading = FontFace(emphasis="BOLD", fill_color=(230, 236, 243), size_pt=_HEADING_SIZE)
    pdf.font("", 8.5)
    with pdf.table(col_widths=_COLUMNS, headings_style=heading, line_height=4.5,
                   text_align=("LEFT", "LEFT", "RIGHT", "LEFT", "LEFT"),
                   width=sum(_COLUMNS)) as table:
        table.row([t(h) for h in headings])
        for row in rows:
            c = row.completion
            table.row([
                readable_date(c.completion_date), t(c.activity.title), str(c.cme_credits),
                t(_board_cell(row)), t(_status_words(row.pars)),
            ])
    pdf.ln(4)
    pdf.font("I", 8)
    pdf.multi_cell(0, 4, t(
        f"This transcript lists credit recorded by {institution}. 'PARS status' shows whether "
        "the credit was reported to ACCME's Program and Activity Reporting System, from which it "
        "reaches CME Passport once PARS matches it to the physician, and certifying boards "
        "their MOC credit."))
    return bytes(pdf.output())


# --- timeline --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime | dt.date
    text: str

    @property
    def sort_key(self) -> dt.datetime:
        if isinstance(self.at, dt.datetime):
            return self.at
        return dt.datetime.combine(self.at, dt.time.min, tzinfo=dt.UTC)


def timeline(completion: Completion) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(completion.completion_date, f"Completed “{completion.activity.title}”"),
        TimelineEntry(completion.created_at, "Recorded on your transcript"),
    ]
    for delivery in completion.deliveries:
        what = "Correction: removal of the earlier record" if delivery.action == "delete" else ""
        for event in delivery.events:
            # Every event is written with its words; the kind stands in should one lack them.
            words = event.detail or event.kind.replace("_", " ")
            entries.append(TimelineEntry(event.at, f"{what}: {words}" if what else words))
        for decision in delivery.board_statuses:
            if decision.status in ("accepted", "rejected"):
                text = f"{decision.board} {decision.status} the credit"
                if decision.status == "rejected" and decision.message:
                    text += f": {decision.message}"
                entries.append(TimelineEntry(decision.updated_at, text))
    return sorted(entries, key=lambda e: e.sort_key)
