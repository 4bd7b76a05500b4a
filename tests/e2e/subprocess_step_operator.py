"""A ZenML step operator that runs its step in a separate local process, for testing.

A real step operator (Kubernetes, SageMaker, Vertex, AzureML...) starts ZenML's step entrypoint
command on another machine, typically one with a GPU. This one starts the same command as a
subprocess of the orchestrator, so a test can check that the training step, and only it, went
through the step operator path with the configured settings. It appends one JSON line per step to
the file named by ``EMBEDTUNE_STEP_OPERATOR_LOG``.
"""

import json
import os
import subprocess
import sys
from typing import Dict, List, Type

from zenml.step_operators import BaseStepOperator, BaseStepOperatorConfig, BaseStepOperatorFlavor

LOG_ENV = "EMBEDTUNE_STEP_OPERATOR_LOG"


class SubprocessStepOperatorConfig(BaseStepOperatorConfig):
    @property
    def is_remote(self) -> bool:
        return False

    @property
    def is_local(self) -> bool:
        return True


class SubprocessStepOperator(BaseStepOperator):
    def launch(self, info, entrypoint_command: List[str], environment: Dict[str, str]) -> None:
        # ZenML's command starts with a bare `python` (a remote image's own); here, this venv's.
        command = [sys.executable, *entrypoint_command[1:]] if entrypoint_command[0] == "python" else entrypoint_command
        done = subprocess.run(command, env={**os.environ, **environment})
        with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
            log.write(json.dumps({"step": info.pipeline_step_name, "returncode": done.returncode,
                                  "resources": info.config.resource_settings.model_dump(exclude_none=True)}) + "\n")
        if done.returncode != 0:
            raise RuntimeError(f"step {info.pipeline_step_name} failed in the step operator's process")


class SubprocessStepOperatorFlavor(BaseStepOperatorFlavor):
    @property
    def name(self) -> str:
        return "subprocess_test"

    @property
    def config_class(self) -> Type[SubprocessStepOperatorConfig]:
        return SubprocessStepOperatorConfig

    @property
    def implementation_class(self) -> Type[SubprocessStepOperator]:
        return SubprocessStepOperator
