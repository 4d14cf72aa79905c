"""Refuse URLs that would reach loopback, private, link-local or metadata addresses.

Used by the agent's `http_request` tool and by webhook validation. The host is resolved
here and every resolved address is checked; callers must then connect to one of the
returned `addresses` (not resolve the name again), so DNS rebinding has no gap to use.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from agent_tasks.errors import ValidationFailedError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
# Cloud instance metadata endpoints: refused even when private networks are allowed.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


class UnsafeUrlError(ValidationFailedError):
    """A URL the service will not connect to; `message` says why."""

    code = "unsafe_url"


@dataclass(frozen=True, slots=True)
class CheckedUrl:
    """A URL whose host resolved only to acceptable addresses: connect to one of `addresses`."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def target(self) -> str:
        """The path and query to send in the request line."""
        parts = urlsplit(self.url)
        path = parts.path or "/"
        return f"{path}?{parts.query}" if parts.query else path


def address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why `address` must not be reached, or None when it may be."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_problem(address.ipv4_mapped, allow_private=allow_private)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if allow_private:
        return None
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def check_address(address: IPAddress, *, allow_private: bool) -> None:
    problem = address_problem(address, allow_private=allow_private)
    if problem is not None:
        raise UnsafeUrlError(f"{address} is {problem}")


def resolve_host(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address `host` resolves to (a literal address resolves to itself, without DNS)."""
    try:
        return (ipaddress.ip_address(host.strip("[]")),)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise UnsafeUrlError(f"cannot resolve host {host!r}") from err
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeUrlError(f"host {host!r} has no addresses")
    return tuple(addresses)


def _split(url: str) -> tuple[SplitResult, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise UnsafeUrlError(f"not a valid URL: {err}") from err
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeUrlError(f"only http and https URLs are allowed, not {scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise UnsafeUrlError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrlError("credentials in URLs are not allowed")
    return parts, parts.hostname, port or (443 if scheme == "https" else 80)


def ensure_public_url(url: str, *, allow_private: bool = False) -> CheckedUrl:
    """Resolve `url`'s host and check every address; raise `UnsafeUrlError` with the reason.

    `allow_private` (local tests only) admits loopback and private networks; metadata,
    multicast and unspecified addresses stay refused.
    """
    parts, host, port = _split(url)
    addresses = resolve_host(host, port)
    for address in addresses:
        problem = address_problem(address, allow_private=allow_private)
        if problem is not None:
            shown = host if host == str(address) else f"{host} ({address})"
            raise UnsafeUrlError(f"refusing {shown}: {problem}")
    return CheckedUrl(url=url, scheme=parts.scheme.lower(), host=host, port=port, addresses=addresses)
