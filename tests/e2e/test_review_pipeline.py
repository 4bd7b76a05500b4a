"""The review loop through run.py against the real local Argilla server: a run that pushes the
generated queries, a reviewer rejecting one and correcting another in Argilla, and a run that
pulls, trains and evaluates on exactly the reviewed data (generation reused from the cache)."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from embedtune import schema
from tests.conftest import PROJECT_ROOT, SAMPLE_CORPUS
from tests.review.conftest import annotator, argilla_client, argilla_server, local_argilla  # noqa: F401

pytestmark = pytest.mark.e2e



def run(tmp_path, env, argilla: dict, name: str) -> dict:
    config = {
        "corpus": {"path": str(SAMPLE_CORPUS)},
        "split": {"test_fraction": 0.25, "seed": 7},
        # 3 train chunks: one is held out to choose the reading, two are trained on.
        "generation": {"queries_per_chunk": 2, "max_new_tokens": 160, "max_chunks": 3,
                       "cache_dir": str(tmp_path / "generation-cache"),
                       "domain_context": "Lyft's 2021 annual report (Form 10-K)"},
        "training": {"max_steps": 2, "batch_size": 4},
        # A handful of queries: the round trip could drop them all (it has unit tests).
        "curation": {"filtering": {"round_trip_top_k": None}},
        "model": {"name": "e2e-review-model"},
        "argilla": argilla,
        "output_dir": str(tmp_path / name),
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run([sys.executable, "run.py", "--config", str(path)], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    inspected = subprocess.run([sys.executable, "tests/e2e/inspect_review_run.py"], cwd=PROJECT_ROOT, env=env,
                               capture_output=True, text=True, timeout=300)
    assert inspected.returncode == 0, inspected.stderr[-3000:]
    return json.loads(inspected.stdout.strip().splitlines()[-1])


def test_push_review_pull_finetune(tmp_path, argilla_server, argilla_client):  # noqa: F811
    import argilla as rg

    env = {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml"), "ARGILLA_API_KEY": argilla_server.api_key}
    argilla = {"api_url": argilla_server.url, "dataset_prefix": "e2e"}
    pushed = run(tmp_path, env, {**argilla, "push": True}, "push")
    assert pushed["steps"]["push_for_review"] == "completed" and "pull_reviews" not in pushed["steps"]
    generated = pushed["generated"]
    assert pushed["push"]["records"] >= len(generated) >= 2

    # A reviewer rejects the first train query and corrects the second.
    rejected, corrected = generated[0][schema.QUERY_ID], generated[1][schema.QUERY_ID]
    dataset = argilla_client.datasets(pushed["push"]["dataset"], workspace="argilla")
    me = argilla_client.me
    for record in dataset.records(with_responses=False):
        if record.id == rejected:
            record.responses.add(rg.Response("chunk_answers_query", "no", user_id=me.id, status="submitted"))
        elif record.id == corrected:
            record.responses.add(rg.Response("chunk_answers_query", "yes", user_id=me.id, status="submitted"))
            record.responses.add(rg.Response("corrected_query", "A corrected query?", user_id=me.id,
                                             status="submitted"))
        else:
            continue
        argilla_client.api.records.create_record_responses(record.api_model())

    pulled = run(tmp_path, env, {**argilla, "push": False, "pull": True}, "pull")
    steps = pulled["steps"]
    assert steps["generate_train_queries"] == "cached" and steps["pull_reviews"] == "completed"
    assert steps["finetune_model"] == "completed" and steps["evaluate_models"] == "completed"
    reviewed = {row[schema.QUERY_ID]: row for row in pulled["reviewed"]}
    assert rejected not in reviewed and reviewed[corrected][schema.QUERY] == "A corrected query?"
    assert set(reviewed) == {row[schema.QUERY_ID] for row in generated} - {rejected}
    assert pulled["changes"]["train"]["dropped_not_answered"] == 1
    assert pulled["changes"]["train"]["queries_corrected"] == 1
