"""The columns of the datasets that flow between the stages, and the split names.

One home for them: every stage reads and writes rows by these names, so a stage never has to
import another stage to know a column. Artifact names (what the ZenML dashboard shows) and
environment variables belong to the ZenML side, in the top-level ``constants.py``.
"""

# The chunk dataset (one row per chunk).
CHUNK_ID = "chunk_id"
DOCUMENT_ID = "document_id"
SOURCE = "source"
PAGE = "page"
SECTION = "section"
POSITION = "position"
TEXT = "text"
N_TOKENS = "n_tokens"
SPLIT = "split"

# The generated query dataset (one row per query).
QUERY_ID = "query_id"
QUERY = "query"
POSITIVE = "positive"  # the chunk text the query was generated from
NEGATIVE_QUERY = "negative_query"  # the LLM's related question the chunk does not answer
MODEL_NAME = "model_name"

# Added by curation to the training rows.
HARD_NEGATIVES = "hard_negatives"  # mined negative chunk texts
HARD_NEGATIVE_IDS = "hard_negative_ids"
POSITIVE_SCORE = "positive_score"  # the base model's cosine of the query and its chunk
ROUND_TRIP_RANK = "round_trip_rank"  # where the base model ranks the query's chunk
TEACHER_RANK = "teacher_rank"  # where the teacher ranks it among the training chunks

# Added by the review pull.
REVIEW_STATUS = "review_status"  # reviewed / unreviewed
ORIGINAL_QUERY = "original_query"  # the LLM's query when a reviewer corrected it

# The generation failure dataset (one row per failed chunk); dropped queries reuse REASON.
FAILURE_REASON = "reason"
RAW_OUTPUT = "raw_output"
ATTEMPTS = "attempts"  # requests sent for the chunk, retries included

# Split names.
TRAIN = "train"
TEST = "test"
VALIDATION = "validation"
