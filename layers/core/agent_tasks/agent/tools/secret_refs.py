"""`{{ secret.NAME }}` in an http_request: substituted inside the tool, after the model wrote the call.

Only header values and the URL's query may hold a placeholder: the model never sees a value, and a
value never lands where a server would echo it by design (path, body) or where logs keep URLs'
paths. A name the task does not give its tools is a tool error naming the ones it does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from agent_tasks.agent.tools.base import ToolError

# Looser than a valid name on purpose: `{{ secret.lower }}` is a reference to refuse, not text to send.
_REFERENCE = re.compile(r"\{\{\s*secret\.([A-Za-z0-9_]+)\s*\}\}")


@dataclass(frozen=True)
class SubstitutedRequest:
    url: str
    headers: dict[str, str]
    secret_headers: frozenset[str]  # lower-cased names of headers that now carry a secret


def _value(name: str, secrets: Mapping[str, str]) -> str:
    if name not in secrets:
        given = ", ".join(sorted(secrets)) or "none"
        raise ToolError(f"no secret {name!r} is given to this task (its secrets: {given})")
    return secrets[name]


def _header_value(name: str, secrets: Mapping[str, str]) -> str:
    value = _value(name, secrets)
    if any(ch in value for ch in "\r\n\0") or not value.isprintable() or not value.isascii():
        # Said here, without the value: http.client's own error would quote it.
        raise ToolError(
            f"secret {name} cannot be sent in a header: it holds a line break or a non-ASCII character"
        )
    return value


def has_reference(text: str | None) -> bool:
    return bool(text) and _REFERENCE.search(text or "") is not None


def substitute(
    url: str, headers: Mapping[str, str], body: str | None, secrets: Mapping[str, str]
) -> SubstitutedRequest:
    """The request with each placeholder replaced by its secret (URL-encoded in the query)."""
    parts = urlsplit(url)
    if has_reference(parts.scheme + parts.netloc + parts.path + parts.fragment):
        raise ToolError("{{ secret.NAME }} may be used only in header values and the URL's query")
    if has_reference(body) or any(has_reference(name) for name in headers):
        raise ToolError("{{ secret.NAME }} may be used only in header values and the URL's query")
    query = _REFERENCE.sub(lambda m: quote(_value(m.group(1), secrets), safe=""), parts.query)
    carrying: set[str] = set()
    substituted: dict[str, str] = {}
    for name, value in headers.items():
        if has_reference(value):
            carrying.add(name.lower())
            value = _REFERENCE.sub(lambda m: _header_value(m.group(1), secrets), value)
        substituted[name] = value
    return SubstitutedRequest(
        url=urlunsplit(parts._replace(query=query)), headers=substituted, secret_headers=frozenset(carrying)
    )
