"""What the executor does before a Lambda SnapStart snapshot (template parameter EnableSnapStart).

Importing the model SDK is nearly all of the executor's cold start (about 1 s of CPU of the
first RunAgent step, `make bench` section 10); done here, it is in the snapshot instead. Nothing
with a credential, a connection or randomness is made here: every restored environment shares
the snapshot, so the client is still built (with the key) on first use.
"""

from __future__ import annotations

import importlib

SDK_MODULES = ("anthropic", "anthropic.resources.messages", "anthropic.resources.beta")


def before_snapshot() -> None:
    for name in SDK_MODULES:
        importlib.import_module(name)
