"""One entry point for every report format: `render(document, fmt) -> RenderedReport`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from agent_tasks.errors import ValidationFailedError
from agent_tasks.models.common import ReportFormat
from agent_tasks.reports.document import ReportDocument

REPORT_FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)


@dataclass(frozen=True)
class RenderedReport:
    """A rendered report, ready to upload (e.g. as `reports/<id>.<file_extension>`)."""

    body: bytes
    content_type: str
    file_extension: str


def render(document: ReportDocument, fmt: ReportFormat) -> RenderedReport:
    """Render `document` as html, pdf, json or markdown. Pure: reads only package files."""
    if fmt == "json":
        return RenderedReport(
            body=document.model_dump_json().encode("utf-8"),
            content_type="application/json",
            file_extension="json",
        )
    if fmt == "html":
        from agent_tasks.reports.html import render_html

        return RenderedReport(
            body=render_html(document).encode("utf-8"),
            content_type="text/html; charset=utf-8",
            file_extension="html",
        )
    if fmt == "markdown":
        from agent_tasks.reports.markdown import render_markdown

        return RenderedReport(
            body=render_markdown(document).encode("utf-8"),
            content_type="text/markdown; charset=utf-8",
            file_extension="md",
        )
    if fmt == "pdf":
        from agent_tasks.reports.pdf import render_pdf

        return RenderedReport(body=render_pdf(document), content_type="application/pdf", file_extension="pdf")
    raise ValidationFailedError.for_field(
        "report_format", f"unknown report format {fmt!r}; expected one of {', '.join(REPORT_FORMATS)}"
    )
