"""Printed records: the hand-over record (biên bản giao nhận) of envelopes received from an
agency, and the record of results returned to it after the hold (biên bản trả kết quả cho cơ
quan); one layout, an A4 PDF signed by both sides."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import Response
from flask_babel import format_datetime
from flask_babel import gettext as _
from PIL import Image, ImageDraw

from backend.labels.render import load_font

DPI = 150
A4_PX = (round(8.27 * DPI), round(11.69 * DPI))
MARGIN = round(0.6 * DPI)
ROW_PX = 34
ROWS_FIRST_PAGE = 34
ROWS_PER_PAGE = 44


@dataclass(frozen=True)
class RecordLine:
    """One envelope on the record."""

    code: str
    dossier_code: str
    recipient_name: str
    procedure_name: str


@dataclass(frozen=True)
class HandoverRecord:
    """What the record says: who handed what to whom, when, against what was announced."""

    number: int
    office_name: str
    agency_name: str
    courier_name: str | None
    received_by: str
    started_at: datetime
    finished_at: datetime | None
    announced: int
    lines: Sequence[RecordLine]
    # "receive": the agency hands envelopes to the office; "return": the office hands them back
    # after the hold (courier_name is then the agency's officer who takes them, received_by the
    # office's clerk who hands them).
    kind: str = "receive"


def _texts(record: HandoverRecord) -> dict:
    """The words of the record that depend on which way the envelopes went."""
    if record.kind == "return":
        return {
            "title": _("RECORD OF RESULTS RETURNED TO THE AGENCY"),
            "subtitle": _(
                "Results returned to the agency after the hold, record no. %(n)s", n=record.number
            ),
            "facts": [
                (_("Handed back by"), f"{record.office_name} — {record.received_by}"),
                (
                    _("Received by"),
                    f"{record.agency_name}"
                    + (f" — {record.courier_name}" if record.courier_name else ""),
                ),
            ],
            "count": _(
                "%(returned)s returned of %(due)s due back",
                returned=len(record.lines),
                due=record.announced,
            ),
            "empty": _("No envelope was returned."),
            "signatures": (
                (_("For the post office (handed back)"), record.received_by),
                (_("For the agency (received)"), record.courier_name or ""),
            ),
        }
    return {
        "title": _("HAND-OVER RECORD"),
        "subtitle": _("Envelopes received from the agency, record no. %(n)s", n=record.number),
        "facts": [
            (
                _("Handed over by"),
                f"{record.agency_name}"
                + (f" — {record.courier_name}" if record.courier_name else ""),
            ),
            (_("Received by"), f"{record.office_name} — {record.received_by}"),
        ],
        "count": _(
            "%(received)s received of %(announced)s announced",
            received=len(record.lines),
            announced=record.announced,
        ),
        "empty": _("No envelope was received."),
        "signatures": (
            (_("For the agency (handed over)"), record.courier_name or ""),
            (_("For the post office (received)"), record.received_by),
        ),
    }


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """The text cut with an ellipsis to fit `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def render_handover_pdf(record: HandoverRecord) -> bytes:
    """The record as an A4 PDF: header, counts, one line per envelope, two signature blocks."""
    title, body, small, bold = (
        load_font(30, bold=True),
        load_font(20),
        load_font(16),
        load_font(20, True),
    )
    left, right = MARGIN, A4_PX[0] - MARGIN
    columns = [(left, 50), (left + 50, 230), (left + 280, 220), (left + 500, right - left - 500)]
    headers = [_("No."), _("Envelope"), _("Dossier"), _("Recipient · procedure")]
    pages: list[Image.Image] = []
    lines = list(record.lines)
    chunks = [lines[:ROWS_FIRST_PAGE]] + [
        lines[i : i + ROWS_PER_PAGE] for i in range(ROWS_FIRST_PAGE, len(lines), ROWS_PER_PAGE)
    ]
    texts = _texts(record)
    number = 0
    for page_index, chunk in enumerate(chunks):
        page = Image.new("L", A4_PX, 255)
        draw = ImageDraw.Draw(page)
        y = MARGIN
        if page_index == 0:
            draw.text((A4_PX[0] // 2, y), texts["title"], font=title, fill=0, anchor="mt")
            y += 44
            draw.text((A4_PX[0] // 2, y), texts["subtitle"], font=body, fill=0, anchor="mt")
            y += 46
            when = format_datetime(record.finished_at or record.started_at, "short")
            facts = [
                *texts["facts"],
                (_("Time"), when),
                (_("Envelopes"), texts["count"]),
            ]
            for label, value in facts:
                draw.text((left, y), f"{label}:", font=bold, fill=0)
                draw.text((left + 230, y), value, font=body, fill=0)
                y += 32
            y += 12
        for (x, _width), header in zip(columns, headers, strict=True):
            draw.text((x, y), header, font=bold, fill=0)
        y += ROW_PX
        draw.line((left, y - 6, right, y - 6), fill=0, width=2)
        for line in chunk:
            number += 1
            cells = [
                str(number),
                line.code,
                line.dossier_code,
                f"{line.recipient_name} · {line.procedure_name}",
            ]
            for (x, width), text in zip(columns, cells, strict=True):
                draw.text((x, y), _fit(draw, text, body, width - 10), font=body, fill=0)
            y += ROW_PX
            draw.line((left, y - 6, right, y - 6), fill=160, width=1)
        if not lines:
            draw.text((left, y), texts["empty"], font=body, fill=0)
            y += ROW_PX
        if page_index == len(chunks) - 1:
            y = max(y + 30, A4_PX[1] - MARGIN - 230)
            half = (right - left) // 2
            for i, (who, name) in enumerate(texts["signatures"]):
                x = left + i * half + half // 2
                draw.text((x, y), who, font=bold, fill=0, anchor="mt")
                draw.text((x, y + 30), _("(signature, full name)"), font=small, fill=0, anchor="mt")
                draw.text((x, y + 170), name, font=body, fill=0, anchor="mt")
        footer = _("Page %(page)s of %(pages)s", page=page_index + 1, pages=len(chunks))
        draw.text((right, A4_PX[1] - MARGIN // 2), footer, font=small, fill=0, anchor="rb")
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=float(DPI))
    return out.getvalue()


def handover_pdf_response(handover, *, filename: str) -> Response:
    """A hand-over's record (received from, or returned to, an agency) as an inline PDF, kept by
    no cache: what the items say, so it always says what the database says."""
    record = HandoverRecord(
        kind=handover.kind,
        number=handover.id,
        office_name=handover.post_office.name,
        agency_name=handover.agency.name,
        courier_name=handover.courier_name,
        received_by=handover.started_by.full_name,
        started_at=handover.started_at,
        finished_at=handover.finished_at,
        announced=handover.announced,
        lines=[
            RecordLine(
                code=item.envelope.code,
                dossier_code=item.envelope.dossier.code,
                recipient_name=item.envelope.dossier.recipient_name,
                procedure_name=item.envelope.dossier.procedure_name,
            )
            for item in handover.items
        ],
    )
    return Response(
        render_handover_pdf(record),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
