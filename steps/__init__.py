"""ZenML steps, grouped by stage. Steps are thin: the logic lives in ``embedtune``."""

# Registers the Hugging Face Datasets materializer (instead of a pickle) without
# `zenml integration install huggingface`, which would downgrade `datasets`.
import zenml.integrations.huggingface.materializers.huggingface_datasets_materializer  # noqa: F401

import materializers  # noqa: F401  (registers the SentenceTransformer folder materializer)

# Known, harmless library output, silenced where it comes from (each library's own switch), not by
# a global filter: `datasets` draws three "Saving the dataset" bars for every artifact the
# materializer stores, and `transformers` a "Loading weights" bar each time a model is loaded.
# Training, generation and evaluation keep their own progress bars and summary lines.
import datasets  # noqa: E402
import transformers  # noqa: E402

datasets.disable_progress_bars()
transformers.utils.logging.disable_progress_bar()
