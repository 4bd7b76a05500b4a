"""Conformance of the SQLite search backend, through the real argilla-server's REST API.

Each expectation is what argilla-server's Elasticsearch backend answers for the same request
(its query DSL in ``argilla_server/search_engine/commons.py``): AND text search, filters on
metadata, suggestions, responses and record status (``pending`` = no response by that user),
sorting with missing values last, metadata metrics, progress, and cosine similarity search.
"""

from __future__ import annotations

import math

import httpx
import pytest

TEXTS = {  # record id: (text, title, metadata, suggestion (value, score, agent) or None, vector)
    "r0": ("Lyft revenue grew in 2021", "finance", {"split": "train", "year": 2021, "score": 0.9},
           ("yes", 0.9, "a"), [1.0, 0.0, 0.0]),
    "r1": ("Uber and Lyft compete for drivers", "competition", {"split": "train", "year": 2020, "score": 0.5},
           ("no", 0.2, "b"), [0.9, 0.1, 0.0]),
    "r2": ("Drivers earn guaranteed minimum pay", "drivers", {"split": "test", "year": 2019, "score": 0.1},
           ("yes", 0.6, "a"), [0.0, 1.0, 0.0]),
    "r3": ("Revenue from bikes and scooters", "finance", {"split": "test", "score": 0.7},
           None, [0.0, 0.0, 1.0]),
    "r4": ("Lyft's mission is to improve transportation", "mission", {"split": "train", "year": 2021},
           ("no", 0.4, "b"), [0.5, 0.5, 0.0]),
    "r5": ("Insurance costs rose sharply", "costs", {"split": "dev", "year": 2018, "score": 0.3},
           None, [-1.0, 0.0, 0.0]),
}


@pytest.fixture(scope="module")
def dataset(argilla_client, annotator):
    import argilla as rg

    settings = rg.Settings(
        fields=[rg.TextField(name="text"), rg.TextField(name="title")],
        questions=[rg.LabelQuestion(name="label", labels=["yes", "no"])],
        metadata=[rg.TermsMetadataProperty(name="split"), rg.IntegerMetadataProperty(name="year"),
                  rg.FloatMetadataProperty(name="score")],
        vectors=[rg.VectorField(name="vec", dimensions=3)],
    )
    ds = rg.Dataset(name="conformance", settings=settings, client=argilla_client).create()
    ds.records.log([
        rg.Record(id=rid, fields={"text": text, "title": title}, metadata=meta, vectors={"vec": vector},
                  suggestions=[rg.Suggestion("label", s[0], score=s[1], agent=s[2])] if s else [])
        for rid, (text, title, meta, s, vector) in TEXTS.items()
    ])
    owner = argilla_client.me
    annotator_user, annotator_client = annotator
    responses = [  # (client, user, record, status, value)
        (argilla_client, owner, "r0", "submitted", "yes"),
        (argilla_client, owner, "r1", "discarded", "no"),
        (annotator_client, annotator_user, "r0", "submitted", "no"),
        (annotator_client, annotator_user, "r2", "draft", "yes"),
    ]
    for client, user, rid, status, value in responses:
        record = next(r for r in ds.records(with_responses=False) if r.id == rid)
        record.responses.add(rg.Response("label", value, user_id=user.id, status=status))
        client.api.records.create_record_responses(record.api_model())
    ids = {r.id: str(r._server_id) for r in ds.records()}
    return ds, ids


class Api:
    def __init__(self, url: str, api_key: str, dataset_id: str, ids: dict[str, str]):
        self.http = httpx.Client(base_url=url, headers={"X-Argilla-Api-Key": api_key}, timeout=30)
        self.dataset_id, self.ids = dataset_id, ids
        self.names = {v: k for k, v in ids.items()}

    def search(self, body: dict, me: bool = True, **params) -> tuple[list[str], list[float], int]:
        path = f"/api/v1/{'me/' if me else ''}datasets/{self.dataset_id}/records/search"
        response = self.http.post(path, json=body, params=params)
        assert response.status_code == 200, response.text
        data = response.json()
        names = [self.names[item["record"]["id"]] for item in data["items"]]
        return names, [item["query_score"] for item in data["items"]], data["total"]

    def found(self, body: dict, me: bool = True) -> set[str]:
        names, _, total = self.search(body, me)
        assert total == len(names)
        return set(names)

    def get(self, path: str) -> dict:
        response = self.http.get(path)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def owner_api(dataset, argilla_server):
    ds, ids = dataset
    return Api(argilla_server.url, argilla_server.api_key, str(ds.id), ids)


@pytest.fixture(scope="module")
def annotator_api(dataset, argilla_server):
    ds, ids = dataset
    return Api(argilla_server.url, "annotator1.apikey.for-tests-only", str(ds.id), ids)


def text(q: str, field: str | None = None) -> dict:
    return {"query": {"text": {"q": q, **({"field": field} if field else {})}}}


def filters(*items: dict) -> dict:
    return {"filters": {"and": list(items)}}


def terms(scope: dict, *values: str) -> dict:
    return {"type": "terms", "scope": scope, "values": list(values)}


