import shlex
from datetime import datetime
from pathlib import Path

import pytest

from embedtune.cron import CronError, parse_cron
from embedtune.scheduling.cron import (
    MARKER,
    crontab_line,
    merge_crontab,
    next_fire_times,
    remove_from_crontab,
)

PATHS = dict(project_dir=Path("/srv/embed tune"), python=Path("/srv/venv/bin/python"),
             config=Path("/srv/configs/nightly.yaml"), log_file=Path("/srv/out/cron.log"))


@pytest.mark.parametrize("expression", ["0 3 * * 1", "*/15 * * * *", "0 0 1 * *", "30 2 * * 1-5"])
def test_five_field_expressions_are_valid(expression):
    assert not parse_cron(expression).has_seconds


def test_a_sixth_trailing_field_is_seconds():
    spec = parse_cron("* * * * * */10")
    assert spec.has_seconds
    times = next_fire_times("* * * * * */10", datetime(2026, 1, 1, 12, 0, 1), 3)
    assert times == [datetime(2026, 1, 1, 12, 0, 10), datetime(2026, 1, 1, 12, 0, 20),
                     datetime(2026, 1, 1, 12, 0, 30)]


@pytest.mark.parametrize("expression,fragment", [
    ("0 3 * *", "has 4 fields"),
    ("0 3 * * * * *", "has 7 fields"),
    ("61 3 * * *", "not valid"),
    ("0 25 * * *", "not valid"),
    ("every monday", "has 2 fields"),
])
def test_invalid_expressions_are_refused_with_the_reason(expression, fragment):
    with pytest.raises(CronError, match=fragment):
        parse_cron(expression)


def test_next_fire_times_follow_the_expression():
    assert next_fire_times("0 3 * * 1", datetime(2026, 11, 21, 10, 0), 2) == [
        datetime(2026, 11, 23, 3, 0), datetime(2026, 11, 30, 3, 0)]


def test_crontab_line_is_five_fields_then_a_shell_command_with_absolute_paths():
    line = crontab_line("0 3 * * 1", **PATHS, environment={"ZENML_CONFIG_PATH": "/srv/zen cfg"})
    fields = line.split(" ", 5)
    assert fields[:5] == ["0", "3", "*", "*", "1"]
    command, marker = fields[5].rsplit(" # ", 1)
    assert marker == "embedtune:/srv/configs/nightly.yaml"
    words = shlex.split(command)  # the shell parses it: quoting is balanced
    assert words[:3] == ["cd", "/srv/embed tune", "&&"]
    assert "ZENML_CONFIG_PATH=/srv/zen cfg" in words
    assert words[words.index("run.py") - 1] == "/srv/venv/bin/python"
    assert words[words.index("--config") + 1] == "/srv/configs/nightly.yaml"
    assert "--run-now" in words and words[-3:] == [">>", "/srv/out/cron.log", "2>&1"]


def test_percent_signs_are_escaped_for_cron():
    line = crontab_line("0 3 * * 1", **{**PATHS, "config": Path("/srv/100%.yaml")}, environment={})
    assert "100%.yaml" not in line.replace("\\%", "")
    assert line.count("\\%") == 2  # the --config argument and the marker


def test_seconds_and_relative_paths_are_refused_for_cron():
    with pytest.raises(CronError, match="seconds"):
        crontab_line("* * * * * */5", **PATHS, environment={})
    with pytest.raises(ValueError, match="config must be an absolute path"):
        crontab_line("0 3 * * 1", **{**PATHS, "config": Path("configs/x.yaml")}, environment={})


def test_installing_twice_replaces_the_line_and_keeps_other_jobs():
    other = "MAILTO=ops@example.com\n15 * * * * /usr/bin/backup  # nightly backup\n"
    first = crontab_line("0 3 * * 1", **PATHS, environment={})
    second = crontab_line("0 4 * * 2", **PATHS, environment={})
    merged = merge_crontab(merge_crontab(other, first), second)
    assert merged.splitlines() == ["MAILTO=ops@example.com", "15 * * * * /usr/bin/backup  # nightly backup", second]
    elsewhere = crontab_line("0 5 * * *", **{**PATHS, "config": Path("/srv/configs/other.yaml")}, environment={})
    both = merge_crontab(merged, elsewhere)
    assert both.splitlines()[-2:] == [second, elsewhere]
    removed, count = remove_from_crontab(both, PATHS["config"])
    assert count == 1 and second not in removed and elsewhere in removed and "MAILTO" in removed
    assert MARKER in removed
