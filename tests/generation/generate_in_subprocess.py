"""Run ``generate_queries`` in a process of its own, so a test can kill it with SIGKILL.

Usage: python tests/generation/generate_in_subprocess.py SPEC.json OUT.json, where SPEC holds
``{"config": {...GenerationConfig...}, "chunks": [...], "split": "train"}``.
"""

import json
import logging
import sys
from pathlib import Path

from embedtune.config import GenerationConfig
from embedtune.generation.runner import generate_queries

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    spec = json.loads(Path(sys.argv[1]).read_text())
    result = generate_queries(spec["chunks"], GenerationConfig(**spec["config"]), spec["split"])
    Path(sys.argv[2]).write_text(json.dumps({"queries": result.queries, "failures": result.failures,
                                             "stats": result.stats.as_dict()}))
