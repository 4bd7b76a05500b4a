"""The foreground scheduler with real subprocesses on a seconds-level schedule."""

import sys
import threading
import time

import pytest

from embedtune.scheduling.loop import SchedulerLoop

EVERY_SECOND = "* * * * * *"


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_fires_on_schedule_logs_each_run_and_stops_after_max_runs(tmp_path):
    loop = SchedulerLoop(EVERY_SECOND, python("print('hello from the run')"), log_dir=tmp_path, max_runs=2)
    runs = loop.run()
    assert [r.index for r in runs] == [1, 2]
    assert all(r.returncode == 0 for r in runs)
    assert (runs[1].scheduled_for - runs[0].scheduled_for).total_seconds() >= 1
    assert all(r.scheduled_for.microsecond == 0 for r in runs)  # fired on the second boundaries
    assert len({r.log_file for r in runs}) == 2
    assert all("hello from the run" in r.log_file.read_text() for r in runs)


def test_a_failed_run_is_recorded_and_the_schedule_goes_on(tmp_path):
    loop = SchedulerLoop(EVERY_SECOND, python("import sys; print('boom'); sys.exit(3)"), log_dir=tmp_path, max_runs=2)
    runs = loop.run()
    assert [r.returncode for r in runs] == [3, 3]
    assert "boom" in runs[0].log_file.read_text()


def test_stop_while_waiting_returns_at_once_without_running(tmp_path):
    loop = SchedulerLoop("0 0 1 1 *", python("print('never')"), log_dir=tmp_path)  # once a year
    threading.Timer(0.5, loop.request_stop).start()
    t0 = time.monotonic()
    assert loop.run() == []
    assert time.monotonic() - t0 < 5
    assert list(tmp_path.iterdir()) == []


def test_first_stop_lets_the_current_run_finish(tmp_path):
    code = "import time; time.sleep(2.5); print('finished cleanly')"
    loop = SchedulerLoop(EVERY_SECOND, python(code), log_dir=tmp_path)
    started = threading.Event()
    threading.Thread(target=lambda: (_wait_for_log(tmp_path), started.set(), loop.request_stop())).start()
    runs = loop.run()
    assert started.is_set()
    assert len(runs) == 1 and runs[0].returncode == 0
    assert "finished cleanly" in runs[0].log_file.read_text()


def test_second_stop_terminates_the_run(tmp_path):
    loop = SchedulerLoop(EVERY_SECOND, python("import time; time.sleep(60)"), log_dir=tmp_path)

    def stop_twice():
        _wait_for_log(tmp_path)
        loop.request_stop()
        time.sleep(1)
        loop.request_stop()

    threading.Thread(target=stop_twice).start()
    t0 = time.monotonic()
    runs = loop.run()
    assert time.monotonic() - t0 < 30
    assert len(runs) == 1 and runs[0].returncode < 0  # killed by SIGTERM


def test_runs_never_overlap_and_missed_fire_times_are_counted(tmp_path):
    loop = SchedulerLoop(EVERY_SECOND, python("import time; time.sleep(2.6)"), log_dir=tmp_path, max_runs=2)
    runs = loop.run()
    assert runs[0].skipped_fire_times >= 2
    assert runs[1].started >= runs[0].started.replace(microsecond=0)  # sequential
    assert (runs[1].started - runs[0].started).total_seconds() >= 2.6


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="max_runs"):
        SchedulerLoop(EVERY_SECOND, ["true"], log_dir=None, max_runs=0)


def _wait_for_log(folder, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not any(folder.iterdir()):
        if time.monotonic() > deadline:
            raise TimeoutError("no run started")
        time.sleep(0.05)
    time.sleep(0.3)  # the process has started
