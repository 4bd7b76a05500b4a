"""Finetune an embedding model on your documents: `python run.py --config configs/default.yaml`.

Other commands:
  python run.py models --config C          the model's versions, key metrics, which is production
  python run.py plan --config C            what generation will send: chunks, cached, requests, tokens, cost
  python run.py search --config C "question" [--compare] [--interactive]   the run's index, searched
  python run.py schedule crontab --config C [--install|--uninstall]   cron runs the config's schedule
  python run.py schedule loop --config C   a foreground scheduler (one subprocess per run)
  python run.py argilla-up | argilla-down | argilla-status   a local Argilla server for review

Reads the YAML config, runs the ZenML pipeline, then exports the finetuned model folder (with
its ONNX exports) and the evaluation report to `output_dir`, updates the corpus index there, and
prints the base-vs-finetuned table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from pathlib import Path

import constants as C

# Before ZenML is imported: no analytics calls (the machine may be offline), no tokenizer fork
# warnings, no hub telemetry.
os.environ.setdefault(C.ZENML_ANALYTICS_ENV, "false")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from embedtune.config import ConfigError, RunConfig, load_config, shaping_settings  # noqa: E402
from embedtune.retrieval.index import RETRIEVAL_FILE  # noqa: E402

INDEX_DIR = "index"  # under output_dir: what `run.py search` reads

logger = logging.getLogger("embedtune")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="YAML run configuration")
    parser.add_argument("--no-cache", action="store_true", help="Run every step again")
    parser.add_argument(
        "--run-now", action="store_true",
        help="Run once now even if the config has a schedule (what cron and the loop call)",
    )
    return parser.parse_args(argv)


def model_version_name(config: RunConfig, corpus_fingerprint: str) -> str:
    """Name the ZenML Model version after what determines the model: the corpus content and the
    settings that shape the data and the training.

    A rerun with unchanged inputs is fully cached and attaches to the same version, which keeps
    its metrics; a numbered version per run would leave every cached rerun as an empty version.
    Changing the corpus or a setting gives a new version; the promotion gate's settings, the
    schedule, where it runs (``execution``) and what is exported for serving (``export``) are
    left out: they decide about a model, when and where to build it, or how to hand it over,
    without changing what is built.
    """
    settings = shaping_settings(config)  # the fields marked in embedtune/config.py
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    return f"data-{corpus_fingerprint[:8]}-cfg-{digest}"


def run(config: RunConfig, enable_cache: bool = True, schedule=None):
    """Run the pipeline for ``config`` and return ZenML's run response.

    With ``schedule`` (a ZenML ``Schedule``) the pipeline is registered on the orchestrator's
    scheduler instead, and ``None`` is returned.
    """
    from zenml import Model, log_metadata

    from embedtune.corpus.fingerprint import corpus_fingerprint
    from embedtune.model_versions import run_record
    from pipelines import embedding_finetuning

    meta = config.model
    fingerprint = corpus_fingerprint(config.corpus)
    model = Model(
        name=meta.name,
        version=model_version_name(config, fingerprint),
        description=meta.description,
        license=meta.license,
        audience=meta.audience,
        use_cases=meta.use_cases,
        limitations=meta.limitations,
        trade_offs=meta.trade_offs,
        ethics=meta.ethics,
        tags=meta.tags,
    )
    options = {"model": model, "enable_cache": enable_cache and config.enable_cache,
               **execution_options(config)}
    if schedule is not None:
        options["schedule"] = schedule
    run_response = embedding_finetuning.with_options(**options)(
        config=config, corpus_fingerprint=fingerprint
    )
    if run_response is None:  # scheduled, not run
        return None
    log_metadata(
        run_record(config, fingerprint, run_response),
        model_name=meta.name, model_version=model.version,
    )
    return run_response


def execution_options(config: RunConfig) -> dict:
    """``execution:`` as ZenML ``with_options`` arguments: pipeline settings, and the training
    step's step operator and settings (every other step stays on the orchestrator)."""
    execution = config.execution
    options: dict = {}
    if execution.settings:
        options["settings"] = dict(execution.settings)
    training: dict = {}
    if execution.training_step_operator:
        training["step_operator"] = execution.training_step_operator
    if execution.training_settings:
        training["settings"] = dict(execution.training_settings)
    if training:
        options["steps"] = {"finetune_model": training}
    return options


