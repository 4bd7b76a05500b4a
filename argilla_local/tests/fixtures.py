"""A real local Argilla server (argilla-server 2.8 + Redis + rq worker, SQLite search backend),
started once per test session in a temporary home on free ports, and stopped at the end.

The fixtures are imported by ``argilla_local/tests/conftest.py`` and by the product's review
tests (``tests/review/conftest.py``). Each conftest that imports them gets fixtures of its own,
so the objects are kept here, once per process: a run of both test folders starts one server
and creates the annotator once.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from argilla_local.local_server import LocalArgilla, LocalArgillaSettings

_SESSION: dict[str, Any] = {}


def _once(key: str, make: Callable[[], Any]) -> Any:
    if key not in _SESSION:
        _SESSION[key] = make()
    return _SESSION[key]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def local_argilla(tmp_path_factory):
    server = _once("server", lambda: LocalArgilla(LocalArgillaSettings(
        home=tmp_path_factory.mktemp("argilla-home"), port=free_port(), redis_port=free_port(),
    )))
    yield server
    server.down()  # at the end of the session; a second call finds nothing left to stop


@pytest.fixture(scope="session")
def argilla_server(local_argilla):
    return _once("running", local_argilla.up)


@pytest.fixture(scope="session")
def argilla_client(argilla_server):
    import argilla as rg

    return rg.Argilla(api_url=argilla_server.url, api_key=argilla_server.api_key)


@pytest.fixture(scope="session")
def annotator(local_argilla, argilla_server):
    """A second user, an annotator in the workspace, with a client of its own."""

    def make():
        import argilla as rg

        api_key = "annotator1.apikey.for-tests-only"
        local_argilla.add_user("annotator1", "annotator-pass-1", api_key)
        client = rg.Argilla(api_url=argilla_server.url, api_key=api_key)
        return client.me, client

    return _once("annotator", make)
