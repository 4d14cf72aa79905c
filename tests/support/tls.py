"""A throwaway certificate authority and a server certificate it signed, for TLS receivers in tests
(trustme makes both).

The server certificate names `localhost`, `hooks.test.example` and 127.0.0.1; clients trust the CA
file (`ca_file`) and servers load `server_context()`.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from tempfile import mkdtemp

import trustme

SERVER_NAMES = ("localhost", "hooks.test.example")


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    server: trustme.LeafCert

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server.configure_cert(context)
        return context


@cache
def tls_files() -> TlsFiles:
    """One CA and server certificate per test process (made once: key generation takes a moment)."""
    ca = trustme.CA()
    ca_file = Path(mkdtemp(prefix="agent-tasks-tls-")) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return TlsFiles(ca_file, ca.issue_cert(*SERVER_NAMES, "127.0.0.1"))
