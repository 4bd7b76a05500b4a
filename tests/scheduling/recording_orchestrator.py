"""A ZenML orchestrator flavor that can schedule, for testing the schedule pass-through.

It is ZenML's local orchestrator with ``is_schedulable = True``: ZenML's own checks then accept a
``Schedule``, store it, and hand the scheduled snapshot to ``submit_pipeline``. Instead of setting
up a timer (which is what Kubernetes, Airflow or Vertex would do), it writes what it was given to
the JSON file named by ``EMBEDTUNE_RECORDED_SCHEDULE`` and runs nothing.
"""

import json
import os
from typing import Dict, Type

from zenml.orchestrators.local.local_orchestrator import (
    LocalOrchestrator,
    LocalOrchestratorConfig,
    LocalOrchestratorFlavor,
)

RECORD_ENV = "EMBEDTUNE_RECORDED_SCHEDULE"


class RecordingOrchestratorConfig(LocalOrchestratorConfig):
    @property
    def is_schedulable(self) -> bool:
        return True


class RecordingOrchestrator(LocalOrchestrator):
    def submit_pipeline(self, snapshot, stack, base_environment: Dict[str, str],
                        step_environments: Dict[str, Dict[str, str]], placeholder_run=None):
        if snapshot.schedule is None:  # an unscheduled run: run it like the local orchestrator
            return super().submit_pipeline(snapshot, stack, base_environment, step_environments,
                                           placeholder_run)
        with open(os.environ[RECORD_ENV], "w", encoding="utf-8") as out:
            json.dump({
                "pipeline": snapshot.pipeline_configuration.name,
                "schedule_name": snapshot.schedule.name,
                "cron_expression": snapshot.schedule.cron_expression,
                "catchup": snapshot.schedule.catchup,
                "model": snapshot.pipeline_configuration.model.name
                if snapshot.pipeline_configuration.model else None,
                "steps": sorted(snapshot.step_configurations),
            }, out)
        return None


class RecordingOrchestratorFlavor(LocalOrchestratorFlavor):
    @property
    def name(self) -> str:
        return "recording_scheduler"

    @property
    def config_class(self) -> Type[RecordingOrchestratorConfig]:
        return RecordingOrchestratorConfig

    @property
    def implementation_class(self) -> Type[RecordingOrchestrator]:
        return RecordingOrchestrator
