"""Each report format rendered from a realistic document (tool calls, hostile markup, non-Latin-1 text)."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import jsonschema
import pytest
from pypdf import PdfReader

from agent_tasks.errors import ValidationFailedError
from agent_tasks.reports.document import ReportDocument, ReportResult
from agent_tasks.reports.render import REPORT_FORMATS, render
from tests.support.reports import FINAL_ANSWER, HOSTILE_TEXT, TASK_NAME, make_report_document

VOID_ELEMENTS = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


class StrictTagChecker(HTMLParser):
    """Fails on any end tag that does not close the innermost open element, and on unclosed elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.start_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.start_tags.append(tag)
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.start_tags.append(tag)  # <meta ... /> opens nothing

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


@pytest.fixture
def document() -> ReportDocument:
    return make_report_document()


def html_of(document: ReportDocument) -> str:
    rendered = render(document, "html")
    assert rendered.content_type == "text/html; charset=utf-8"
    assert rendered.file_extension == "html"
    return rendered.body.decode("utf-8")


# --- html ------------------------------------------------------------------------------------


def test_html_is_well_formed(document: ReportDocument) -> None:
    # Given a transcript holding "</details>" and "<script>"; When rendered as html
    page = html_of(document)
    # Then a strict XML parser accepts it and every tag closes in order
    ET.fromstring(page.split("\n", 1)[1])  # after the doctype line
    checker = StrictTagChecker()
    checker.feed(page)
    checker.close()
    assert checker.problems == []
    assert checker.stack == []


def test_html_shows_injected_markup_as_text(document: ReportDocument) -> None:
    page = html_of(document)
    root = ET.fromstring(page.split("\n", 1)[1])
    # Then no script element exists, yet the hostile text is there, as text
    assert root.find(".//script") is None
    assert "<script>" not in page
    text = "".join(root.itertext())
    assert "<script>alert(1)</script>" in text
    assert "a stray </details>" in text
    # and the folded blocks are exactly the six tool calls and results, not one more
    assert len(root.findall(".//details")) == 6


def test_html_loads_nothing_from_outside(document: ReportDocument) -> None:
    page = html_of(document)
    checker = StrictTagChecker()
    checker.feed(page)
    assert "link" not in checker.start_tags
    assert "script" not in checker.start_tags
    assert not re.search(r"\b(src|href)\s*=", page, re.IGNORECASE)
    assert not re.search(r"url\(|@import", page, re.IGNORECASE)
    assert "default-src 'none'" in page  # the CSP forbids fetching, as a second line of defence


def test_html_shows_what_a_reader_needs(document: ReportDocument) -> None:
    page = html_of(document)
    text = "".join(ET.fromstring(page.split("\n", 1)[1]).itertext())
    for expected in (
        TASK_NAME,
        "Checks prod services every night & reports <anything> odd.",
        "Completed",
        "scheduled (slot: 2025-06-01T08:00:00Z)",
        "1 min 33 s",
        "Report anything unusual.",
        FINAL_ANSWER,
        "Tool call: http_request",
        "Result of write_file (error)",
        "4,600",
        "$0.0180",
        "Zürich — 東京 € Ωμέγα Привет",
    ):
        assert expected in text, expected


def test_html_cuts_very_long_tool_output() -> None:
    doc = make_report_document()
    doc.transcript[2].content[0]["content"] = "x" * 50_000
    page = html_of(doc)
    assert "x" * 20_000 in page
    assert "x" * 20_001 not in page
    assert "30,000 more characters" in page


def test_failed_execution_without_answer_renders_in_every_format() -> None:
    doc = make_report_document(
        result=ReportResult(final_text=None, outcome="error"), transcript=[], cost_usd=None
    )
    doc.execution.status = "failed"
    doc.execution.error_message = "model answered 529 <overloaded> five times"
    doc = doc.model_copy(update={"cost_note": "price unknown for this model"})
    page = html_of(doc)
    assert "model answered 529 &lt;overloaded&gt; five times" in page
    assert "The agent gave no final answer." in page
    assert "_The agent gave no final answer._" in render(doc, "markdown").body.decode()
    assert "not available (price unknown for this model)" in page
    for fmt in REPORT_FORMATS:
        assert render(doc, fmt).body


# --- markdown --------------------------------------------------------------------------------


def headings_outside_fences(markdown: str) -> list[str]:
    """Level-2 headings a CommonMark reader would see (fences opened by n backticks close with >= n)."""
    headings: list[str] = []
    fence: int | None = None
    for line in markdown.splitlines():
        run = re.match(r"^(`{3,})", line)
        if fence is None and run:
            fence = len(run.group(1))
        elif fence is not None and run and len(run.group(1)) >= fence and line.strip("`") == "":
            fence = None
        elif fence is None and line.startswith("## "):
            headings.append(line[3:])
    assert fence is None, "a fence was left open"
    return headings