def meta(name: str) -> dict:
    return {"entity": "metadata", "metadata_property": name}


SUGGESTION = {"entity": "suggestion", "question": "label"}
RESPONSE_STATUS = {"entity": "response", "property": "status"}


@pytest.mark.parametrize("query, field, expected", [
    ("lyft revenue", None, {"r0"}),  # AND: r1 has only "lyft", r3 only "revenue"
    ("LYFT", None, {"r0", "r1", "r4"}),  # case-insensitive; "Lyft's" is a match as in ES
    ("lyft | insurance", None, {"r0", "r1", "r4", "r5"}),
    ("lyft -uber", None, {"r0", "r4"}),
    ('"minimum pay"', None, {"r2"}),
    ('"pay minimum"', None, set()),
    ("scoot*", None, {"r3"}),
    ("finance", "title", {"r0", "r3"}),
    ("finance", "text", set()),
    ("revenue finance", None, {"r0", "r3"}),  # terms may match in different fields
])
def test_text_search(owner_api, query, field, expected):
    assert owner_api.found(text(query, field)) == expected


def test_text_search_ranks_better_matches_first(owner_api):
    names, scores, _ = owner_api.search(text("drivers"), me=False)
    assert set(names) == {"r1", "r2"} and scores == sorted(scores, reverse=True) and scores[0] > 0


@pytest.mark.parametrize("condition, expected", [
    (terms(meta("split"), "test"), {"r2", "r3"}),
    (terms(meta("split"), "test", "dev"), {"r2", "r3", "r5"}),
    ({"type": "range", "scope": meta("year"), "ge": 2020}, {"r0", "r1", "r4"}),  # r3: no year
    ({"type": "range", "scope": meta("score"), "le": 0.5}, {"r1", "r2", "r5"}),
    ({"type": "range", "scope": meta("score"), "ge": 0.3, "le": 0.7}, {"r1", "r3", "r5"}),
    (terms({**SUGGESTION, "property": "value"}, "yes"), {"r0", "r2"}),
    ({"type": "range", "scope": {**SUGGESTION, "property": "score"}, "ge": 0.5}, {"r0", "r2"}),
    (terms({**SUGGESTION, "property": "agent"}, "b"), {"r1", "r4"}),
])
def test_filters_on_metadata_and_suggestions(owner_api, condition, expected):
    assert owner_api.found(filters(condition)) == expected


def test_filters_combine_with_and_and_with_text(owner_api):
    assert owner_api.found(filters(terms(meta("split"), "train"),
                                   {"type": "range", "scope": meta("year"), "le": 2020})) == {"r1"}
    assert owner_api.found({**text("lyft"), **filters(terms(meta("split"), "train"))}) == {"r0", "r1", "r4"}


@pytest.mark.parametrize("statuses, owner_sees, annotator_sees", [
    (["pending"], {"r2", "r3", "r4", "r5"}, {"r1", "r3", "r4", "r5"}),  # pending is per user
    (["submitted"], {"r0"}, {"r0"}),
    (["discarded"], {"r1"}, set()),
    (["draft"], set(), {"r2"}),
    (["pending", "discarded"], {"r1", "r2", "r3", "r4", "r5"}, {"r1", "r3", "r4", "r5"}),
])
def test_response_status_filters_for_the_signed_in_user(owner_api, annotator_api, statuses, owner_sees,
                                                         annotator_sees):
    body = filters(terms(RESPONSE_STATUS, *statuses))
    assert owner_api.found(body) == owner_sees
    assert annotator_api.found(body) == annotator_sees


def test_response_status_filters_across_users(owner_api):
    body = lambda *s: filters(terms(RESPONSE_STATUS, *s))  # noqa: E731
    assert owner_api.found(body("pending"), me=False) == {"r3", "r4", "r5"}  # nobody responded
    assert owner_api.found(body("submitted"), me=False) == {"r0"}
    assert owner_api.found(body("draft"), me=False) == {"r2"}


def test_response_value_filters_are_per_user(owner_api, annotator_api):
    body = filters(terms({"entity": "response", "question": "label"}, "no"))
    assert owner_api.found(body) == {"r1"}  # the owner's discarded response carries "no"
    assert annotator_api.found(body) == {"r0"}
    assert annotator_api.found(filters(terms({"entity": "response", "question": "label"}, "yes"))) == {"r2"}


def test_record_status_filter(owner_api):
    # Overlap distribution with min_submitted=1: r0 has a submitted response, so it is completed.
    assert owner_api.found(filters(terms({"entity": "record", "property": "status"}, "completed"))) == {"r0"}
    assert len(owner_api.found(filters(terms({"entity": "record", "property": "status"}, "pending")))) == 5


def sort(scope: dict, order: str) -> dict:
    return {"sort": [{"scope": scope, "order": order}]}


