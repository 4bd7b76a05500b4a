"""A foreground scheduler: on each cron fire time, run the pipeline as a subprocess and log it.

For one machine, where ZenML's local orchestrator refuses schedules and installing a crontab line
is not wanted (a container, a notebook server, a tmux session). Each run is a fresh process, so a
crash, a leak or a hung LLM server in one run cannot take the scheduler down, and each run's
output goes to its own log file.

Runs never overlap: a fire time that passes while a run is still going is skipped, and counted in
the log, instead of queueing runs behind a slow one. The first SIGINT/SIGTERM stops scheduling and
lets a run in progress finish (its steps' outputs are then cached for the next start); a second
one terminates the run.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from croniter import croniter

from embedtune.cron import parse_cron

logger = logging.getLogger(__name__)

TERMINATE_GRACE_S = 30.0  # after the second stop request: SIGTERM, then SIGKILL after this long


@dataclass(frozen=True)
class ScheduledRun:
    """What happened to one fire of the schedule."""

    index: int
    scheduled_for: datetime
    started: datetime
    seconds: float
    returncode: int
    log_file: Path
    skipped_fire_times: int  # fire times that passed while this run was going


class SchedulerLoop:
    """Fire ``command`` on ``expression``'s schedule until stopped or ``max_runs`` runs are done."""

    def __init__(
        self,
        expression: str,
        command: list[str],
        *,
        log_dir: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        max_runs: int | None = None,
        now: Callable[[], datetime] = datetime.now,
    ):
        parse_cron(expression)
        if max_runs is not None and max_runs < 1:
            raise ValueError(f"max_runs must be at least 1, got {max_runs}")
        self.expression = expression
        self.command = command
        self.log_dir = log_dir
        self.cwd = cwd
        self.env = env
        self.max_runs = max_runs
        self._now = now
        self._stop_requests = 0
        self._stop = threading.Event()
        self.runs: list[ScheduledRun] = []

    def request_stop(self) -> None:
        """First call: no new runs, let the current one finish. Second call: end it too.

        Safe to call from a signal handler (it only sets flags).
        """
        self._stop_requests += 1
        self._stop.set()

    def run(self) -> list[ScheduledRun]:
        """Block, firing runs, until stopped or ``max_runs`` is reached; return the runs made."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        logger.info(
            "Scheduler started: '%s' runs %s; logs in %s%s",
            self.expression, " ".join(self.command), self.log_dir,
            f"; stops after {self.max_runs} runs" if self.max_runs else "; Ctrl-C to stop",
        )
        fire = croniter(self.expression, self._now()).get_next(datetime)
        while not self._stop.is_set():
            logger.info("Next run at %s", fire.isoformat(sep=" ", timespec="seconds"))
            if self._stop.wait(max(0.0, (fire - self._now()).total_seconds())):
                break
            self.runs.append(self._fire(len(self.runs) + 1, fire))
            if self.max_runs is not None and len(self.runs) >= self.max_runs:
                logger.info("Scheduler done: %d runs made (max_runs).", len(self.runs))
                return self.runs
            fire = croniter(self.expression, self._now()).get_next(datetime)
        logger.info("Scheduler stopped after %d run(s).", len(self.runs))
        return self.runs

    def _fire(self, index: int, scheduled_for: datetime) -> ScheduledRun:
        started = self._now()
        log_file = self.log_dir / f"run-{started:%Y%m%d-%H%M%S}-{index}.log"
        logger.info("Run %d started (scheduled for %s); output in %s", index,
                    scheduled_for.isoformat(sep=" ", timespec="seconds"), log_file)
        t0 = time.monotonic()
        with open(log_file, "w", encoding="utf-8") as out:
            process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the terminal reaches the loop, not the run
            )
            returncode = self._wait(process, index)
        seconds = time.monotonic() - t0
        skipped = self._fire_times_between(scheduled_for, self._now())
        level = logging.INFO if returncode == 0 else logging.ERROR
        logger.log(
            level, "Run %d %s in %.1f s%s; output in %s", index,
            "succeeded" if returncode == 0 else f"FAILED (exit code {returncode})", seconds,
            f"; {skipped} fire time(s) skipped while it ran" if skipped else "", log_file,
        )
        return ScheduledRun(index, scheduled_for, started, seconds, returncode, log_file, skipped)

    def _wait(self, process: subprocess.Popen, index: int) -> int:
        announced = False
        while True:
            try:
                return process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            if self._stop_requests == 1 and not announced:
                logger.info("Stop requested: letting run %d finish (stop again to end it now).", index)
                announced = True
            if self._stop_requests >= 2:
                logger.warning("Second stop request: terminating run %d.", index)
                process.terminate()
                try:
                    return process.wait(timeout=TERMINATE_GRACE_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    return process.wait()

    def _fire_times_between(self, start: datetime, end: datetime) -> int:
        it = croniter(self.expression, start)
        count = 0
        while it.get_next(datetime) <= end:
            count += 1
        return count
