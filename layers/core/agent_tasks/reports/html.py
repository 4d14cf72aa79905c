"""The html report: one self-contained page (inline CSS, nothing fetched), rendered with Jinja2.

Autoescaping is on for every template and string, so transcript content such as `<script>`
shows as text. The page also carries a Content-Security-Policy that forbids scripts and any
fetch, in case a future template change forgets to escape something.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from agent_tasks.reports.document import ReportDocument
from agent_tasks.reports.view import build_view


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("agent_tasks.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def render_html(document: ReportDocument) -> str:
    template = _environment().get_template("report.html")
    return template.render(view=build_view(document), schema_version=document.schema_version)
