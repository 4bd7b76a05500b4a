"""Serve the embedded GGUF over an OpenAI-compatible HTTP endpoint on 127.0.0.1, in a subprocess.

Why a subprocess: llama.cpp owns native threads and ~1.5 GB of memory; keeping it out of the
ZenML step's process means nothing forked later inherits it, a crash cannot take the step down
with a half-written artifact, and the engine is fully released when generation ends. Why HTTP:
the step then talks to the embedded model exactly as to any served LLM (distilabel's
``OpenAILLM``), so every backend shares one code path, one prompt and one output format.

Run as ``python -m embedtune.generation.embedded_server --model X.gguf``: prints one JSON line
``{"base_url": ...}`` when ready and serves until stdin closes or it is terminated.

With ``embedded.server_binary`` the same GGUF is served by a ``llama-server`` executable
instead: ik_llama.cpp's, built for the machine's CPU, reads prompts 10-30% faster on 2 cores
than llama.cpp built the same way (benchmarks/README.md, P2), and prompt reading is most of a
chunk's time on a CPU. It speaks the same HTTP API, so nothing after start-up changes.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from embedtune.config import EmbeddedLLMConfig
from embedtune.shutdown import child_process

MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct-q4_k_m"


class EmbeddedServerError(RuntimeError):
    """The embedded LLM server did not start."""


def _serve(model: Path, threads: int, context_size: int, parallel: int) -> None:
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(model)
    params.model_alias = MODEL_ALIAS
    params.n_ctx = context_size * parallel  # llama.cpp divides the context among the slots
    params.n_parallel = parallel
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.cache_prompt = True
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # any free port; the address is reported below
    server = xlc.Server(params)
    print(json.dumps({"base_url": server.listening_address + "/v1"}), flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin (or exits)


@contextmanager
def embedded_server(model: Path, config: EmbeddedLLMConfig) -> Iterator[str]:
    """Start the server subprocess, yield its ``/v1`` base URL, and always stop it."""
    if config.server_binary:
        with external_server(model, config) as url:
            yield url
        return
    project_root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(filter(None, [project_root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "embedtune.generation.embedded_server",
            "--model",
            str(model),
            "--threads",
            str(config.threads),
            "--context-size",
            str(config.context_size),
            "--parallel",
            str(config.parallel_slots),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    interrupted = False
    registration = child_process(process)  # killed even if a second Ctrl-C exits at once
    registration.__enter__()
    try:
        deadline = time.monotonic() + config.startup_timeout_s
        line = ""
        assert process.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            if ready:
                line = process.stdout.readline()
                break
            if process.poll() is not None:
                break
        if not line:
            code = process.poll()
            raise EmbeddedServerError(
                f"The embedded LLM server did not start within {config.startup_timeout_s:.0f}s "
                f"(exit code {code}). Run `python -m embedtune.generation.embedded_server "
                f"--model {model}` to see llama.cpp's log."
            )
        yield json.loads(line)["base_url"]
    except BaseException:
        interrupted = True  # Ctrl-C, SIGTERM or an error: no answer in flight is wanted any more
        raise
    finally:
        if process.stdin:
            process.stdin.close()  # the engine serves until its stdin closes
        _stop(process, terminate=interrupted)
        registration.__exit__(None, None, None)


def _stop(process: subprocess.Popen, terminate: bool) -> None:
    """Ask the server to stop (SIGTERM, or nothing when closing its stdin already did), give it
    a few seconds to exit cleanly, then kill it: a server must never outlive the step. After
    SIGTERM (an interrupted run) the wait is short, so one Ctrl-C ends the run promptly."""
    if terminate:
        process.terminate()
    try:
        process.wait(timeout=5 if terminate else 15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(binary: str, model: Path, config: EmbeddedLLMConfig, port: int) -> list[str]:
    """The ``llama-server`` command line: our fields first, the user's ``server_args`` last."""
    return [
        binary, "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
        "--threads", str(config.threads), "--threads-batch", str(config.threads),
        "--ctx-size", str(config.context_size * config.parallel_slots),
        "--parallel", str(config.parallel_slots), "--alias", MODEL_ALIAS,
        *config.server_args,
    ]


@contextmanager
def external_server(model: Path, config: EmbeddedLLMConfig) -> Iterator[str]:
    """Run ``config.server_binary`` on a free loopback port until its ``/health`` answers 200.

    llama-server answers 503 while it loads the model. Its log goes to a temporary file whose
    tail is shown if it exits or never gets ready, since that is where the reason is.
    """
    assert config.server_binary
    binary = shutil.which(config.server_binary)
    if binary is None:
        raise EmbeddedServerError(
            f"generation.embedded.server_binary {config.server_binary!r} is not an executable "
            "file or a command on PATH. Build one with `make native-llm-ik`, or remove the "
            "setting to use the xllamacpp engine."
        )
    port = _free_port()
    # Its own scratch directory as the working directory: some builds write a trace log
    # (llama.log) there whatever the flags, and it must not land in the user's project.
    with tempfile.TemporaryDirectory(prefix="embedtune-llama-server-") as scratch, \
            open(Path(scratch) / "server.log", "w+") as log:
        command = server_command(os.path.abspath(binary), model.resolve(), config, port)
        process = subprocess.Popen(command, cwd=scratch, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            with child_process(process):
                _wait_until_healthy(process, f"http://127.0.0.1:{port}/health", config, log)
                yield f"http://127.0.0.1:{port}/v1"
        finally:
            _stop(process, terminate=True)


def _wait_until_healthy(process: subprocess.Popen, url: str, config: EmbeddedLLMConfig, log) -> None:
    deadline = time.monotonic() + config.startup_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet, or 503 while loading
        time.sleep(0.25)
    log.flush()
    log.seek(0)
    tail = "".join(log.readlines()[-15:]).strip()
    state = (f"exited with code {process.returncode}" if process.poll() is not None
             else f"was not ready within {config.startup_timeout_s:.0f}s")
    raise EmbeddedServerError(
        f"{config.server_binary} {state}. Its last log lines:\n{tail or '(empty)'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--context-size", type=int, default=4096)
    parser.add_argument("--parallel", type=int, default=1)
    args = parser.parse_args()
    _serve(args.model, args.threads, args.context_size, args.parallel)


if __name__ == "__main__":
    main()
