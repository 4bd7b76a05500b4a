"""``python run.py schedule crontab|loop --config ...``: scheduled runs on one machine.

``crontab`` prints the line that makes cron run the pipeline on the config's ``schedule.cron``
(``--install`` / ``--uninstall`` edit the user's crontab). ``loop`` stays in the foreground and
starts each run as a subprocess (see :mod:`embedtune.scheduling.loop`).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from embedtune.config import ConfigError, RunConfig, load_config
from embedtune.cron import CronError
from embedtune.scheduling.cron import (
    crontab_line,
    merge_crontab,
    next_fire_times,
    remove_from_crontab,
)
from embedtune.scheduling.loop import SchedulerLoop

PROJECT_DIR = Path(__file__).resolve().parents[2]
# Set on the crontab line when set here: cron starts jobs with an almost empty environment.
# Names that hold secrets (API keys) are never written there.
PASSED_ENVIRONMENT = ("ZENML_CONFIG_PATH", "EMBEDTUNE_CACHE_DIR", "DISTILABEL_CACHE_DIR", "HF_HOME")


class ScheduleCommandError(RuntimeError):
    """A problem the user can fix; the message says how."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="run.py schedule", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    crontab = sub.add_parser("crontab", help="print (or install) the crontab line for the config")
    crontab.add_argument("--config", required=True, type=Path)
    action = crontab.add_mutually_exclusive_group()
    action.add_argument("--install", action="store_true", help="add it to your crontab")
    action.add_argument("--uninstall", action="store_true", help="remove it from your crontab")
    loop = sub.add_parser("loop", help="run the schedule in the foreground")
    loop.add_argument("--config", required=True, type=Path)
    loop.add_argument("--max-runs", type=int, default=None, help="stop after this many runs")
    return parser.parse_args(argv)


def _schedule_of(config: RunConfig, path: Path) -> str:
    if config.schedule is None:
        raise ScheduleCommandError(
            f"{path} has no `schedule:` section. Add one, e.g.\n"
            "schedule:\n  cron: \"0 3 * * 1\"   # Mondays at 03:00"
        )
    return config.schedule.cron


def run_environment() -> dict[str, str]:
    env = {"ZENML_ANALYTICS_OPT_IN": "false"}
    env.update({name: os.environ[name] for name in PASSED_ENVIRONMENT if os.environ.get(name)})
    return env


def log_file_for(config: RunConfig) -> Path:
    return (config.output_dir / "schedule-logs" / "cron.log").resolve()


def line_for(config: RunConfig, path: Path) -> str:
    return crontab_line(
        _schedule_of(config, path),
        project_dir=PROJECT_DIR,
        python=Path(sys.executable).absolute(),
        config=path.resolve(),
        log_file=log_file_for(config),
        environment=run_environment(),
    )


def _read_crontab() -> str:
    if shutil.which("crontab") is None:
        raise ScheduleCommandError(
            "`crontab` is not installed (Debian/Ubuntu: apt-get install cron). Or run the "
            "schedule in the foreground: python run.py schedule loop --config ..."
        )
    listed = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    if listed.returncode != 0:
        if "no crontab" in listed.stderr.lower():
            return ""
        raise ScheduleCommandError(f"`crontab -l` failed: {listed.stderr.strip()}")
    return listed.stdout


def _write_crontab(text: str) -> None:
    written = subprocess.run(["crontab", "-"], input=text, capture_output=True, text=True)
    if written.returncode != 0:
        raise ScheduleCommandError(f"`crontab -` refused the new crontab: {written.stderr.strip()}")


def crontab_command(args: argparse.Namespace, config: RunConfig) -> int:
    if args.uninstall:
        text, removed = remove_from_crontab(_read_crontab(), args.config.resolve())
        if removed:
            _write_crontab(text)
        print(f"Removed {removed} crontab line(s) for {args.config.resolve()}.")
        return 0
    line = line_for(config, args.config)
    log_file_for(config).parent.mkdir(parents=True, exist_ok=True)
    upcoming = ", ".join(
        t.isoformat(sep=" ", timespec="minutes")
        for t in next_fire_times(config.schedule.cron, _now(), 3)
    )
    if args.install:
        _write_crontab(merge_crontab(_read_crontab(), line))
        print(f"Installed in your crontab (check with `crontab -l`):\n{line}")
    else:
        print(f"{line}\n\nAdd it with `crontab -e`, or run this command again with --install.")
    print(f"Next runs: {upcoming}. Output goes to {log_file_for(config)}.")
    if config.generation.api_key_env:
        print(
            f"Note: the config reads its API key from ${config.generation.api_key_env}, which cron "
            "does not inherit from your shell; set it at the top of the crontab or use a ZenML "
            "secret (generation.zenml_secret)."
        )
    return 0


def _now():
    from datetime import datetime

    return datetime.now()


def loop_command(args: argparse.Namespace, config: RunConfig) -> int:
    cron = _schedule_of(config, args.config)
    command = [sys.executable, str(PROJECT_DIR / "run.py"), "--config", str(args.config.resolve()), "--run-now"]
    loop = SchedulerLoop(
        cron,
        command,
        log_dir=(config.output_dir / "schedule-logs").resolve(),
        cwd=PROJECT_DIR,
        env={**os.environ, **run_environment()},
        max_runs=args.max_runs,
    )
    previous = {sig: signal.signal(sig, lambda *_: loop.request_stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        runs = loop.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    failed = [run for run in runs if run.returncode != 0]
    if failed:
        print(f"{len(failed)} of {len(runs)} scheduled runs failed; see their logs.", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        config = load_config(args.config)
        if args.command == "crontab":
            return crontab_command(args, config)
        return loop_command(args, config)
    except (ConfigError, CronError, ScheduleCommandError) as exc:
        print(exc, file=sys.stderr)
        return 2
