"""True constants: dataset column names, artifact names, environment variable names.

Settings (sizes, rates, prompts, paths) are not constants: they live in the typed config
(`embedtune/config.py`) and are set in `configs/*.yaml`.
"""

# Columns of the chunk dataset.
CHUNK_ID = "chunk_id"
DOCUMENT_ID = "document_id"
SOURCE = "source"
PAGE = "page"
SECTION = "section"
POSITION = "position"
TEXT = "text"
N_TOKENS = "n_tokens"
SPLIT = "split"

# Columns of the generated query dataset (one row per query).
QUERY_ID = "query_id"
QUERY = "query"
POSITIVE = "positive"  # the chunk text the query was generated from
NEGATIVE_QUERY = "negative_query"  # LLM's related question the chunk does not answer
MODEL_NAME = "model_name"

# Columns of the generation failure dataset (one row per failed chunk).
FAILURE_REASON = "reason"
RAW_OUTPUT = "raw_output"
ATTEMPTS = "attempts"  # requests sent for the chunk, retries included

# Split names.
TRAIN = "train"
TEST = "test"
VALIDATION = "validation"

# Artifact names (what the ZenML dashboard shows).
CHUNKS_ARTIFACT = "chunks"
QUERIES_ARTIFACT = "queries"
CURATED_QUERIES_ARTIFACT = "curated_train_queries"
CURATION_REPORT_ARTIFACT = "curation_report"
VALIDATION_QUERIES_ARTIFACT = "validation_queries"
TEACHER_EMBEDDINGS_ARTIFACT = "teacher_embeddings"
FINETUNED_MODEL_ARTIFACT = "finetuned_model"
EVALUATION_ARTIFACT = "evaluation"
PROMOTION_ARTIFACT = "promotion_decision"
EXPORT_ARTIFACT = "export_report"
ONNX_EXPORTS_ARTIFACT = "onnx_exports"
REPORT_ARTIFACT = "evaluation_report"
SUMMARY_ARTIFACT = "evaluation_summary"
ARGILLA_PUSH_ARTIFACT = "argilla_push"
REVIEWED_TRAIN_ARTIFACT = "reviewed_train_queries"
REVIEWED_TEST_ARTIFACT = "reviewed_test_queries"
REVIEW_CHANGES_ARTIFACT = "review_changes"

# Environment variables.
ZENML_ANALYTICS_ENV = "ZENML_ANALYTICS_OPT_IN"
CACHE_DIR_ENV = "EMBEDTUNE_CACHE_DIR"
