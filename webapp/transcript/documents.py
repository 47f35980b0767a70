"""The transcript as CSV and PDF, and one credit's delivery timeline."""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from fpdf import FPDF
from fpdf.fonts import FontFace

from webapp.cme_credit import AMA_CREDIT_TYPE
from webapp.models import Completion
from webapp.transcript.services import CreditRow, Transcript

CSV_HEADER = (
    "Completion date", "Activity", "ACCME Activity ID", AMA_CREDIT_TYPE, "Board MOC credit",
    "PARS status", "PARS status date", "Board status",
)


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _board_credit(row: CreditRow) -> str:
    return "; ".join(f"{b.board} {b.credit_type} {b.credits}" for b in row.completion.board_credits)


def csv_lines(transcript: Transcript) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(CSV_HEADER)
    yield flush()
    for row in transcript.rows:
        c = row.completion
        writer.writerow([_cell(v) for v in (
            c.completion_date.isoformat(), c.activity.title, c.activity.accme_activity_id or "",
            c.cme_credits, _board_credit(row), row.pars.info.label,
            row.pars.on.isoformat() if row.pars.on else "",
            "; ".join(f"{b.destination.split(' ')[0]}: {b.info.label}" for b in row.boards),
        )])
        yield flush()


# --- PDF -----------------------------------------------------------------------------------

_REPLACEMENTS = {"™": "(TM)", "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"',
                 "…": "...", "•": "-"}


def _latin1(text: str) -> str:
    """The PDF's built-in fonts cover Latin-1; map the rest to close equivalents."""
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    text = unicodedata.normalize("NFKC", text)
    return text.encode("latin-1", "replace").decode("latin-1")


class _TranscriptPDF(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="Letter")
        self.footer_text = footer_text
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, _latin1(f"{self.footer_text} - page {self.page_no()} of {{nb}}"),
                  align="C")


def pdf_bytes(transcript: Transcript, institution: str, today: dt.date | None = None) -> bytes:
    today = today or dt.date.today()
    learner = transcript.learner
    f = transcript.filters
    if f.date_from or f.date_to:
        start = f"{f.date_from:%B %-d, %Y}" if f.date_from else "the first credit"
        end = f"{f.date_to:%B %-d, %Y}" if f.date_to else "today"
        period = f"{start} to {end}"
    else:
        period = "All credit on record"
    pdf = _TranscriptPDF(f"{institution} CME transcript for {learner.full_name}, "
                         f"generated {today:%B %-d, %Y}")
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_title(_latin1(f"CME transcript - {learner.full_name}"))
    pdf.set_author(_latin1(institution))
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, _latin1(institution), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(0, 7, "Continuing Medical Education Transcript", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 10)
    details = [
        ("Physician", f"{learner.full_name}, {learner.degree}"),
        ("Period", period),
        ("Credit shown", {"": "All credit", "AMA": AMA_CREDIT_TYPE}.get(
            f.credit_type, f"{f.credit_type} MOC credit")),
        ("Generated", f"{today:%B %-d, %Y}"),
    ]
    for label, value in details:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(32, 6, label)
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Totals", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, _latin1(f"{AMA_CREDIT_TYPE}: {transcript.ama_total}"),
             new_x="LMARGIN", new_y="NEXT")
    for board, types in transcript.board_totals.items():
        parts = ", ".join(f"{t} {v}" for t, v in types.items())
        pdf.cell(0, 6, _latin1(f"{board} MOC credit: {sum(types.values())} ({parts})"),
                 new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    if not transcript.rows:
        pdf.cell(0, 7, "No credit in this period.", new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())
    pdf.set_font("Helvetica", "", 9)
    heading = FontFace(emphasis="BOLD", fill_color=(230, 236, 243))
    with pdf.table(col_widths=(22, 78, 18, 38, 30), headings_style=heading,
                   line_height=5, text_align=("LEFT", "LEFT", "RIGHT", "LEFT", "LEFT")) as table:
        table.row(["Date", "Activity", "AMA Cat. 1", "Board MOC credit", "Reported to PARS"])
        for row in transcript.rows:
            c = row.completion
            reported = row.pars.info.label + (f" {row.pars.on:%m/%d/%Y}" if row.pars.on else "")
            table.row([
                f"{c.completion_date:%m/%d/%Y}", _latin1(c.activity.title), str(c.cme_credits),
                _latin1(_board_credit(row)) or "-", _latin1(reported),
            ])
    pdf.ln(4)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 4, _latin1(
        f"This transcript lists credit recorded by {institution}. 'Reported to PARS' shows "
        "whether the credit was reported to ACCME's Program and Activity Reporting System, "
        "from which it reaches CME Passport once PARS matches it to the physician."))
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