def test_sort_on_metadata_puts_missing_values_last_both_ways(owner_api):
    names, _, _ = owner_api.search(sort(meta("year"), "asc"), me=False)
    assert names[:3] == ["r5", "r2", "r1"] and set(names[3:5]) == {"r0", "r4"} and names[5] == "r3"
    names, _, _ = owner_api.search(sort(meta("year"), "desc"), me=False)
    assert set(names[:2]) == {"r0", "r4"} and names[2:5] == ["r1", "r2", "r5"] and names[5] == "r3"
    names, _, _ = owner_api.search(sort(meta("score"), "desc"), me=False)
    assert names == ["r0", "r3", "r1", "r5", "r2", "r4"]


def test_sort_on_suggestion_score_and_record_property_with_paging(owner_api):
    names, _, _ = owner_api.search(sort({**SUGGESTION, "property": "score"}, "desc"), me=False)
    assert names[:4] == ["r0", "r2", "r4", "r1"] and set(names[4:]) == {"r3", "r5"}
    names, _, total = owner_api.search(sort({"entity": "record", "property": "inserted_at"}, "asc"),
                                       me=False, offset=2, limit=2)
    assert names == ["r2", "r3"] and total == 6


def test_listing_for_a_user_is_a_stable_per_user_order(owner_api, annotator_api):
    first, _, total = owner_api.search({})
    assert total == 6 and sorted(first) == sorted(TEXTS)
    assert owner_api.search({})[0] == first  # deterministic for the same user


def test_metadata_metrics(owner_api, dataset):
    ds, _ = dataset
    properties = {p["name"]: p["id"] for p in owner_api.get(f"/api/v1/me/datasets/{ds.id}/metadata-properties")["items"]}
    split = owner_api.get(f"/api/v1/metadata-properties/{properties['split']}/metrics")
    assert split["type"] == "terms" and split["total"] == 6
    assert split["values"] == [{"term": "train", "count": 3}, {"term": "test", "count": 2},
                               {"term": "dev", "count": 1}]
    year = owner_api.get(f"/api/v1/metadata-properties/{properties['year']}/metrics")
    assert (year["type"], year["min"], year["max"]) == ("integer", 2018, 2021)
    score = owner_api.get(f"/api/v1/metadata-properties/{properties['score']}/metrics")
    assert (score["type"], score["min"], score["max"]) == ("float", 0.1, 0.9)


def test_progress_of_dataset_and_of_each_user(owner_api, annotator_api, dataset):
    ds, _ = dataset
    progress = owner_api.get(f"/api/v1/datasets/{ds.id}/progress")
    assert (progress["total"], progress["completed"], progress["pending"]) == (6, 1, 5)
    mine = owner_api.get(f"/api/v1/me/datasets/{ds.id}/metrics")["responses"]
    assert mine == {"total": 6, "submitted": 1, "discarded": 1, "draft": 0, "pending": 4}
    theirs = annotator_api.get(f"/api/v1/me/datasets/{ds.id}/metrics")["responses"]
    assert theirs == {"total": 6, "submitted": 1, "discarded": 0, "draft": 1, "pending": 4}


def vector_query(**vector) -> dict:
    return {"query": {"vector": {"name": "vec", **vector}}}


def test_similarity_by_value_is_cosine_with_es_score(owner_api):
    names, scores, _ = owner_api.search(vector_query(value=[1.0, 0.0, 0.0]), me=False)
    assert names[:3] == ["r0", "r1", "r4"] and names[-1] == "r5"
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] == pytest.approx((1 + 0.9 / math.sqrt(0.82)) / 2, abs=1e-5)
    assert scores[-1] == pytest.approx(0.0, abs=1e-6)


def test_similarity_by_record_excludes_it_and_honours_filters_and_order(owner_api, dataset):
    _, ids = dataset
    names, _, _ = owner_api.search(vector_query(record_id=ids["r0"]), me=False)
    assert "r0" not in names and names[0] == "r1" and len(names) == 5
    names, _, _ = owner_api.search({**vector_query(record_id=ids["r0"]), **filters(terms(meta("split"), "train"))},
                                   me=False)
    assert names == ["r1", "r4"]
    names, _, _ = owner_api.search(vector_query(record_id=ids["r0"], order="least_similar"), me=False)
    assert names[0] == "r5"
    both = {"query": {**vector_query(value=[1.0, 0.0, 0.0])["query"], **text("drivers")["query"]}}
    names, _, _ = owner_api.search(both, me=False)
    assert names == ["r1", "r2"]


def test_updates_and_deletes_reach_the_index(owner_api, dataset, argilla_client):
    import argilla as rg

    ds, _ = dataset
    ds.records.log([rg.Record(id="r3", fields={"text": "Revenue from bikes and scooters", "title": "finance"},
                              metadata={"split": "test", "year": 2017, "score": 0.7}, vectors={"vec": [0.0, 0.0, 1.0]})])
    names, _, _ = owner_api.search(sort(meta("year"), "asc"), me=False)
    assert names[0] == "r3"
    r5 = next(r for r in ds.records() if r.id == "r5")
    ds.records.delete([r5])
    assert "r5" not in owner_api.found(text("insurance | revenue"), me=False)
    _, _, total = owner_api.search({}, me=False)
    assert total == 5
