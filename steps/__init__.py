"""ZenML steps, grouped by stage. Steps are thin: the logic lives in ``embedtune``."""

# Registers the Hugging Face Datasets materializer (instead of a pickle) without
# `zenml integration install huggingface`, which would downgrade `datasets`.
import zenml.integrations.huggingface.materializers.huggingface_datasets_materializer  # noqa: F401

import materializers  # noqa: F401  (registers the SentenceTransformer folder materializer)