def test_markdown_has_the_sections_in_order(document: ReportDocument) -> None:
    rendered = render(document, "markdown")
    assert (rendered.content_type, rendered.file_extension) == ("text/markdown; charset=utf-8", "md")
    markdown = rendered.body.decode("utf-8")
    assert markdown.startswith(f"# {TASK_NAME}\n")
    assert headings_outside_fences(markdown) == [
        "Summary",
        "Prompt",
        "Result",
        "Transcript",
        "Usage and cost",
    ]
    assert FINAL_ANSWER in markdown
    assert "gave no final answer" not in markdown  # it gave one
    assert "**Tool call: http\\_request**" in markdown
    assert "| Input tokens | 4,600 |" in markdown


def test_markdown_content_cannot_break_the_structure() -> None:
    # Given an answer with fences, a heading and HTML, and a task name with a pipe and newline
    answer = "## Injected section\n````\n```\n<img src=x onerror=alert(1)>\n" + HOSTILE_TEXT
    doc = make_report_document(result=ReportResult(final_text=answer, outcome="completed"))
    doc.task.name = "a | b\n## c"
    markdown = render(doc, "markdown").body.decode("utf-8")
    # Then the document still has exactly its own sections, and the answer sits inside a longer fence
    assert headings_outside_fences(markdown) == [
        "Summary",
        "Prompt",
        "Result",
        "Transcript",
        "Usage and cost",
    ]
    assert "`````markdown\n" + answer + "\n`````" in markdown
    assert markdown.startswith("# a \\| b \\#\\# c\n")


# --- json ------------------------------------------------------------------------------------


def test_json_round_trips_and_matches_the_schema(document: ReportDocument) -> None:
    rendered = render(document, "json")
    assert (rendered.content_type, rendered.file_extension) == ("application/json", "json")
    assert ReportDocument.model_validate_json(rendered.body) == document
    schema = ReportDocument.model_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(rendered.body), schema, cls=jsonschema.Draft202012Validator)


def test_json_schema_rejects_another_version(document: ReportDocument) -> None:
    payload = json.loads(render(document, "json").body)
    payload["schema_version"] = "2.0"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(payload, ReportDocument.model_json_schema())


def test_schema_is_documented() -> None:
    schema = ReportDocument.model_json_schema()
    assert schema["properties"]["schema_version"]["const"] == "1.0"
    undocumented = [name for name, prop in schema["properties"].items() if "description" not in prop]
    assert undocumented == []
    assert {"ReportTask", "ReportExecution", "TranscriptMessage", "Usage"} <= set(schema["$defs"])


def test_tool_call_summary_counts_the_transcript(document: ReportDocument) -> None:
    summary = document.tool_calls
    assert summary.total == 3
    assert summary.by_name == {"bash": 1, "http_request": 1, "write_file": 1}
    assert summary.errors == 1
    assert [d.name for d in summary.permission_denials] == ["write_file"]


# --- pdf -------------------------------------------------------------------------------------


def test_pdf_opens_and_holds_the_content(document: ReportDocument) -> None:
    rendered = render(document, "pdf")
    assert (rendered.content_type, rendered.file_extension) == ("application/pdf", "pdf")
    reader = PdfReader(io.BytesIO(rendered.body))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert TASK_NAME in text
    assert FINAL_ANSWER in text
    assert "Zürich — " in text
    assert "€ Ωμέγα Привет" in text  # beyond Latin-1: the embedded DejaVu Sans draws them
    assert "<script>alert(1)</script>" in text
    assert reader.metadata is not None
    assert reader.metadata.title == f"{TASK_NAME}: Completed"


def test_pdf_marks_characters_the_font_lacks(document: ReportDocument) -> None:
    # DejaVu Sans has no CJK glyphs: they are drawn as U+FFFD rather than vanishing
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render(document, "pdf").body)).pages)
    assert "東京" not in text
    assert "Zürich — \ufffd\ufffd €" in text


def test_pdf_wraps_long_unbroken_text() -> None:
    doc = make_report_document()
    doc.transcript[2].content[0]["content"] = "A" * 3_000 + "\tcontrol\x07chars"
    reader = PdfReader(io.BytesIO(render(doc, "pdf").body))
    lines = [line for page in reader.pages for line in page.extract_text().splitlines()]
    text = "".join(line for line in lines if not re.search(r"page \d+/\d+$", line))  # drop footers
    assert len(reader.pages) > 1
    assert max(len(line) for line in lines) < 120  # wrapped, not run off the page
    assert "A" * 3_000 in text
    assert "controlchars" in text


# --- dispatch --------------------------------------------------------------------------------


def test_unknown_format_is_refused(document: ReportDocument) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        render(document, "docx")  # type: ignore[arg-type]
    assert caught.value.details[0]["loc"] == ["report_format"]
