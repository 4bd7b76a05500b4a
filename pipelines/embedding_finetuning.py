from zenml import pipeline

from embedtune import schema
from embedtune.config import RunConfig
from steps.curation import curate_queries
from steps.etl import chunk_documents, load_documents, split_chunks
from steps.evaluation import evaluate_models, promote_model, write_report
from steps.generation import generate_queries
from steps.review import pull_reviews, push_for_review
from steps.serving import export_model
from steps.teacher import embed_with_teacher
from steps.training import finetune_model


@pipeline
def embedding_finetuning(config: RunConfig, corpus_fingerprint: str) -> None:
    """Documents -> chunks -> train/test split -> synthetic queries -> (the teacher's vectors)
    -> validation hold-out and curation -> finetune -> evaluate (every reading; the shipped one chosen on validation) ->
    promotion gate -> ONNX exports, each scored -> report.

    With an ``argilla:`` section the queries are pushed to Argilla for review, and with
    ``argilla.pull`` the reviewed queries (corrections applied) replace them for curation,
    training and evaluation.
    """
    documents = load_documents(corpus=config.corpus, corpus_fingerprint=corpus_fingerprint)
    chunks = chunk_documents(
        documents, chunking=config.chunking, base_model=config.training.base_model
    )
    train_chunks, test_chunks = split_chunks(chunks, split=config.split)
    train_queries, train_failures, train_generation = generate_queries(
        train_chunks, generation=config.generation, split=schema.TRAIN, id="generate_train_queries"
    )
    test_queries, test_failures, test_generation = generate_queries(
        test_chunks, generation=config.generation, split=schema.TEST, id="generate_test_queries"
    )
    review = config.argilla
    if review is not None and review.push:
        push_for_review(
            train_queries, test_queries, argilla=review, base_model=config.training.base_model,
            max_seq_length=config.training.max_seq_length,
        )
    if review is not None and review.pull:
        train_queries, test_queries, _ = pull_reviews(
            train_queries, test_queries, argilla=review,
            after="push_for_review" if review.push else None,
        )
    teacher = config.teacher
    teacher_embeddings = (embed_with_teacher(train_queries, train_chunks, teacher=teacher)
                          if teacher.guides else None)
    curated, curation_report, validation_queries = curate_queries(
        train_queries, train_chunks, curation=config.curation,
        base_model=config.training.base_model, max_seq_length=config.training.max_seq_length,
        validation_fraction=config.retrieval.validation_fraction, seed=config.split.seed,
        teacher_embeddings=teacher_embeddings, teacher=teacher if teacher.guides else None,
    )
    model = finetune_model(curated, training=config.training)
    evaluation, evaluated_test = evaluate_models(
        model, test_queries, validation_queries, chunks, curation_report, train_failures,
        test_failures, training=config.training, curation=config.curation,
        evaluation=config.evaluation, retrieval=config.retrieval, teacher=teacher,
    )
    decision = promote_model(
        evaluation, evaluated_test, chunks, evaluation=config.evaluation,
        promotion=config.promotion,
    )
    exports = None
    if config.export.formats:
        exports, _ = export_model(model, evaluated_test, chunks, evaluation, export=config.export,
                                  evaluation=config.evaluation)
    write_report(evaluation, decision, train_generation, test_generation, exports)
