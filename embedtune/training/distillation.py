"""The contrastive loss with a teacher beside it: soft targets, margins, and no false negatives.

MNRL learns from hard labels: the chunk a 1.5B LLM wrote the question for is right, every other
chunk in the batch is wrong. Three things the teacher (a stronger embedding model, its vectors
computed once per run) adds, each weighted in ``teacher:``:

- **KL over the batch** (``distill_weight``): the student's softmax over the batch's chunks is
  pulled towards the teacher's (``distill_temperature``), so it learns how much better the right
  chunk is and which wrong ones are nearly right, not only which one was labelled.
- **MarginMSE** (``margin_mse_weight``, GPL, Wang et al. 2022): on (query, positive, mined
  negative), the student's score margin regresses on the teacher's.
- **No in-batch false negatives**: a batch chunk the teacher scores at least as high as the
  query's own (less ``false_negative_margin``) is left out of the contrastive softmax, as
  GISTEmbed does with a guide model; in a filing that repeats itself such chunks are often
  answers too.

Each row carries, in its ``label`` column, the positions of its query and of its chunks in the
teacher's vectors, so any (query, chunk) teacher score in the batch is one dot product.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LABEL = "label"


class TeacherGuidedLoss(nn.Module):
    def __init__(
        self,
        model: Any,
        query_vectors: np.ndarray,
        chunk_vectors: np.ndarray,
        scale: float = 20.0,
        distill_weight: float = 1.0,
        distill_temperature: float = 0.05,
        margin_mse_weight: float = 0.0,
        false_negative_margin: float = 0.0,
    ) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("teacher_queries", torch.as_tensor(np.asarray(query_vectors, np.float32)),
                             persistent=False)
        self.register_buffer("teacher_chunks", torch.as_tensor(np.asarray(chunk_vectors, np.float32)),
                             persistent=False)
        self.scale = scale
        self.distill_weight = distill_weight
        self.distill_temperature = distill_temperature
        self.margin_mse_weight = margin_mse_weight
        self.false_negative_margin = false_negative_margin

    def forward(self, sentence_features: Iterable[dict[str, torch.Tensor]],
                labels: torch.Tensor) -> torch.Tensor:
        reps = [self.model(features)["sentence_embedding"] for features in sentence_features]
        return self.compute(reps[0], reps[1:], labels)

    def compute(self, anchors: torch.Tensor, doc_columns: list[torch.Tensor],
                labels: torch.Tensor) -> torch.Tensor:
        """The loss from embeddings: anchors (B, d); one (B, d) tensor per chunk column
        (positive, then each negative); labels (B, 1 + columns) teacher positions."""
        batch = anchors.shape[0]
        labels = labels.long().to(anchors.device)
        anchors = F.normalize(anchors, dim=-1)
        docs = F.normalize(torch.cat(doc_columns), dim=-1)  # column-major: all positives first
        student = anchors @ docs.T  # (B, B * columns) cosines
        doc_positions = labels[:, 1:].T.reshape(-1)
        teacher = self.teacher_queries[labels[:, 0]] @ self.teacher_chunks[doc_positions].T
        target = torch.arange(batch, device=anchors.device)
        own = teacher[target, target].unsqueeze(1)
        false_negative = teacher >= own - self.false_negative_margin
        false_negative[target, target] = False
        logits = (student * self.scale).masked_fill(false_negative, float("-inf"))
        loss = F.cross_entropy(logits, target)
        if self.distill_weight > 0:
            soft = F.softmax(teacher / self.distill_temperature, dim=1)
            loss = loss + self.distill_weight * F.kl_div(
                F.log_softmax(student * self.scale, dim=1), soft, reduction="batchmean")
        if self.margin_mse_weight > 0 and len(doc_columns) > 1:
            columns = len(doc_columns)
            s = student[target.repeat(columns), torch.arange(batch * columns, device=anchors.device)]
            t = teacher[target.repeat(columns), torch.arange(batch * columns, device=anchors.device)]
            s, t = s.view(columns, batch), t.view(columns, batch)
            loss = loss + self.margin_mse_weight * F.mse_loss(s[0] - s[1:], t[0] - t[1:])
        return loss

    @property
    def citation(self) -> str:
        return "GPL (Wang et al., 2022) MarginMSE; GISTEmbed (Solatorio, 2024) guided negatives"

    def get_config_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "distill_weight": self.distill_weight,
                "distill_temperature": self.distill_temperature,
                "margin_mse_weight": self.margin_mse_weight,
                "false_negative_margin": self.false_negative_margin}
