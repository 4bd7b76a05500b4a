"""Pass a config's schedule to ZenML *without* run.py's schedulable pre-check, so that a test can
see ZenML's own check answer on the active stack. Usage: python this.py CONFIG"""

import sys
from pathlib import Path

from zenml.utils.source_utils import set_custom_source_root

import run
from embedtune.config import load_config
from embedtune.scheduling.orchestrator import zenml_schedule

PROJECT_ROOT = Path(__file__).resolve().parents[2]

set_custom_source_root(str(PROJECT_ROOT))
config = load_config(sys.argv[1])
run.run(config, schedule=zenml_schedule(config.schedule))
