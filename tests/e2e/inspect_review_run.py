"""Print, as JSON, the review-related outputs of the last `embedding_finetuning` run (run in a
subprocess with the test's ZENML_CONFIG_PATH; loading artifacts needs a real script file)."""

import json

import steps  # noqa: F401  (registers the datasets materializer)
from zenml.client import Client

run = Client().get_pipeline("embedding_finetuning").last_run
outputs = {name: step.outputs for name, step in run.steps.items()}


def load(step: str, artifact: str):
    return outputs[step][artifact][0].load() if step in outputs else None


reviewed = load("pull_reviews", "reviewed_train_queries")
pushed = load("push_for_review", "argilla_push")
print(json.dumps({
    "steps": {name: step.status.value for name, step in run.steps.items()},
    "push": pushed.model_dump() if pushed is not None else None,
    "changes": load("pull_reviews", "review_changes"),
    "generated": load("generate_train_queries", "queries").to_list(),
    "reviewed": reviewed.to_list() if reviewed is not None else None,
}, default=str))
