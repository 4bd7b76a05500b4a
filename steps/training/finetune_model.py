from typing import Annotated

from datasets import Dataset
from sentence_transformers import SentenceTransformer
from zenml import ArtifactConfig, log_metadata, step
from zenml.enums import ArtifactType

import constants as C
from embedtune.config import TrainingConfig
from embedtune.training.finetune import finetune
from embedtune.models import load_model, training_device


@step
def finetune_model(
    train_queries: Dataset,
    training: TrainingConfig,
) -> Annotated[
    SentenceTransformer, ArtifactConfig(name=C.FINETUNED_MODEL_ARTIFACT, artifact_type=ArtifactType.MODEL)
]:
    """Finetune the base model on the curated training queries (MNRL, NO_DUPLICATES batches)."""
    device = training_device(training.device)
    model = load_model(training.base_model, training.max_seq_length, device=device)
    model.model_card_data.model_name = "Embedding model finetuned by embedtune"
    model, stats = finetune(model, train_queries.to_list(), training)
    log_metadata({**stats, "base_model": training.base_model, "device": device})
    return model.to("cpu")  # stored, evaluated and served from CPU machines too
