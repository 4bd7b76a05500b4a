"""The local Argilla server's own tests share one real server per session (see ``fixtures``)."""

from argilla_local.tests.fixtures import annotator, argilla_client, argilla_server, local_argilla  # noqa: F401
