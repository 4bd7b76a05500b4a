"""ONNX and int8 ONNX exports of a sentence-transformers model, and an encoder that reads them.

sentence-transformers' own exporters go through optimum, whose ONNX package pins transformers
below 4.58 (this project runs transformers 5), so the export is done here with what installs:
``torch.onnx.export`` of the model's transformer, onnxruntime's extended graph optimizations
(fused attention, GELU and LayerNorm) saved into the file, and onnxruntime's dynamic int8
quantization (weights per channel, activations at run time).

The files follow the layout sentence-transformers' ``backend="onnx"`` and
text-embeddings-inference read: ``onnx/model.onnx`` and ``onnx/model_qint8.onnx`` inside the
model folder, the graph taking the tokenizer's inputs and returning ``last_hidden_state``, with
pooling and normalisation left to the reader, as ``1_Pooling/config.json`` and ``modules.json``
say. ``OnnxModel`` is such a reader: it offers what ``embedtune.encoding`` and the readings use
(``encode_query``, ``encode_document``, ``tokenizer``, ``max_seq_length``, ``prompts``), so an
export is scored by exactly the code that scores the torch model.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from embedtune.encoding import DOCUMENT, QUERY, role_prompts

ONNX_DIR = "onnx"
FORMATS = {"onnx": "model.onnx", "onnx_int8": "model_qint8.onnx"}
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
POOLINGS = ("mean", "cls", "max", "lasttoken")
# Module types a folder may hold for this reader (sentence-transformers 2..6 spellings).
_KNOWN_MODULES = {"Transformer": "transformer", "Pooling": "pooling", "Normalize": "normalize"}


class ExportError(RuntimeError):
    """An export could not be written or read."""


def _module_kinds(folder: Path) -> list[str]:
    """The folder's module chain as ``transformer`` / ``pooling`` / ``normalize``; anything else
    (a Dense projection, a custom module) is refused by name: the graph would not include it."""
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    kinds = []
    for module in modules:
        short = module["type"].rsplit(".", 1)[-1]
        if short not in _KNOWN_MODULES:
            raise ExportError(
                f"{folder} has a '{module['type']}' module; the ONNX export covers Transformer, "
                "Pooling and Normalize only. Serve this model with sentence-transformers, or "
                "leave export.formats empty.")
        kinds.append(_KNOWN_MODULES[short])
    return kinds


def pooling_mode(folder: Path) -> str:
    """The pooling of ``folder/1_Pooling/config.json``, in either the sentence-transformers 6
    spelling (``pooling_mode``) or the older boolean flags."""
    config = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    if config.get("include_prompt") is False:
        raise ExportError(f"{folder} pools without its prompt tokens (include_prompt: false), "
                          "which this reader does not do.")
    mode = config.get("pooling_mode")
    if mode is None:
        flags = {"cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens",
                 "max": "pooling_mode_max_tokens", "lasttoken": "pooling_mode_lasttoken"}
        mode = next((name for name, key in flags.items() if config.get(key)), None)
    if mode not in POOLINGS:
        raise ExportError(f"Pooling '{mode}' in {folder}/1_Pooling/config.json is not supported; "
                          f"supported: {', '.join(POOLINGS)}.")
    return mode


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """(batch, tokens, dim) token states -> (batch, dim), as sentence-transformers pools."""
    mask = mask.astype(hidden.dtype)[..., None]
    if mode == "mean":
        return (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
    if mode == "cls":
        return hidden[:, 0]
    if mode == "max":
        return np.where(mask > 0, hidden, -1e9).max(axis=1)
    last = mask[..., 0].sum(axis=1).astype(int) - 1  # right padding: the last real token
    return hidden[np.arange(len(hidden)), last]


class _Wrapped:
    """The transformer as a module of plain tensors -> ``last_hidden_state``."""

    @staticmethod
    def build(transformer: Any, names: Sequence[str]):
        import torch

        class Graph(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = transformer

            def forward(self, *tensors):
                return self.inner(**dict(zip(names, tensors))).last_hidden_state

        return Graph().eval()


def _trace(model: Any, path: Path) -> None:
    """Trace the transformer with eager attention: onnxruntime fuses and quantizes that graph
    (an SDPA trace runs about 0.7x as fast as torch here, an eager one as fast; the int8 file
    from it about twice as fast), then restore the model's own attention."""
    import torch

    transformer = model[0].auto_model.to("cpu").eval()
    attention = transformer.config._attn_implementation
    sample = model.tokenizer(["an example sentence to trace"], return_tensors="pt")
    names = [n for n in INPUTS if n in sample]
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "tokens"}
    # The tracer warns that transformers' mask helpers branch on shapes; the branches it fixes
    # (no causal mask, no extra padding) hold for every encoder batch, which the tests check
    # with padded batches against the torch model.
    try:
        transformer.set_attn_implementation("eager")
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message="Exporting aten::index operator")
            torch.onnx.export(_Wrapped.build(transformer, names), tuple(sample[n] for n in names),
                              str(path), input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
    finally:
        transformer.set_attn_implementation(attention)


def _optimize(source: Path, target: Path) -> None:
    """onnxruntime's extended graph fusions (attention, GELU, LayerNorm), saved into the file."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8 of the unfused graph (the quantizer does not know the fused operators)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantizer advises its optional pre-processing (shape inference) on the root logger for
    # every model; whether the int8 file is good enough is what the export's scoring measures,
    # so the advice is kept out of the run's log.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


def export_onnx(model: Any, folder: Path, formats: Sequence[str]) -> dict[str, Path]:
    """Write ``formats`` of ``model`` into ``folder/onnx/``; returns format -> file.

    ``folder`` is the saved sentence-transformers folder of ``model`` (its module chain is
    checked first). Each file appears only once complete; nothing partial is left behind.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ExportError(f"Unknown export format(s) {unknown}; choose from {sorted(FORMATS)}.")
    folder = Path(folder)
    _module_kinds(folder)
    pooling_mode(folder)
    out_dir = folder / ONNX_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / "traced.partial.onnx"
    written: dict[str, Path] = {}
    try:
        _trace(model, raw)
        for name in formats:
            target = out_dir / FORMATS[name]
            partial = target.with_name(target.stem + ".partial.onnx")
            (_optimize if name == "onnx" else _quantize)(raw, partial)
            partial.replace(target)
            written[name] = target
    finally:
        for leftover in out_dir.glob("*.partial.onnx"):
            leftover.unlink()
    return written


class OnnxModel:
    """An exported model read with onnxruntime, encoding the way the torch model does.

    The folder is the sentence-transformers folder the export sits in: tokenizer, pooling,
    normalisation, prompts and ``max_seq_length`` all come from it.
    """

    # onnxruntime on CPU runs fastest on small batches (8 texts: 10-15 % faster than 32 here),
    # so a larger requested batch is run in pieces of this size.
    max_batch = 8

    def __init__(self, folder: str | Path, file: str = FORMATS["onnx"],
                 max_seq_length: int | None = None, threads: int | None = None):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        folder = Path(folder)
        path = folder / ONNX_DIR / file
        if not path.is_file():
            raise ExportError(f"No ONNX export at {path}; the pipeline writes it when "
                              "export.formats lists it.")
        kinds = _module_kinds(folder)
        self.pooling = pooling_mode(folder)
        self.normalize = "normalize" in kinds
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.max_seq_length = int(max_seq_length or _max_seq_length(folder, self.tokenizer))
        config = folder / "config_sentence_transformers.json"
        self.prompts = (json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}
                        if config.is_file() else {})
        self.path = path

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               normalize_embeddings: bool = False, **_: Any) -> np.ndarray:
        out = []
        step = max(1, min(batch_size, self.max_batch))
        # Longest first, as sentence-transformers does, so that a batch pads little.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        ordered = [texts[i] for i in order]
        for start in range(0, len(ordered), step):
            batch = self.tokenizer(ordered[start:start + step], padding=True,
                                   truncation=True, max_length=self.max_seq_length,
                                   return_tensors="np")
            hidden = self.session.run(None, {n: batch[n].astype(np.int64)
                                             for n in self.input_names})[0]
            out.append(pool(hidden, batch["attention_mask"], self.pooling))
        if not out:
            return np.zeros((0, self.session.get_outputs()[0].shape[-1]), dtype=np.float32)
        vectors = np.empty((len(texts), out[0].shape[1]), dtype=np.float32)
        vectors[order] = np.concatenate(out)
        if self.normalize or normalize_embeddings:
            vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return vectors

    def _prompted(self, texts: Sequence[str], role: str) -> list[str]:
        prompt = role_prompts(self)[role]
        return [prompt + t for t in texts]

    def encode_query(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        return self.encode(self._prompted(texts, QUERY), **kwargs)

    def encode_document(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        return self.encode(self._prompted(texts, DOCUMENT), **kwargs)


def _max_seq_length(folder: Path, tokenizer: Any) -> int:
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        value = json.loads(config.read_text(encoding="utf-8")).get("max_seq_length")
        if value:
            return int(value)
    return int(min(tokenizer.model_max_length, 512))
