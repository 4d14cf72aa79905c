"""IANA time zone names, checked against the tz database we ship: the `tzdata` package.

The accepted names come from `tzdata`'s own list, never from the host's /usr/share/zoneinfo, so a
task is valid or not the same on every machine: host-dependent names such as "localtime" or
"posixrules" are refused. "UTC" maps to `datetime.UTC`.
"""

from __future__ import annotations

import difflib
import zoneinfo
from datetime import UTC, tzinfo
from functools import cache
from importlib import resources

DEFAULT_TIMEZONE = "UTC"


@cache
def _known_zones() -> frozenset[str]:
    # tzdata's own list of its zones: membership in it, not a bare ZoneInfo(name), so files such as
    # zone.tab, or whatever the host's database holds, are not zones.
    try:
        return frozenset(resources.files("tzdata").joinpath("zones").read_text("utf-8").split())
    except (ModuleNotFoundError, FileNotFoundError):
        return frozenset()


@cache  # pure; every task read re-checks its stored zone
def validate_timezone(name: str) -> str:
    """Return the IANA zone name (surrounding whitespace removed) or raise ValueError saying why."""
    candidate = name.strip()
    if not candidate:
        raise ValueError("timezone is empty; use an IANA name such as 'Europe/Berlin', or 'UTC'")
    if candidate == DEFAULT_TIMEZONE:
        return candidate
    known = _known_zones()
    if candidate in known:
        return candidate
    if not known:
        raise ValueError(
            f"unknown timezone {candidate!r}: the tzdata package (the shipped IANA time zone database) "
            "is not installed"
        )
    raise ValueError(
        f"unknown timezone {candidate!r}: not an IANA time zone name such as 'Europe/Berlin' or 'UTC'"
        + _suggestion(candidate, known)
    )


def _suggestion(candidate: str, known: frozenset[str]) -> str:
    by_folded_case = {zone.casefold(): zone for zone in known}
    close = by_folded_case.get(candidate.casefold())
    if close is None:
        matches = difflib.get_close_matches(candidate, sorted(known), n=1, cutoff=0.8)
        close = matches[0] if matches else None
    return f"; did you mean {close!r}?" if close else ""


def zone_for(name: str) -> tzinfo:
    """The tzinfo for a valid zone name (ValueError for an invalid one). By key, so it pickles; every
    name valid here is in tzdata, which zoneinfo falls back to where the host has no database."""
    valid = validate_timezone(name)
    return UTC if valid == DEFAULT_TIMEZONE else zoneinfo.ZoneInfo(valid)
