"""Seconds from one SIGINT (or SIGTERM) to the exit of a real run, signalled mid-generation.

The run is the operations tests' tiny pipeline (tests/e2e/tiny_pipeline.py: the sample corpus,
3 chunks per split) against a scripted LLM on loopback that answers in 1.5 s, or, with
`--embedded`, the embedded llama.cpp server; the signal is sent once the first answer is in the
resume cache, as in tests/e2e/test_interrupt.py, whose helpers it uses.

    flock /tmp/embedtune-cpu.lock .venv/bin/python benchmarks/stop_time.py [--embedded] [--repeat 3]
"""

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.test_interrupt import interrupt_mid_generation, slow_answer  # noqa: E402
from tests.e2e.tiny_pipeline import tiny_config  # noqa: E402
from tests.generation.scripted_server import ScriptedServer  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--embedded", action="store_true")
parser.add_argument("--repeat", type=int, default=3)
args = parser.parse_args()

with ScriptedServer(slow_answer) as server:
    for signum in (signal.SIGINT, signal.SIGTERM):
        for attempt in range(args.repeat):
            root = Path(tempfile.mkdtemp(prefix="embedtune-stop-"))
            env = {**os.environ, "ZENML_CONFIG_PATH": str(root / "zenml"), "ZENML_ANALYTICS_OPT_IN": "false"}
            config = tiny_config(root, server.base_url, "stop-time")
            config["generation"]["concurrency"] = 1
            child = None
            if args.embedded:
                config["generation"] = {"queries_per_chunk": 2, "max_new_tokens": 160, "max_chunks": 3,
                                        "cache_dir": str(root / "generation-cache")}
                child = "embedtune.generation.embedded_server"
            path = root / "run.yaml"
            path.write_text(yaml.safe_dump(config))
            outcome = interrupt_mid_generation(path, env, root / "generation-cache", signum, child)
            left = [c.pid for c in outcome["children"] if c.is_running() and c.status() != "zombie"]
            print(f"{signal.Signals(signum).name} #{attempt + 1}: exit code {outcome['code']} after "
                  f"{outcome['seconds']:.2f} s; children left: {left}", flush=True)
