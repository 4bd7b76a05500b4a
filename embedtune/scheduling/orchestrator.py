"""The config's ``schedule:`` as a ZenML ``Schedule``, for orchestrators that can schedule.

ZenML itself refuses a schedule on a stack whose orchestrator cannot run one (its check is
``orchestrator.config.is_schedulable``), but only after compiling and registering the pipeline,
with a message that does not say what to do on one machine. We ask the same question first and
answer with the two local choices.
"""

from __future__ import annotations

from dataclasses import dataclass

from embedtune.config import ScheduleConfig
from embedtune.cron import parse_cron


@dataclass(frozen=True)
class OrchestratorInfo:
    stack: str
    orchestrator: str
    flavor: str
    schedulable: bool

    def describe(self) -> str:
        return f"stack '{self.stack}' (orchestrator '{self.orchestrator}', flavor '{self.flavor}')"


class SchedulingUnsupported(RuntimeError):
    """The active stack cannot run schedules; the message names what to do instead."""


def active_orchestrator() -> OrchestratorInfo:
    """The active ZenML stack's orchestrator and whether ZenML will accept a schedule on it."""
    from zenml.client import Client

    stack = Client().active_stack
    orchestrator = stack.orchestrator
    return OrchestratorInfo(
        stack=stack.name,
        orchestrator=orchestrator.name,
        flavor=orchestrator.flavor,
        schedulable=bool(orchestrator.config.is_schedulable),
    )


def unsupported_message(info: OrchestratorInfo, config_path: str) -> str:
    return (
        f"The config asks for a schedule, but the active ZenML {info.describe()} cannot run "
        "schedules (ZenML's local orchestrator never can). Choose one:\n"
        f"  python run.py schedule crontab --config {config_path} --install   # cron runs it\n"
        f"  python run.py schedule loop --config {config_path}                # a foreground scheduler\n"
        f"  python run.py --config {config_path} --run-now                    # one run, now\n"
        "or switch to a stack whose orchestrator schedules (Kubernetes, Airflow, Vertex, SageMaker, "
        "Kubeflow; see 'Running at scale' in README.md)."
    )


def zenml_schedule(schedule: ScheduleConfig):
    """The ``zenml.config.schedule.Schedule`` to pass as ``pipeline.with_options(schedule=...)``."""
    from zenml.config.schedule import Schedule

    if parse_cron(schedule.cron).has_seconds:
        raise SchedulingUnsupported(
            f"schedule.cron '{schedule.cron}' has a seconds field; orchestrators schedule in "
            "minutes. Use 5 fields (the seconds field is for `python run.py schedule loop`)."
        )
    return Schedule(name=schedule.name, cron_expression=schedule.cron, catchup=schedule.catchup)
