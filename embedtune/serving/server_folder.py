"""Make a saved model folder readable by embedding servers, and check it as they read it.

sentence-transformers 6 writes ``1_Pooling/config.json`` as ``{"pooling_mode": "mean"}`` and
no ``max_seq_length`` in ``sentence_bert_config.json``. text-embeddings-inference (TEI) reads
the older spelling: its pool config needs the boolean ``pooling_mode_cls_token`` and
``pooling_mode_mean_tokens`` (``pooling_mode_lasttoken`` optional), and when it cannot parse
them it falls back to CLS pooling, a silent wrong answer for a mean-pooled model; it takes the
sequence length from ``sentence_bert_config.json``'s ``max_seq_length``, the prompts from
``config_sentence_transformers.json``, and needs ``config.json`` (``architectures``,
``model_type``, ``max_position_embeddings``) and a fast ``tokenizer.json``.

``prepare_for_servers`` adds the older keys beside the new ones (sentence-transformers loads
both spellings, to the same model), and ``server_problems`` reads the folder the way TEI does.
"""

from __future__ import annotations

import json
from pathlib import Path

from embedtune.serving.onnx_export import ONNX_DIR, pooling_mode

_FLAGS = {"cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens",
          "max": "pooling_mode_max_tokens", "lasttoken": "pooling_mode_lasttoken",
          "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
          "weightedmean": "pooling_mode_weightedmean_tokens"}


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def prepare_for_servers(folder: str | Path, max_seq_length: int) -> None:
    """Write the pooling flags and ``max_seq_length`` that TEI-style servers read."""
    folder = Path(folder)
    pooling_file = folder / "1_Pooling" / "config.json"
    pooling = _read(pooling_file)
    mode = pooling_mode(folder)
    for name, key in _FLAGS.items():
        pooling[key] = name == mode
    _write(pooling_file, pooling)
    bert_file = folder / "sentence_bert_config.json"
    bert = _read(bert_file) if bert_file.is_file() else {}
    bert["max_seq_length"] = int(max_seq_length)
    _write(bert_file, bert)


def server_problems(folder: str | Path) -> list[str]:
    """What a TEI-style server would fail on, or silently get wrong, reading ``folder``."""
    folder = Path(folder)
    problems: list[str] = []
    config_file = folder / "config.json"
    if not config_file.is_file():
        return [f"{config_file} is missing"]
    config = _read(config_file)
    for key in ("architectures", "model_type"):
        if key not in config:
            problems.append(f"config.json has no '{key}'")
    if "max_position_embeddings" not in config and "n_positions" not in config:
        problems.append("config.json has no 'max_position_embeddings'")
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.is_file():
        problems.append("tokenizer.json is missing (servers need the fast tokenizer)")
    else:
        from tokenizers import Tokenizer

        try:
            Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # the tokenizers library's own parse error
            problems.append(f"tokenizer.json does not load: {exc}")
    pooling_file = folder / "1_Pooling" / "config.json"
    if not pooling_file.is_file():
        problems.append("1_Pooling/config.json is missing")
    else:
        pooling = _read(pooling_file)
        for key in ("pooling_mode_cls_token", "pooling_mode_mean_tokens"):
            if not isinstance(pooling.get(key), bool):
                problems.append(f"1_Pooling/config.json has no boolean '{key}' (TEI would fall "
                                "back to CLS pooling)")
        served = ("cls" if pooling.get("pooling_mode_cls_token") else
                  "mean" if pooling.get("pooling_mode_mean_tokens") else
                  "lasttoken" if pooling.get("pooling_mode_lasttoken") else None)
        if not problems and served != pooling_mode(folder):
            problems.append(f"1_Pooling/config.json's flags say '{served}' pooling but the model "
                            f"pools '{pooling_mode(folder)}'")
    bert_file = folder / "sentence_bert_config.json"
    if not bert_file.is_file() or not isinstance(_read(bert_file).get("max_seq_length"), int):
        problems.append("sentence_bert_config.json has no integer 'max_seq_length'")
    if not (folder / "model.safetensors").is_file() and not (folder / ONNX_DIR / "model.onnx").is_file():
        problems.append("neither model.safetensors nor onnx/model.onnx is present")
    st_file = folder / "config_sentence_transformers.json"
    if st_file.is_file() and not isinstance(_read(st_file).get("prompts", {}), dict):
        problems.append("config_sentence_transformers.json's 'prompts' is not a mapping")
    return problems
