from __future__ import annotations

from tests.support.dev_server import dev_server

__all__ = ["dev_server"]
