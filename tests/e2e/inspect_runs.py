"""Print, as JSON, what ZenML recorded for the last runs (run as `python -m tests.e2e.inspect_runs`
in a subprocess with the test's ZENML_CONFIG_PATH, so the test process's own ZenML state is never
touched)."""

import json
import sys

from zenml.client import Client

import steps  # noqa: F401  (registers the model materializer, as run.py's export does)

pipeline_name, model_name = sys.argv[1], sys.argv[2]
client = Client()
runs = client.list_pipeline_runs(pipeline_name=pipeline_name, sort_by="asc:created", size=10).items
report = []
for run in runs:
    run = client.get_pipeline_run(run.id)
    report.append(
        {
            "id": str(run.id),
            "status": str(run.status.value),
            "steps": {name: str(step.status.value) for name, step in run.steps.items()},
            "outputs": sorted(
                {out for step in run.steps.values() for out in step.outputs}
            ),
            "model_version": run.model_version.name if run.model_version else None,
        }
    )
versions = client.list_model_versions(model_name_or_id=model_name, size=10).items
metadata = [client.get_model_version(model_name, v.id).run_metadata for v in versions]
# Each version's stored model, encoding one probe text: the exported folder must be the same.
probe = "What is Lyft's mission?"
embeddings = {}
for v in versions:
    artifact = client.get_model_version(model_name, v.id).get_model_artifact("finetuned_model")
    embeddings[v.name] = artifact.load().encode([probe], normalize_embeddings=True)[0].tolist()
# The first run's teacher artifact and training metadata (the teacher's vectors, as stored).
first = client.get_pipeline_run(runs[0].id)
teacher = {}
if "embed_with_teacher" in first.steps:
    vectors = first.steps["embed_with_teacher"].outputs["teacher_embeddings"][0].load()
    teacher = {"queries": len(vectors.query_ids), "chunks": len(vectors.chunk_ids),
               "dim": int(vectors.chunk_vectors.shape[1])}
training_metadata = dict(first.steps["finetune_model"].run_metadata)
stages = {v.name: (str(getattr(v.stage, "value", v.stage)) if v.stage else None) for v in versions}
print(json.dumps({"runs": report, "model_versions": len(versions), "stages": stages,
                  "metadata_keys": [sorted(m) for m in metadata], "probe": probe,
                  "embeddings": embeddings, "teacher": teacher,
                  "training_metadata": training_metadata}, default=str))
