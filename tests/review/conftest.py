"""A real local Argilla server (argilla-server 2.8 + Redis + rq worker, SQLite search backend),
started once per test session in a temporary home on free ports, and stopped at the end."""

from __future__ import annotations

import socket

import pytest

from embedtune.review.local_server import LocalArgilla, LocalArgillaSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def local_argilla(tmp_path_factory):
    server = LocalArgilla(LocalArgillaSettings(
        home=tmp_path_factory.mktemp("argilla-home"), port=_free_port(), redis_port=_free_port(),
    ))
    yield server
    server.down()


@pytest.fixture(scope="session")
def argilla_server(local_argilla):
    return local_argilla.up()


@pytest.fixture(scope="session")
def argilla_client(argilla_server):
    import argilla as rg

    return rg.Argilla(api_url=argilla_server.url, api_key=argilla_server.api_key)


@pytest.fixture(scope="session")
def annotator(local_argilla, argilla_server):
    """A second user, an annotator in the workspace, with a client of its own."""
    import argilla as rg

    api_key = "annotator1.apikey.for-tests-only"
    local_argilla.add_user("annotator1", "annotator-pass-1", api_key)
    client = rg.Argilla(api_url=argilla_server.url, api_key=api_key)
    return client.me, client
