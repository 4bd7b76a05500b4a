"""True constants of the ZenML side: artifact names and environment variable names.

Dataset column names and split names live in ``embedtune/schema.py``.

Settings (sizes, rates, prompts, paths) are not constants: they live in the typed config
(`embedtune/config.py`) and are set in `configs/*.yaml`.
"""

# Artifact names (what the ZenML dashboard shows).
CHUNKS_ARTIFACT = "chunks"
QUERIES_ARTIFACT = "queries"
CURATED_QUERIES_ARTIFACT = "curated_train_queries"
CURATION_REPORT_ARTIFACT = "curation_report"
VALIDATION_QUERIES_ARTIFACT = "validation_queries"
TEACHER_EMBEDDINGS_ARTIFACT = "teacher_embeddings"
FINETUNED_MODEL_ARTIFACT = "finetuned_model"
EVALUATION_ARTIFACT = "evaluation"
EVALUATED_TEST_ARTIFACT = "evaluated_test_queries"  # the test queries the evaluation scored
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
