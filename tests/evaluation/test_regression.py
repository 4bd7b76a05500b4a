import json

import pytest

from embedtune.evaluation.regression import RegressionSetError, load_qa_set

GOOD = {"queries": {"q1": "What is BM25?"}, "corpus": {"d1": "BM25 is a ranking function.", "d2": "x"},
        "relevant_docs": {"q1": ["d1"]}}


def write(tmp_path, data, name="general.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_loads_the_llama_index_qa_format(tmp_path):
    qa = load_qa_set(write(tmp_path, GOOD))
    assert (qa.name, qa.query_ids, qa.relevant, qa.corpus_ids) == ("general", ["q1"], [{"d1"}], ["d1", "d2"])


@pytest.mark.parametrize("data, message", [
    ("{not json", "is not valid JSON"),
    ({"queries": {}, "corpus": {}}, "missing or not an object: relevant_docs"),
    ({**GOOD, "relevant_docs": {}}, "query 'q1' has no relevant_docs"),
    ({**GOOD, "relevant_docs": {"q1": ["d9"]}}, "points at ids not in the corpus: \\['d9'\\]"),
    ({**GOOD, "queries": {}, "relevant_docs": {}}, "has no queries"),
])
def test_bad_files_are_named_with_what_is_wrong(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(RegressionSetError, match=message) as info:
        load_qa_set(path)
    assert str(path) in str(info.value)


def test_missing_file_names_the_setting(tmp_path):
    with pytest.raises(RegressionSetError, match="evaluation.regression_sets"):
        load_qa_set(tmp_path / "nope.json")
