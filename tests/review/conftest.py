"""The review tests run against a real local Argilla server (the top-level ``argilla_local``
package: argilla-server 2.8 + Redis + rq worker, SQLite search backend), started once per test
session in a temporary home on free ports, and stopped at the end."""

from argilla_local.tests.fixtures import annotator, argilla_client, argilla_server, local_argilla  # noqa: F401