def check_stack(config: RunConfig) -> str | None:
    """Why the active ZenML stack cannot run ``config`` (``execution:``), or None if it can."""
    from zenml.client import Client

    stack = Client().active_stack
    wanted = config.execution.stack
    if wanted and stack.name != wanted:
        return (f"This config is meant for the ZenML stack '{wanted}' (execution.stack) but "
                f"'{stack.name}' is active. Switch with `zenml stack set {wanted}`, or remove "
                "execution.stack to run on the active stack.")
    operator = config.execution.training_step_operator
    if operator and (stack.step_operator is None or stack.step_operator.name != operator):
        has = f"step operator '{stack.step_operator.name}'" if stack.step_operator else "no step operator"
        return (f"execution.training_step_operator is '{operator}' but the active stack "
                f"'{stack.name}' has {has}. Add it with `zenml stack update {stack.name} -s "
                f"{operator}`, or remove the setting to train on the orchestrator.")
    return None


def register_schedule(config: RunConfig, config_path: Path, enable_cache: bool) -> int:
    """Pass ``schedule:`` to an orchestrator that schedules; say what to do where none can."""
    from embedtune.scheduling.cron import next_fire_times
    from embedtune.scheduling.orchestrator import (
        SchedulingUnsupported,
        active_orchestrator,
        unsupported_message,
        zenml_schedule,
    )

    info = active_orchestrator()
    if not info.schedulable:
        print(unsupported_message(info, str(config_path)), file=sys.stderr)
        return 2
    try:
        schedule = zenml_schedule(config.schedule)
    except SchedulingUnsupported as exc:
        print(exc, file=sys.stderr)
        return 2
    run(config, enable_cache=enable_cache, schedule=schedule)
    from datetime import datetime

    upcoming = ", ".join(t.isoformat(sep=" ", timespec="minutes")
                         for t in next_fire_times(config.schedule.cron, datetime.now(), 3))
    print(f"Scheduled '{config.schedule.cron}' on {info.describe()}; next runs (local time): "
          f"{upcoming}.\nSee it with `zenml pipeline schedule list`.")
    return 0


def retrieval_spec(evaluation, model_folder: str, max_seq_length: int):
    """``retrieval.json``: the exported model and the reading it was chosen to be served in,
    with the scores behind the choice (``embedtune.retrieval.ParentRetriever`` reads it)."""
    from embedtune.retrieval import Reading, RetrievalSpec

    shipped = evaluation.shipped
    metric = evaluation.metric
    table = evaluation.readings["models"][shipped["model"]]
    return RetrievalSpec(
        model=model_folder, reading=Reading(**shipped["reading"]), max_seq_length=max_seq_length,
        extra={"chosen_on": f"{evaluation.readings['validation_queries']} validation queries, "
                            f"{metric}",
               "validation": {r["reading"]: r[f"validation_{metric}"] for r in table},
               "test": {r["reading"]: r[f"test_{metric}"] for r in table}},
    )


