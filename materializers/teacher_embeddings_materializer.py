"""Store TeacherEmbeddings as an .npz of the vectors and a JSON of the ids (no pickle)."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, ClassVar

import numpy as np
from zenml.enums import ArtifactType
from zenml.io import fileio
from zenml.materializers.base_materializer import BaseMaterializer

from embedtune.teacher.embeddings import TeacherEmbeddings

VECTORS, IDS = "vectors.npz", "ids.json"


class TeacherEmbeddingsMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (TeacherEmbeddings,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def load(self, data_type: type[Any]) -> TeacherEmbeddings:
        with fileio.open(os.path.join(self.uri, IDS), "r") as handle:
            ids = json.load(handle)
        with tempfile.TemporaryDirectory(prefix="embedtune-teacher-") as local:
            path = os.path.join(local, VECTORS)
            fileio.copy(os.path.join(self.uri, VECTORS), path)
            with np.load(path) as arrays:
                queries, chunks = arrays["queries"], arrays["chunks"]
        return TeacherEmbeddings(ids["model"], ids["query_ids"], queries, ids["chunk_ids"], chunks,
                                 ids.get("seconds", 0.0))

    def save(self, data: TeacherEmbeddings) -> None:
        with fileio.open(os.path.join(self.uri, IDS), "w") as handle:
            json.dump({"model": data.model, "query_ids": data.query_ids,
                       "chunk_ids": data.chunk_ids, "seconds": data.seconds}, handle)
        with tempfile.TemporaryDirectory(prefix="embedtune-teacher-") as local:
            path = os.path.join(local, VECTORS)
            np.savez(path, queries=data.query_vectors, chunks=data.chunk_vectors)
            fileio.copy(path, os.path.join(self.uri, VECTORS), overwrite=True)

    def extract_metadata(self, data: TeacherEmbeddings) -> dict[str, Any]:
        return {"teacher": data.model, "queries": len(data.query_ids),
                "chunks": len(data.chunk_ids), "seconds": round(data.seconds, 1)}
