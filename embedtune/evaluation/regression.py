"""General-purpose regression check: does finetuning on one corpus hurt retrieval elsewhere?

A model tuned on a team's filings can lose some of what it knew about everything else. If the
team has any labelled retrieval set on disk (nothing can be downloaded here), list it under
``evaluation.regression_sets`` and the base and finetuned models are compared on it too; the
promotion gate can refuse a model that drops more than ``promotion.max_regression`` there.

The file format is the common ``{"queries": {id: text}, "corpus": {id: text},
"relevant_docs": {query id: [corpus ids]}}`` (llama-index's EmbeddingQAFinetuneDataset, the
format of the seed's ``qa_dataset.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class RegressionSetError(ValueError):
    """A regression set file is missing or malformed."""


@dataclass(frozen=True)
class QASet:
    name: str
    query_ids: list[str]
    queries: list[str]
    relevant: list[set[str]]
    corpus_ids: list[str]
    corpus_texts: list[str]


def load_qa_set(path: Path) -> QASet:
    """Read and check a QA file; every error names the file and what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegressionSetError(f"Regression set {path} does not exist (evaluation.regression_sets).") from None
    except json.JSONDecodeError as exc:
        raise RegressionSetError(f"Regression set {path} is not valid JSON: {exc}") from None
    missing = [k for k in ("queries", "corpus", "relevant_docs") if not isinstance(data.get(k), dict)]
    if missing:
        raise RegressionSetError(
            f"Regression set {path} needs the objects 'queries', 'corpus' and 'relevant_docs'; "
            f"missing or not an object: {', '.join(missing)}."
        )
    corpus, query_ids, queries, relevant = data["corpus"], [], [], []
    for qid, text in data["queries"].items():
        docs = data["relevant_docs"].get(qid)
        if not docs:
            raise RegressionSetError(f"Regression set {path}: query '{qid}' has no relevant_docs.")
        unknown = [d for d in docs if d not in corpus]
        if unknown:
            raise RegressionSetError(
                f"Regression set {path}: query '{qid}' points at ids not in the corpus: {unknown[:3]}."
            )
        query_ids.append(qid)
        queries.append(text)
        relevant.append(set(docs))
    if not queries:
        raise RegressionSetError(f"Regression set {path} has no queries.")
    return QASet(Path(path).stem, query_ids, queries, relevant, list(corpus), list(corpus.values()))