def export_outputs(run_response, output_dir: Path) -> dict[str, Path]:
    """Copy the run's finetuned model (server-ready, with its scored ONNX exports) and report out
    of the artifact store for the user. The model folder is written beside the old one and
    swapped in when complete."""
    import shutil

    import steps  # noqa: F401  (registers the dataset and model materializers)
    from embedtune.serving.onnx_export import ONNX_DIR
    from embedtune.serving.server_folder import prepare_for_servers

    outputs = {name: step_run.outputs for name, step_run in run_response.steps.items()}
    model = outputs["finetune_model"][C.FINETUNED_MODEL_ARTIFACT][0].load()
    evaluation = outputs["evaluate_models"][C.EVALUATION_ARTIFACT][0].load()
    report = outputs["write_report"][C.REPORT_ARTIFACT][0].load()
    summary = outputs["write_report"][C.SUMMARY_ARTIFACT][0].load()
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "model": output_dir / "finetuned-model",
        "retrieval": output_dir / RETRIEVAL_FILE,
        "report": output_dir / "evaluation_report.html",
        "metrics": output_dir / "evaluation.json",
        "summary": output_dir / "evaluation_summary.md",
        "promotion": output_dir / "promotion.json",
        "export": output_dir / "export.json",
    }
    partial = paths["model"].with_name(paths["model"].name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save(str(partial))
    prepare_for_servers(partial, model.max_seq_length)
    if "export_model" in outputs:
        onnx = Path(outputs["export_model"][C.ONNX_EXPORTS_ARTIFACT][0].load())
        if any(onnx.iterdir()):
            shutil.copytree(onnx, partial / ONNX_DIR)
        exports = outputs["export_model"][C.EXPORT_ARTIFACT][0].load()
        paths["export"].write_text(exports.model_dump_json(indent=2), encoding="utf-8")
    else:
        paths["export"].unlink(missing_ok=True)  # a previous run's, for another model
    shutil.rmtree(paths["model"], ignore_errors=True)
    partial.rename(paths["model"])
    retrieval_spec(evaluation, paths["model"].name, model.max_seq_length).write(paths["retrieval"])
    paths["report"].write_text(str(report), encoding="utf-8")
    paths["metrics"].write_text(evaluation.model_dump_json(indent=2), encoding="utf-8")
    paths["summary"].write_text(str(summary), encoding="utf-8")
    promotion = outputs["promote_model"][C.PROMOTION_ARTIFACT][0].load()
    paths["promotion"].write_text(promotion.model_dump_json(indent=2), encoding="utf-8")
    return paths


def update_index(run_response, config: RunConfig, paths: dict[str, Path]):
    """Keep ``<output_dir>/index`` in step with the exported model and this run's chunks
    (``embedtune.serving.index``): rebuilt for a new model, partly re-embedded for changed
    documents, untouched otherwise."""
    from embedtune.retrieval import RetrievalSpec
    from embedtune.serving.index import CorpusIndex
    from embedtune.models import load_model

    spec = RetrievalSpec.read(paths["retrieval"])
    chunks = run_response.steps["chunk_documents"].outputs[C.CHUNKS_ARTIFACT][0].load()
    promotion = json.loads(paths["promotion"].read_text(encoding="utf-8"))
    model = load_model(str(paths["model"]), spec.max_seq_length)
    return CorpusIndex(config.output_dir / INDEX_DIR).update(
        model, paths["model"], spec.reading, chunks.to_list(),
        batch_size=config.evaluation.batch_size,
        details={"model_version": run_response.model_version.name
                 if getattr(run_response, "model_version", None) else None,
                 "promoted": bool(promotion.get("promote"))})


def stage_times(run_response) -> list[tuple[str, str]]:
    """Each step's duration, or 'cached' when ZenML reused an earlier run's output."""
    from zenml.enums import ExecutionStatus

    times = []
    for name, step_run in run_response.steps.items():
        if step_run.status == ExecutionStatus.CACHED:
            times.append((name, "cached"))
        elif step_run.start_time and step_run.end_time:
            seconds = (step_run.end_time - step_run.start_time).total_seconds()
            times.append((name, f"{seconds:.1f} s"))
    return times


def print_plan(config: RunConfig) -> None:
    """The first lines of a run: what generation will send and cost (``embedtune.generation.plan``)."""
    from embedtune.corpus import CorpusError
    from embedtune.generation.plan import plan_run

    try:
        plan = plan_run(config)
    except CorpusError:
        return  # the load step reports it, with the same message, as the run's error
    print("\n".join(plan.lines()), flush=True)


def plan_command(argv: list[str]) -> int:
    """``python run.py plan --config C``: documents, chunks, cached chunks, requests, tokens, cost."""
    parser = argparse.ArgumentParser(prog="run.py plan", description=plan_command.__doc__)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from embedtune.corpus import CorpusError
    from embedtune.generation.plan import plan_run

    try:
        plan = plan_run(load_config(args.config))
    except (ConfigError, CorpusError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(json.dumps(plan.as_dict(), indent=2) if args.json else "\n".join(plan.lines()))
    return 0


def interrupted_message(config: RunConfig, signal_name: str, argv: list[str]) -> str:
    """The line printed when a signal stopped the run: what is kept, and how to go on."""
    from embedtune.generation.resume_cache import default_cache_dir

    command = " ".join(["python run.py", *argv])
    if not config.generation.resume:
        kept = "generation.resume is off, so generation will start from zero."
    else:
        cache = config.generation.cache_dir or default_cache_dir()
        kept = f"Finished chunks are kept in the resume cache ({cache})."
    return (f"Run stopped by {signal_name}; no later step was started. Finished steps are cached "
            f"by ZenML. {kept} Rerunning the same command resumes: {command}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("argilla-"):
        from argilla_local import cli as argilla_cli

        return argilla_cli.main(argv)
    if argv and argv[0] == "schedule":
        from embedtune.scheduling import cli as schedule_cli

        return schedule_cli.main(argv[1:])
    if argv and argv[0] == "models":
        from embedtune import model_versions

        return model_versions.main(argv[1:])
    if argv and argv[0] == "plan":
        return plan_command(argv[1:])
    if argv and argv[0] == "search":
        from embedtune.serving import cli as search_cli

        return search_cli.main(argv[1:], index_dir=INDEX_DIR)
    args = parse_args(argv)
    logging.getLogger("embedtune").setLevel(logging.INFO)  # ZenML's handler prints it
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not config.corpus.path.exists():
        print(
            f"Corpus path {config.corpus.path} (corpus.path in {args.config}) does not exist. "
            "Point it at a folder of documents or a single file.",
            file=sys.stderr,
        )
        return 2
    from embedtune.evaluation.regression import RegressionSetError, load_qa_set

    try:  # checked now, not after an hour of generation and training
        for path in config.evaluation.regression_sets:
            load_qa_set(path)
    except RegressionSetError as exc:
        print(exc, file=sys.stderr)
        return 2
    problem = check_stack(config)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if config.schedule is not None and not args.run_now:
        return register_schedule(config, args.config, enable_cache=not args.no_cache)
    print_plan(config)
    from embedtune.shutdown import Interrupted, exit_code_for, stop_on_signals

    try:
        with stop_on_signals():
            run_response = run(config, enable_cache=not args.no_cache)
    except KeyboardInterrupt as exc:
        signal_name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
        print(f"\n{interrupted_message(config, signal_name, argv)}", file=sys.stderr, flush=True)
        return exit_code_for(signal_name)
    except RuntimeError as exc:
        if "Pipeline run has failed" not in str(exc):
            raise
        # ZenML has already logged the failing step's own error and traceback above.
        print(
            f"\nThe run failed: {exc}\nThe error that caused it is logged above. Steps that "
            "finished keep their outputs in ZenML; after a fix, rerunning the same config reuses "
            "them from the cache instead of recomputing them.",
            file=sys.stderr,
        )
        return 1
    paths = export_outputs(run_response, config.output_dir)
    print("\nStage times:")
    for name, duration in stage_times(run_response):
        print(f"  {name:<24} {duration:>9}")
    index_line = ""
    if config.export.index:
        update = update_index(run_response, config, paths)
        what = (f"rebuilt ({update.reason})" if update.rebuilt else
                f"{update.embedded_chunks} chunks embedded, {update.kept_chunks} kept, "
                f"{update.removed_chunks} removed")
        print(f"  {'index':<24} {update.seconds:>7.1f} s  ({what})")
        index_line = (f"\nIndex: {config.output_dir / INDEX_DIR} ({update.n_chunks} chunks, "
                      f"{update.n_vectors} vectors); try it: python run.py search --config "
                      f"{args.config} \"your question\" --compare")
    print("\n" + paths["summary"].read_text(encoding="utf-8"))
    print(f"Finetuned model: {paths['model']} (served as {paths['retrieval']})\n"
          f"Report: {paths['report']}{index_line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
