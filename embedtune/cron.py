"""Cron expressions: what one means, and whether it is valid.

croniter is the reference, so the check at config load, the foreground loop and the crontab line
agree. Standard cron has five fields; croniter also accepts a sixth, *trailing* field of seconds,
which only the foreground loop can honour (cron and ZenML's orchestrators work in minutes) and
which the tests use to fire twice in a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from croniter import croniter


class CronError(ValueError):
    """An expression that cron (or croniter) would not accept."""


@dataclass(frozen=True)
class CronSpec:
    expression: str
    has_seconds: bool  # six fields, the last one seconds: the foreground loop only


def parse_cron(expression: str) -> CronSpec:
    """Validate ``expression`` and say whether it has a seconds field."""
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise CronError(
            f"cron expression '{expression}' has {len(fields)} fields; write 5 (minute hour "
            "day-of-month month day-of-week, e.g. '0 3 * * 1' for Mondays at 03:00), or 6 with "
            "seconds last for the foreground loop"
        )
    if not croniter.is_valid(expression):
        raise CronError(
            f"cron expression '{expression}' is not valid (fields: minute hour day-of-month "
            "month day-of-week; e.g. '*/15 * * * *' every 15 minutes)"
        )
    return CronSpec(expression=" ".join(fields), has_seconds=len(fields) == 6)
