"""Waiting for Ctrl-C (SIGINT) or SIGTERM in the dev server's main thread, without losing one.

The signal wakes the wait through `signal.set_wakeup_fd`: the interpreter's C-level handler writes a
byte to a pipe the moment the signal arrives, and the wait reads that pipe. No Python code runs in
between, so no lock is taken. The dev server used to set a `threading.Event` from the Python
handler; a signal that landed while the main thread held that Event's lock (inside `Event.wait`)
ran the handler on the same thread, which then waited for the lock forever.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _ignore(signum: int, frame: object) -> None:
    """The Python-level handler: nothing to do (the wakeup byte does the work), and no KeyboardInterrupt."""


class StopSignal:
    """Install once in the main thread, before the work starts; `wait()` returns after the first signal."""

    def __init__(self, signals: Iterable[signal.Signals] = STOP_SIGNALS) -> None:
        self._read_end, self._write_end = os.pipe()
        # set_wakeup_fd requires a non-blocking end; a full pipe drops a byte, never the wait.
        os.set_blocking(self._write_end, False)
        signal.set_wakeup_fd(self._write_end)
        for signum in signals:
            signal.signal(signum, _ignore)

    def wait(self) -> int:
        """Block until a stop signal has arrived (at any time since construction); its number."""
        return os.read(self._read_end, 1)[0]
