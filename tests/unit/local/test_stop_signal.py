"""The dev server's stop: a Ctrl-C that lands anywhere in the wait stops it (none is lost, none deadlocks)."""

from __future__ import annotations

import signal
import subprocess
import sys

# Runs the wait with a profiler that sends SIGINT to the process at the k-th profile event inside it
# (a call, a return, a C call), or at the first C call that may block, whichever comes first. It
# prints the event the signal went at, then "stopped" once the wait has returned.
PROBE = """
import os, signal, sys
from agent_tasks_local.stop_signal import StopSignal

target = int(sys.argv[1])
MAY_BLOCK = {"read", "acquire", "wait", "sigwait", "pause", "select", "poll"}
stop = StopSignal()
events = 0
sent = False

def deliver(frame, event, arg):
    global events, sent
    if sent:
        return
    events += 1
    if events == target or (event == "c_call" and getattr(arg, "__name__", "") in MAY_BLOCK):
        sent = True
        print(f"sent at event {events}", flush=True)
        os.kill(os.getpid(), signal.SIGINT)

sys.setprofile(deliver)
signum = stop.wait()
sys.setprofile(None)
print(f"stopped by signal {signum}", flush=True)
"""
HANG_SECONDS = 20  # a wait that lost its signal never returns; this only bounds the failure


def run_probe(target: int) -> tuple[int, str]:
    try:
        result = subprocess.run(
            [sys.executable, "-c", PROBE, str(target)], capture_output=True, text=True, timeout=HANG_SECONDS
        )
    except subprocess.TimeoutExpired as hung:
        printed = hung.stdout.decode() if isinstance(hung.stdout, bytes) else (hung.stdout or "")
        raise AssertionError(f"the wait never returned after a Ctrl-C ({printed.strip()})") from None
    assert result.returncode == 0, result.stderr
    sent_at = int(result.stdout.split("sent at event ")[1].split()[0])
    return sent_at, result.stdout


def test_a_ctrl_c_at_any_point_of_the_wait_stops_it() -> None:
    # Given the stop installed, When a SIGINT lands at each successive point of the wait
    for target in range(1, 50):
        sent_at, printed = run_probe(target)
        # Then the wait returns, with SIGINT's number
        assert f"stopped by signal {int(signal.SIGINT)}" in printed
        if sent_at < target:  # the wait reached its blocking call before this point: all points tried
            return
    raise AssertionError("the wait made more than 49 calls before blocking")


def test_a_ctrl_c_before_the_wait_is_kept_for_it() -> None:
    # Given a SIGTERM that arrives after the stop is installed but before anyone waits
    script = (
        "import os, signal\n"
        "from agent_tasks_local.stop_signal import StopSignal\n"
        "stop = StopSignal()\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "print('stopped by signal', stop.wait())\n"
    )
    # When the process then waits, Then it returns at once with SIGTERM, and the process is not killed by it
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=HANG_SECONDS
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "stopped by signal 15"
