"""The teacher-guided loss on tiny batches with known vectors, and one short real training."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import constants as C
from embedtune.config import TeacherConfig, TrainingConfig
from embedtune.teacher.embeddings import TeacherEmbeddings
from embedtune.training.distillation import TeacherGuidedLoss
from embedtune.training.finetune import finetune, teacher_labels, training_datasets


def loss_with(teacher_q, teacher_c, **weights):
    return TeacherGuidedLoss(None, teacher_q, teacher_c, scale=20.0, **weights)


def batch(seed=0, n=4, d=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)


def test_without_distillation_and_false_negatives_it_is_mnrl():
    anchors, docs = batch()
    eye = np.eye(4, dtype=np.float32)  # the teacher: each query matches only its own chunk
    loss = loss_with(eye, eye, distill_weight=0.0)
    labels = torch.tensor([[i, i] for i in range(4)])
    expected = F.cross_entropy(20 * F.normalize(anchors) @ F.normalize(docs).T, torch.arange(4))
    assert torch.isclose(loss.compute(anchors, [docs], labels), expected)


def test_a_chunk_the_teacher_scores_above_the_positive_is_left_out_of_the_softmax():
    anchors, docs = batch()
    q = np.eye(4, dtype=np.float32)
    c = np.eye(4, dtype=np.float32)
    q[0] = np.array([1, 1, 0, 0]) / np.sqrt(2)  # the teacher finds chunks 0 and 1 equally good for query 0
    loss = loss_with(q, c, distill_weight=0.0)
    labels = torch.tensor([[i, i] for i in range(4)])
    logits = 20 * F.normalize(anchors) @ F.normalize(docs).T
    masked = logits.clone()
    masked[0, 1] = float("-inf")
    expected = F.cross_entropy(masked, torch.arange(4))
    assert torch.isclose(loss.compute(anchors, [docs], labels), expected)
    # Whatever the student thinks of chunk 1 for query 0, the contrastive term ignores it.
    moved = docs.clone()
    moved[1] = anchors[0]
    logits = 20 * F.normalize(anchors) @ F.normalize(moved).T
    logits[0, 1] = float("-inf")
    assert torch.isclose(loss.compute(anchors, [moved], labels),
                         F.cross_entropy(logits, torch.arange(4)))


def test_the_kl_term_vanishes_when_the_student_matches_the_teacher_and_grows_otherwise():
    anchors, docs = batch(n=3, d=3)
    a, d = F.normalize(anchors).numpy(), F.normalize(docs).numpy()
    labels = torch.tensor([[i, i] for i in range(3)])
    # Teacher = the student's own vectors, and the teacher's temperature = the student's.
    same = loss_with(a, d, distill_weight=1.0, distill_temperature=1 / 20, false_negative_margin=-10)
    plain = loss_with(a, d, distill_weight=0.0, false_negative_margin=-10)
    assert torch.isclose(same.compute(anchors, [docs], labels), plain.compute(anchors, [docs], labels),
                         atol=1e-5)
    other = loss_with(np.eye(3, dtype=np.float32), np.eye(3, dtype=np.float32)[::-1].copy(),
                      distill_weight=1.0, false_negative_margin=-10)
    assert other.compute(anchors, [docs], labels) > plain.compute(anchors, [docs], labels) + 0.1


def test_margin_mse_regresses_the_students_margin_on_the_teachers():
    anchors = torch.tensor([[1.0, 0.0, 0.0]])
    positive = torch.tensor([[1.0, 0.0, 0.0]])  # student margin: 1 - 0 = 1
    negative = torch.tensor([[0.0, 1.0, 0.0]])
    q = np.array([[1.0, 0.0]], dtype=np.float32)
    c = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)  # teacher margin: 1 - 0.6 = 0.4
    labels = torch.tensor([[0, 0, 1]])
    with_mse = loss_with(q, c, distill_weight=0.0, margin_mse_weight=1.0, false_negative_margin=5)
    without = loss_with(q, c, distill_weight=0.0, margin_mse_weight=0.0, false_negative_margin=5)
    difference = with_mse.compute(anchors, [positive, negative], labels) - without.compute(
        anchors, [positive, negative], labels)
    assert torch.isclose(difference, torch.tensor((1.0 - 0.4) ** 2))


def test_gradients_reach_the_student():
    anchors, docs = batch()
    anchors.requires_grad_(True)
    eye = np.eye(4, dtype=np.float32)
    loss = loss_with(eye, eye, distill_weight=1.0).compute(anchors, [docs],
                                                           torch.tensor([[i, i] for i in range(4)]))
    loss.backward()
    assert anchors.grad is not None and anchors.grad.abs().sum() > 0


def rows(n=8):
    return [{C.QUERY_ID: f"q{i}", C.QUERY: f"What is item number {i} about?", C.CHUNK_ID: f"c{i}",
             C.POSITIVE: f"Item number {i} is about topic {i} and nothing else.", C.NEGATIVE_QUERY: ""}
            for i in range(n)]


def vectors(n=8, d=16):
    rng = np.random.default_rng(0)
    v = rng.normal(size=(n, d)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return TeacherEmbeddings("t", [f"q{i}" for i in range(n)], v, [f"c{i}" for i in range(n)], v)


def test_rows_carry_the_teacher_positions_of_their_query_and_chunks():
    t = vectors()
    data = rows()
    data[0]["hard_negative_ids"], data[0]["hard_negatives"] = ["c3"], ["x"]
    assert teacher_labels(data[:1], t, 2) == [[0, 0, 3]]
    extra = {**data[1], C.QUERY_ID: "q1+p1", "source_query_id": "q1", C.CHUNK_ID: "c5"}
    assert teacher_labels([extra], t, 1) == [[1, 5]]
    with pytest.raises(ValueError, match="no teacher vector"):
        teacher_labels([{**data[2], C.QUERY_ID: "q2+q3"}], t, 1)


def test_the_label_column_is_read_by_the_loss_not_as_text(base_model_path):
    datasets = training_datasets(rows(), use_llm_negatives=False, teacher=vectors())
    assert datasets["query_to_chunk"].column_names == ["anchor", "positive", "label"]


def test_a_short_training_with_the_teacher_changes_the_model(base_model_path):
    from embedtune.training.models import load_model

    model = load_model(base_model_path, 64)
    before = model.encode(["What is item number 3 about?"])
    config = TrainingConfig(max_seq_length=64, batch_size=4, max_steps=2, learning_rate=1e-4)
    _, stats = finetune(model, rows(), config, vectors(), TeacherConfig(enabled=True, distill_weight=1))
    assert stats["teacher_distillation"] == 1.0 and stats["train_steps"] == 2
    assert not np.allclose(before, model.encode(["What is item number 3 about?"]))


def test_distillation_refuses_options_it_does_not_implement(base_model_path):
    from embedtune.training.models import load_model

    model = load_model(base_model_path, 64)
    config = TrainingConfig(max_seq_length=64, batch_size=4, max_steps=1, guided_negatives=True)
    with pytest.raises(ValueError, match="guided_negatives"):
        finetune(model, rows(), config, vectors(), TeacherConfig(enabled=True, distill_weight=1))


@pytest.mark.teacher
def test_the_bundled_teacher_trains_as_a_base_model_on_cpu():
    """training.base_model: bundled:embeddinggemma-300m, for teams with a GPU; two steps here."""
    from embedtune.training.models import load_model

    model = load_model("bundled:embeddinggemma-300m", 64)
    probe = "What is item number 3 about?"
    before = model.encode_query([probe])
    config = TrainingConfig(base_model="bundled:embeddinggemma-300m", max_seq_length=64,
                            batch_size=4, max_steps=2, learning_rate=1e-5)
    _, stats = finetune(model, rows(), config)
    assert stats["train_steps"] == 2
    assert not np.allclose(before, model.encode_query([probe]))
