"""Scrubbing secret values out of text: the value itself and its common encodings become `[secret:NAME]`.

A run's scrubber knows the values of the secrets its task references. Every tool result passes
through it before it enters the transcript (and so the next model request, the report, the
events and the webhook); so do error messages and the run's final text. While a run is active its
scrubber is also installed for the function's log lines (`active`).

Encodings covered, for the value alone and followed by a newline (`echo $X | base64`): base64
(standard and URL-safe, at each of the three alignments a value can have inside a longer base64
stream), hex (lower and upper case) and URL encoding (`%XX` and `+` for spaces). An encoding
shorter than MIN_ENCODED_CHARS is not searched for (it would match ordinary text); the value
itself always is.
"""

from __future__ import annotations

import base64
import contextvars
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus

MIN_ENCODED_CHARS = 8
_B64 = "[A-Za-z0-9+/_-]"


def _base64_cores(data: bytes) -> Iterator[str]:
    """The base64 characters fixed by `data` alone, for each alignment it can have in a longer stream."""
    n = len(data)
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data + b"\0\0").decode()
        first = -(-8 * offset // 6)  # ceil: the first character made only of data bits
        last = (8 * offset + 8 * n) // 6  # exclusive: characters after this include bits past data
        core = encoded[first:last]
        yield core
        yield core.replace("+", "-").replace("/", "_")


def _base64_encodings(value: str) -> set[str]:
    raw = value.encode("utf-8")
    found: set[str] = set()
    for data in (raw, raw + b"\n"):
        found.update(_base64_cores(data))
    return {item for item in found if len(item) >= MIN_ENCODED_CHARS}


def encodings(value: str) -> set[str]:
    """The value and the encodings of it that scrubbing looks for."""
    found = {value} | _base64_encodings(value)
    raw = value.encode("utf-8")
    for data in (raw, raw + b"\n"):
        found.add(data.hex())
        found.add(data.hex().upper())
    found.update({quote(value, safe=""), quote_plus(value, safe=""), quote(value)})
    # As Python error messages quote it: repr of the text and of its bytes.
    found.update({repr(value)[1:-1], repr(raw)[2:-1]})
    return {item for item in found if item == value or len(item) >= MIN_ENCODED_CHARS}


class Scrubber:
    """Replaces each known secret value (and its encodings) with `[secret:NAME]`, counting replacements."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        self.names = sorted(secrets)
        self.count = 0
        # One named group per secret; inside it the longest needles first (a value before its prefix).
        # A base64 core also takes the characters on either side (they hold a few bits of the value's
        # first and last bytes) and any padding.
        groups: list[tuple[int, str, str]] = []
        self._owner: dict[str, str] = {}
        for index, (name, value) in enumerate(sorted(secrets.items())):
            core = _base64_encodings(value)
            needles = sorted(encodings(value), key=len, reverse=True)
            parts = [
                f"{_B64}?{re.escape(n)}{_B64}?=*" if n in core and n != value else re.escape(n)
                for n in needles
            ]
            group = f"s{index}"
            self._owner[group] = name
            groups.append((len(needles[0]), group, "|".join(parts)))
        groups.sort(key=lambda g: g[0], reverse=True)
        self._pattern = (
            re.compile("|".join(f"(?P<{group}>{body})" for _, group, body in groups)) if groups else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def scrub(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        replaced, hits = self._pattern.subn(self._marker, text)
        self.count += hits
        return replaced

    def scrub_quietly(self, text: str) -> str:
        """Scrub without counting (log lines: the count says what reached the run's outputs)."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(self._marker, text)

    def _marker(self, match: re.Match[str]) -> str:
        return f"[secret:{self._owner[str(match.lastgroup)]}]"

    def scrub_json(self, value: Any) -> Any:
        """Every string inside a JSON-like value, scrubbed (keys included)."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self.scrub_json(v) for v in value]
        if isinstance(value, dict):
            return {self.scrub(str(k)): self.scrub_json(v) for k, v in value.items()}
        return value


NO_SECRETS = Scrubber({})
_active: contextvars.ContextVar[Scrubber] = contextvars.ContextVar("active_scrubber", default=NO_SECRETS)


@contextmanager
def active(scrubber: Scrubber) -> Iterator[Scrubber]:
    """Install the scrubber for log lines written inside the block (this thread and context)."""
    token = _active.set(scrubber)
    try:
        yield scrubber
    finally:
        _active.reset(token)


def scrub_active(text: str) -> str:
    return _active.get().scrub_quietly(text)


class LogScrubber(logging.Filter):
    """A logging filter: the message, its arguments and every string extra, scrubbed by the active run's
    scrubber. It never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrubber = _active.get()
        if not scrubber:
            return True
        if isinstance(record.msg, str):
            record.msg = scrubber.scrub_quietly(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrubber.scrub_quietly(a) if isinstance(a, str) else a for a in record.args)
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and key not in ("msg", "name", "levelname", "pathname", "filename"):
                setattr(record, key, scrubber.scrub_quietly(value))
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = scrubber.scrub_quietly(logging.Formatter().formatException(record.exc_info))
        return True
