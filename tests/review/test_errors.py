"""Failures say what to do: server unreachable, bad API key, settings changed since the last
push; and a failed push leaves the generated queries saved as a ZenML artifact."""

from __future__ import annotations

import socket

import pytest
from datasets import Dataset
from zenml import step

from embedtune import schema
from embedtune.config import ArgillaConfig
from embedtune.review.client import ArgillaReviewError, connect
from embedtune.review.push import get_or_create_dataset
from embedtune.review.records import review_settings


@step
def generated_queries() -> Dataset:
    """Stands in for the generation step: its output must survive a failed push."""
    from tests.review.test_round_trip import make_rows

    return Dataset.from_list(make_rows())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # released on close: nothing listens there


def test_unreachable_server_names_the_url_and_the_command(monkeypatch):
    monkeypatch.setenv("ARGILLA_API_KEY", "whatever")
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(ArgillaReviewError) as error:
        connect(ArgillaConfig(api_url=url, timeout_s=5))
    assert f"Cannot reach Argilla at {url}" in str(error.value)
    assert "python run.py argilla-up" in str(error.value) and "saved as ZenML artifacts" in str(error.value)


def test_bad_api_key_is_rejected_without_printing_it(monkeypatch, argilla_server):
    monkeypatch.setenv("MY_ARGILLA_KEY", "argilla.apikey.wrong-key-123")
    with pytest.raises(ArgillaReviewError) as error:
        connect(ArgillaConfig(api_url=argilla_server.url, api_key_env="MY_ARGILLA_KEY"))
    assert "rejected the API key from $MY_ARGILLA_KEY" in str(error.value)
    assert "wrong-key-123" not in str(error.value)


def test_missing_key_variable_says_which_variable(monkeypatch, argilla_server):
    monkeypatch.delenv("ARGILLA_API_KEY", raising=False)
    with pytest.raises(ArgillaReviewError, match=r"\$ARGILLA_API_KEY, which is not set"):
        connect(ArgillaConfig(api_url=argilla_server.url))


def test_api_key_from_a_zenml_secret(monkeypatch, argilla_server):
    from zenml.client import Client

    Client().create_secret("argilla-review-test", values={"api_key": argilla_server.api_key})
    monkeypatch.delenv("ARGILLA_API_KEY", raising=False)
    client = connect(ArgillaConfig(api_url=argilla_server.url, zenml_secret="argilla-review-test"))
    assert client.me.username == argilla_server.username


def test_changed_settings_leave_the_dataset_alone_and_say_what_changed(monkeypatch, argilla_server):
    monkeypatch.setenv("ARGILLA_API_KEY", argilla_server.api_key)
    config = ArgillaConfig(api_url=argilla_server.url)
    client = connect(config)
    dataset, created = get_or_create_dataset(client, config, "settings-check", review_settings(384))
    assert created
    again, created = get_or_create_dataset(client, config, "settings-check", review_settings(384))
    assert not created and again.id == dataset.id
    with pytest.raises(ArgillaReviewError) as error:
        get_or_create_dataset(client, config, "settings-check", review_settings(768))
    message = str(error.value)
    assert "'settings-check'" in message and "vector 'query_embedding' changed: 384 -> 768" in message
    assert "delete it in Argilla" in message and "dataset_prefix" in message
    assert client.datasets("settings-check", workspace="argilla").settings.vectors["query_embedding"].dimensions == 384


def test_failed_push_keeps_the_generated_queries_as_an_artifact(monkeypatch, tmp_path):
    """A tiny pipeline: a step that 'generates' queries, then the real push step against a
    server that is not there. The run fails with the message; the queries artifact is stored."""
    monkeypatch.setenv("ARGILLA_API_KEY", "whatever")
    from zenml import pipeline
    from zenml.client import Client

    import steps  # noqa: F401  (registers the datasets materializer)
    from steps.review import push_for_review
    from tests.review.test_round_trip import make_rows

    config = ArgillaConfig(api_url=f"http://127.0.0.1:{closed_port()}", timeout_s=5)

    @pipeline(enable_cache=False)
    def push_only():
        queries = generated_queries()
        push_for_review(queries, queries, argilla=config, base_model="unused", max_seq_length=128)

    with pytest.raises(RuntimeError):
        push_only()
    run = Client().get_pipeline("push_only").last_run
    assert run.steps["push_for_review"].status == "failed"
    saved = run.steps["generated_queries"].outputs["output"][0].load()
    assert saved[schema.QUERY_ID] == [row[schema.QUERY_ID] for row in make_rows()]
