"""``python run.py argilla-up | argilla-down | argilla-status``: the local Argilla server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from argilla_local.local_server import LocalArgilla, LocalArgillaSettings, LocalServerError

COMMANDS = ("argilla-up", "argilla-down", "argilla-status")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run.py", description="A real Argilla server (API + web UI) on this machine, no Elasticsearch."
    )
    parser.add_argument("command", choices=COMMANDS)
    defaults = LocalArgillaSettings()
    parser.add_argument("--home", type=Path, default=defaults.home, help="databases, logs, credentials")
    parser.add_argument("--port", type=int, default=defaults.port, help="Argilla port on 127.0.0.1")
    parser.add_argument("--redis-port", type=int, default=defaults.redis_port, help="Redis port on 127.0.0.1")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    server = LocalArgilla(LocalArgillaSettings(home=args.home, port=args.port, redis_port=args.redis_port))
    try:
        if args.command == "argilla-down":
            stopped = server.down()
            print(f"Stopped {', '.join(stopped)}." if stopped else "No local Argilla server was running.")
            print(f"Data kept in {args.home} (delete the folder to start afresh).")
            return 0
        if args.command == "argilla-status":
            running = server.is_running()
            print(f"Local Argilla server at {server.settings.url}: {'running' if running else 'not running'}.")
            return 0 if running else 1
        running = server.up()
    except LocalServerError as exc:
        print(exc, file=sys.stderr)
        return 1
    state = "already running" if running.already_running else f"ready in {running.start_seconds:.1f} s"
    print(
        f"Argilla is {state}: {running.url}\n"
        f"  sign in as:  {running.username} / {running.password}\n"
        f"  API key:     export ARGILLA_API_KEY={running.api_key}\n"
        f"  search:      SQLite index in {server.search_db}\n"
        f"  logs:        {server.log_dir}\n"
        "Push generated queries with an `argilla:` section in your config (see "
        "configs/finetune_reviewed.yaml); stop with `python run.py argilla-down`."
    )
    return 0
