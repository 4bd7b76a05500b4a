"""``training.device: cuda`` on a machine without a GPU stops the training step at once with
what to do, instead of training on the CPU for hours. Runs the real step function with the real
torch of this machine; on a machine with a GPU the situation does not arise."""

import pytest
import torch
from datasets import Dataset

from embedtune.config import TrainingConfig


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_fails_the_training_step_clearly_before_loading_the_model():
    from steps.training.finetune_model import finetune_model

    rows = Dataset.from_list([{"query": "q", "positive": "p"}])
    with pytest.raises(RuntimeError) as error:
        finetune_model.entrypoint(rows, training=TrainingConfig(device="cuda", max_steps=1))
    message = str(error.value)
    assert "training.device is 'cuda' but this step sees no GPU" in message
    assert "execution.training_settings" in message and "'auto'" in message


def test_auto_trains_on_the_cpu_here_when_there_is_no_gpu():
    from embedtune.models import training_device

    assert training_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
