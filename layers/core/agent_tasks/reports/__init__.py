"""Execution reports: the versioned `ReportDocument` and its renderers (html, pdf, json, markdown).

Use `agent_tasks.reports.render.render(document, fmt)`. Renderers are imported on demand, so
importing this package stays cheap (fpdf2 alone costs about 0.3 s to import).
"""
