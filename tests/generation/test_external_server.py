"""``embedded.server_binary``: the embedded GGUF served by a ``llama-server`` executable.

The start-up errors are checked with real processes (a missing command, one that exits with a
message). The real server, ik_llama.cpp's built by ``make native-llm-ik``, answers a generation
through the project's own path when it is installed; ``.ci/run`` builds it.
"""

import os
import stat
import sys
from pathlib import Path

import pytest

from embedtune import schema
from embedtune.config import ConfigError, EmbeddedLLMConfig, GenerationConfig, load_config
from embedtune.generation.embedded_server import (
    MODEL_ALIAS,
    EmbeddedServerError,
    embedded_server,
    server_command,
)
from embedtune.generation.runner import generate_queries

IK_SERVER = Path(sys.prefix) / "bin" / "ik-llama-server"


def test_command_sets_our_fields_and_ends_with_the_users_flags():
    config = EmbeddedLLMConfig(threads=3, context_size=1024, parallel_slots=2,
                               server_binary="llama-server", server_args=["-fa", "on"])
    cmd = server_command("/usr/bin/llama-server", Path("/m.gguf"), config, 8123)
    assert cmd[0] == "/usr/bin/llama-server" and cmd[-2:] == ["-fa", "on"]
    flags = dict(zip(cmd[1:-2:2], cmd[2:-2:2]))
    assert flags == {"--model": "/m.gguf", "--host": "127.0.0.1", "--port": "8123",
                     "--threads": "3", "--threads-batch": "3", "--ctx-size": "2048",
                     "--parallel": "2", "--alias": MODEL_ALIAS}


def test_server_args_without_a_binary_are_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("corpus: {path: x}\ngeneration: {embedded: {server_args: [--run-time-repack]}}\n")
    with pytest.raises(ConfigError, match="server_args needs generation.embedded.server_binary"):
        load_config(path)


def test_a_missing_binary_says_how_to_get_one():
    config = EmbeddedLLMConfig(server_binary="no-such-llama-server-here")
    with pytest.raises(EmbeddedServerError, match="not an executable .* `make native-llm-ik`"):
        with embedded_server(Path("/unused.gguf"), config):
            pass


def test_a_binary_that_exits_shows_its_last_log_lines(tmp_path):
    fake = tmp_path / "llama-server"
    fake.write_text("#!/bin/sh\necho 'loading model'\necho \"error: unknown argument: $*\" >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    config = EmbeddedLLMConfig(server_binary=str(fake), server_args=["--bogus"])
    with pytest.raises(EmbeddedServerError, match=r"exited with code 3(.|\n)*unknown argument: .*--bogus"):
        with embedded_server(Path("/m.gguf"), config):
            pass


def test_a_binary_that_never_gets_ready_is_stopped(tmp_path):
    fake = tmp_path / "llama-server"
    pid_file = tmp_path / "pid"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    config = EmbeddedLLMConfig(server_binary=str(fake), startup_timeout_s=1.0)
    with pytest.raises(EmbeddedServerError, match="was not ready within 1s"):
        with embedded_server(Path("/m.gguf"), config):
            pass
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # terminated and reaped, not left running
        os.kill(pid, 0)


@pytest.mark.llm
@pytest.mark.skipif(not IK_SERVER.exists(), reason="make native-llm-ik builds .venv/bin/ik-llama-server")
@pytest.mark.parametrize("structured_output", ["json_schema", "gbnf"])
def test_generation_through_ik_llama_server(tmp_path, monkeypatch, structured_output):
    work = tmp_path / "project"
    work.mkdir()
    monkeypatch.chdir(work)  # where a stray llama.log would land
    chunks = [{schema.CHUNK_ID: "c0", schema.DOCUMENT_ID: "d0", schema.SOURCE: "10-K", schema.TEXT:
               "Lyft Pink is a membership program that gives riders 15% off rides, priority airport "
               "pickups, and free bike and scooter unlocks for a monthly fee of $19.99."}]
    config = GenerationConfig(
        queries_per_chunk=3, structured_output=structured_output, cache_dir=tmp_path / "cache",
        embedded=EmbeddedLLMConfig(server_binary=str(IK_SERVER), context_size=2048,
                                   server_args=["--run-time-repack"]),
    )
    result = generate_queries(chunks, config, "train")
    assert not result.failures and len(result.queries) == 3
    assert all(q[schema.QUERY].endswith("?") and q[schema.NEGATIVE_QUERY] for q in result.queries)
    assert result.stats.requests == 1 and result.stats.output_tokens > 0
    assert list(work.iterdir()) == []  # the server ran in a scratch directory of its own
