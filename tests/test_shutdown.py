"""The first SIGINT/SIGTERM raises Interrupted and lets cleanup run; a second one exits at once
and kills the registered child processes (a real process, real signals)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import PROJECT_ROOT


def start():
    process = subprocess.Popen([sys.executable, "tests/interrupt_target.py"], cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    words = process.stdout.readline().split()
    assert words and words[0] == "READY", process.stderr.read()
    return process, int(words[1])


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is not alive
        return stat.read().split()[2] != "Z"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_during_a_slow_shutdown_exits_at_once_and_kills_the_children(signum):
    process, child = start()
    process.send_signal(signum)
    assert process.stdout.readline().strip() == "CLEANUP"  # the first one started the shutdown
    sent = time.monotonic()
    process.send_signal(signum)
    code = process.wait(timeout=10)
    waited = time.monotonic() - sent
    stderr = process.stderr.read()
    assert code == 128 + signum, stderr
    assert waited < 10  # the cleanup would have taken 30 s
    name = signal.Signals(signum).name
    assert f"{name} received: stopping the run" in stderr
    assert f"{name} again: exiting now (killed 1 child process(es))" in stderr
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_handlers_are_restored_after_the_block():
    from embedtune.shutdown import stop_on_signals

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with stop_on_signals():
        assert signal.getsignal(signal.SIGINT) is not before[0]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
