"""Entry point of the local Argilla processes, run with the argilla-server virtualenv's Python.

``python -m argilla_local.server_entry {server,worker,cli} ...`` imports the SQLite search
engine first, so that ``@SearchEngine.register`` has run in this process before argilla-server
looks up ``ARGILLA_SEARCH_ENGINE`` (argilla-server has no plugin entry point), then hands over to
uvicorn, the rq worker, or argilla-server's own CLI (database migration, user creation).
"""

from __future__ import annotations

import argparse
import sys

import argilla_local.sqlite_search  # noqa: F401  (registers ARGILLA_SEARCH_ENGINE=sqlite)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="server_entry")
    sub = parser.add_subparsers(dest="command", required=True)
    server = sub.add_parser("server", help="REST API and web UI")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=6900)
    sub.add_parser("worker", help="rq worker for argilla-server's background jobs")
    cli = sub.add_parser("cli", help="argilla-server's CLI (e.g. database migrate)")
    cli.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    if args.command == "server":
        import uvicorn

        uvicorn.run("argilla_server:app", host=args.host, port=args.port, log_level="warning")
    elif args.command == "worker":
        from argilla_server.jobs.queues import DEFAULT_QUEUE, HIGH_QUEUE, REDIS_CONNECTION
        from rq import Worker

        # One worker in this process (no pool of forked workers): a review server on one machine
        # runs few, short jobs, and a single process is simple to stop.
        Worker([HIGH_QUEUE.name, DEFAULT_QUEUE.name], connection=REDIS_CONNECTION).work()
    else:
        from argilla_server.cli import app

        sys.argv = ["argilla_server", *args.args]
        app()


if __name__ == "__main__":
    main()
