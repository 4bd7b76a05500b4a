"""One Ctrl-C (or SIGTERM) ends a run; a second one ends it at once.

ZenML's local orchestrator runs the steps one after another in this process. Its per-step signal
handler turns SIGINT into a step failure, and in its default ``continue_on_failure`` mode the
next independent step then starts (generation of the other split, say), so one Ctrl-C did not
stop a run. ``stop_on_signals`` installs handlers that ZenML's own handler calls after its
bookkeeping (it marks the step failed); they raise ``KeyboardInterrupt``, which ZenML does not
catch as a step failure, so the run ends there and no later step starts. On the way out every
``finally`` runs: the embedded LLM server and the corpus reader are stopped, and the resume cache
(committed per chunk) is closed.

A second signal during that shutdown exits at once, killing the child processes registered with
``child_process`` first, so nothing is left behind even then.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

_children: set[subprocess.Popen] = set()
_lock = threading.Lock()


class Interrupted(KeyboardInterrupt):
    """Raised by the first SIGINT/SIGTERM; ``signal_name`` says which."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


@contextmanager
def child_process(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Register ``process`` to be killed if the program has to exit at once."""
    with _lock:
        _children.add(process)
    try:
        yield process
    finally:
        with _lock:
            _children.discard(process)


def kill_children() -> int:
    """SIGKILL every registered child that is still running; how many there were."""
    with _lock:
        running = [child for child in _children if child.poll() is None]
    for child in running:
        try:
            child.kill()
        except OSError:
            pass
    return len(running)


def exit_code_for(signal_name: str) -> int:
    """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(getattr(signal, signal_name))


@contextmanager
def stop_on_signals(message: str = "") -> Iterator[None]:
    """Within the block, the first SIGINT/SIGTERM raises ``Interrupted`` and the second exits
    at once. ``message`` is printed on the first one. Outside the main thread it does nothing
    (Python delivers signals to the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[str] = []

    def handle(signum: int, frame) -> None:
        name = signal.Signals(signum).name
        if received:
            killed = kill_children()
            print(f"\n{name} again: exiting now"
                  f"{f' (killed {killed} child process(es))' if killed else ''}.",
                  file=sys.stderr, flush=True)
            os._exit(exit_code_for(name))
        received.append(name)
        print(f"\n{name} received: stopping the run; no further step will start. "
              f"{message}Press Ctrl-C again to exit at once.", file=sys.stderr, flush=True)
        raise Interrupted(name)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
