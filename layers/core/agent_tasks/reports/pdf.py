"""The pdf report, drawn with fpdf2 in DejaVu Sans so text beyond Latin-1 shows (— ü € Ω Ж ...).

The font ships inside the package (`fonts/DejaVuSans.ttf`, licence beside it) because Lambda
has no system fonts; fpdf2 embeds only the glyphs used. DejaVu Sans covers Latin, Greek,
Cyrillic and many symbols but not CJK or emoji: characters it lacks are drawn as U+FFFD (�)
in the pdf only; the html, markdown and json reports keep them. Bold is drawn by stroking the
glyph outline, so one font file serves (about 0.75 MB instead of 1.5 MB with a bold face).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

from agent_tasks.reports.document import ReportDocument
from agent_tasks.reports.view import ReportView, ViewFact, build_view

FONT_PATH = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"
FONT = "DejaVuSans"
REPLACEMENT = "\ufffd"
# Tool output in a pdf is cut shorter than in html: pages of it help no one.
MAX_PDF_BLOCK_CHARS = 6_000

_TEXT = (31, 35, 40)
_MUTED = (89, 99, 110)
_SHADE = (246, 248, 250)
_LINE = (209, 217, 224)
_STATUS_COLOURS = {
    "completed": (17, 99, 41),
    "failed": (164, 14, 38),
    "timed_out": (164, 14, 38),
    "cancelled": (125, 78, 0),
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def pdf_text(text: str, covered: Collection[int], limit: int | None = None) -> str:
    """Text the font can draw: tabs expanded, control characters dropped, missing glyphs as U+FFFD."""
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}\n… ({len(text) - limit:,} more characters; the json report holds all of it)"
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text.replace("\r\n", "\n").expandtabs(4)))
    return "".join(ch if ch == "\n" or ord(ch) in covered else REPLACEMENT for ch in text)


class _ReportPdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(*_MUTED)
        self.cell(0, 5, f"{self.footer_text}   ·   page {self.page_no()}/{{nb}}", align="C")


class _Writer:
    def __init__(self, pdf: _ReportPdf, covered: Collection[int]) -> None:
        self.pdf = pdf
        self.covered = covered

    def clean(self, text: str, limit: int | None = None) -> str:
        return pdf_text(text, self.covered, limit)

    def text(self, text: str, *, size: float = 10, colour: tuple[int, int, int] = _TEXT, **kw: Any) -> None:
        self.pdf.set_font(FONT, size=size)
        self.pdf.set_text_color(*colour)
        self.pdf.multi_cell(
            0, size * 0.5, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L", **kw
        )

    def bold(self, text: str, *, size: float = 10, colour: tuple[int, int, int] = _TEXT) -> None:
        self.pdf.set_draw_color(*colour)
        with self.pdf.local_context(text_mode="FILL_STROKE", line_width=size * 0.012):
            self.text(text, size=size, colour=colour)

    def heading(self, text: str) -> None:
        self.pdf.ln(4)
        self.bold(text, size=14)
        y = self.pdf.get_y() + 1
        self.pdf.set_draw_color(*_LINE)
        self.pdf.set_line_width(0.2)
        self.pdf.line(self.pdf.l_margin, y, self.pdf.w - self.pdf.r_margin, y)
        self.pdf.ln(3)

    def boxed(self, text: str, *, size: float = 9, limit: int | None = None) -> None:
        self.pdf.set_fill_color(*_SHADE)
        self.pdf.set_font(FONT, size=size)
        self.pdf.set_text_color(*_TEXT)
        self.pdf.multi_cell(
            0,
            size * 0.5,
            self.clean(text, limit),
            fill=True,
            padding=2,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
            align="L",
        )
        self.pdf.ln(2)

    def facts(self, facts: list[ViewFact], *, label_width: float = 42) -> None:
        pdf = self.pdf
        pdf.set_font(FONT, size=10)
        for fact in facts:
            if pdf.will_page_break(5.5):
                pdf.add_page()
            top = pdf.get_y()
            pdf.set_text_color(*_MUTED)
            pdf.multi_cell(label_width - 2, 5.5, self.clean(fact.label), align="L", new_x=XPos.LMARGIN)
            label_bottom = pdf.get_y()
            pdf.set_xy(pdf.l_margin + label_width, top)
            pdf.set_text_color(*_TEXT)
            pdf.multi_cell(0, 5.5, self.clean(fact.value), align="L", new_x=XPos.LMARGIN)
            pdf.set_y(max(pdf.get_y(), label_bottom))


def _write(writer: _Writer, view: ReportView) -> None:
    writer.bold(view.title, size=20)
    if view.description:
        writer.text(view.description, size=11, colour=_MUTED)
    writer.pdf.ln(1)
    writer.bold(view.status, size=12, colour=_STATUS_COLOURS.get(view.status_key, _MUTED))

    writer.heading("Summary")
    writer.facts(view.summary)
    if view.error_message:
        writer.pdf.ln(2)
        writer.bold("Error", colour=_STATUS_COLOURS["failed"])
        writer.boxed(view.error_message)

    writer.heading("Prompt")
    writer.boxed(view.prompt)
    if view.variables:
        writer.bold("Variables")
        writer.facts(view.variables)

    writer.heading("Result")
    if view.final_text is not None:
        writer.text(view.final_text, size=11)
    else:
        writer.text("The agent gave no final answer.", colour=_MUTED)
    if view.structured_output is not None:
        writer.bold("Structured output")
        writer.text(view.structured_output, size=9)
    if view.outcome:
        writer.text(f"Agent loop outcome: {view.outcome}", size=9, colour=_MUTED)

    writer.heading("Transcript")
    if not view.messages:
        writer.text("No messages were recorded.", colour=_MUTED)
    for message in view.messages:
        writer.pdf.ln(2)
        writer.bold(f"{message.seq}. {message.role}   ·   {message.created_at}", size=10, colour=_MUTED)
        for block in message.blocks:
            if block.kind == "text":
                writer.text(block.body)
                writer.pdf.ln(1)
            else:
                colour = _STATUS_COLOURS["failed"] if block.is_error else _TEXT
                writer.bold(block.title, size=9, colour=colour)
                writer.boxed(block.body, size=8, limit=MAX_PDF_BLOCK_CHARS)

    writer.heading("Usage and cost")
    writer.facts(view.usage)
    writer.pdf.ln(2)
    writer.facts(view.tool_usage)
    if view.denials:
        writer.text("Refused tool calls: " + ", ".join(view.denials), size=9)


def render_pdf(document: ReportDocument) -> bytes:
    view = build_view(document)
    pdf = _ReportPdf(format="A4")
    pdf.add_font(FONT, "", str(FONT_PATH))
    font = pdf.fonts[FONT.lower()]
    covered = frozenset(font.cmap) if isinstance(font, TTFFont) else frozenset(range(32, 256))
    pdf.footer_text = pdf_text(f"{document.task.name} · generated {view.generated_at}", covered)
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_title(pdf_text(f"{document.task.name}: {view.status}", covered))
    pdf.set_creator("Agent Tasks")
    pdf.set_creation_date(document.generated_at)
    pdf.add_page()
    _write(_Writer(pdf, covered), view)
    return bytes(pdf.output())
