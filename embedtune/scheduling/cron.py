"""Next fire times of a cron expression, and the crontab line that runs the pipeline.

What an expression means (and whether it is valid) is ``embedtune.cron``'s, which the config
checks at load, so the foreground loop, the crontab line and that check agree.
"""

from __future__ import annotations

import shlex
from datetime import datetime
from pathlib import Path

from croniter import croniter

from embedtune.cron import CronError, parse_cron

MARKER = "# embedtune:"  # ends every crontab line this project writes, with the config's path


def next_fire_times(expression: str, after: datetime, count: int = 1) -> list[datetime]:
    """The next ``count`` times ``expression`` fires strictly after ``after`` (same timezone)."""
    parse_cron(expression)
    it = croniter(expression, after)
    return [it.get_next(datetime) for _ in range(count)]


def crontab_line(
    expression: str,
    *,
    project_dir: Path,
    python: Path,
    config: Path,
    log_file: Path,
    environment: dict[str, str],
) -> str:
    """One crontab line that runs the pipeline now (``--run-now``) from ``project_dir``.

    cron starts jobs with ``/bin/sh``, a bare environment and the home directory as working
    directory, so every path is absolute, the environment the run needs is set on the line, and
    output goes to a log file (cron would otherwise mail it or drop it). ``%`` is special in
    crontab (it starts stdin), so it is escaped. The trailing marker names the config, so that
    installing again replaces the line instead of adding a second one.
    """
    spec = parse_cron(expression)
    if spec.has_seconds:
        raise CronError(
            f"cron cannot fire on seconds ('{expression}'); use 5 fields, or the foreground "
            "loop (`python run.py schedule loop`) for a seconds-level schedule"
        )
    paths = {"project_dir": project_dir, "python": python, "config": config, "log_file": log_file}
    for name, path in paths.items():
        if not path.is_absolute():
            raise ValueError(f"{name} must be an absolute path for cron, got {path}")
    env = " ".join(f"{key}={shlex.quote(value)}" for key, value in sorted(environment.items()))
    command = (
        f"cd {shlex.quote(str(project_dir))} && {env + ' ' if env else ''}"
        f"{shlex.quote(str(python))} run.py --config {shlex.quote(str(config))} --run-now "
        f">> {shlex.quote(str(log_file))} 2>&1"
    )
    return f"{spec.expression} {_escape(f'{command} {MARKER}{config}')}"


def _escape(text: str) -> str:
    """crontab turns an unescaped ``%`` into a newline (the start of the job's stdin)."""
    return text.replace("%", "\\%")


def merge_crontab(existing: str, line: str) -> str:
    """``existing`` crontab text with ``line`` added, replacing an earlier line for the same config.

    Lines of other jobs, comments and environment settings are kept as they are.
    """
    marker = line[line.rindex(MARKER):]
    kept = [old for old in existing.splitlines() if not old.rstrip().endswith(marker)]
    return "\n".join([*kept, line]) + "\n"


def remove_from_crontab(existing: str, config: Path) -> tuple[str, int]:
    """``existing`` without this project's line for ``config``, and how many lines were removed."""
    marker = _escape(f"{MARKER}{config}")
    kept = [old for old in existing.splitlines() if not old.rstrip().endswith(marker)]
    removed = len(existing.splitlines()) - len(kept)
    return ("\n".join(kept) + "\n") if kept else "", removed
