"""Read corpus files in a worker process, so that one file costs at most ``max_seconds_per_file``.

A pathological file can make a parser run for hours (pypdf on some malformed PDFs, an HTML page
that is one huge unclosed tag soup), and C code such as the regex engine cannot be interrupted by
a signal, so a limit enforced inside this process would not hold. The worker is a fresh
interpreter (``python -m embedtune.corpus.reader_process``; not a fork, so it inherits no ZenML
handlers or threads) that reads one file per request and answers with its parts. A file that
takes too long gets the worker killed and replaced, and is skipped as a bad file with the reason;
so is a file on which the worker dies (a crash in native code).

Protocol: one JSON line per request (``path``, ``source``, ``config``) on stdin, one JSON line per
answer on stdout (``parts`` and ``bad_records``, or ``unreadable`` with the reason).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from embedtune.config import CorpusConfig
from embedtune.corpus.formats import DocumentPart, FileContent, UnreadableFile, read_document
from embedtune.shutdown import child_process

_READY = "ready"


class ReaderProcess:
    """``read(path, source, config)`` like ``read_document``, in a worker, with a time limit."""

    def __init__(self, max_seconds: float):
        self.max_seconds = max_seconds
        self._process: subprocess.Popen | None = None
        self._registration = None
        self._buffer = b""

    def __enter__(self) -> "ReaderProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def read(self, path: Path, source: str, config: CorpusConfig) -> FileContent:
        process = self._running()
        request = {"path": str(path), "source": source, "config": config.model_dump(mode="json")}
        assert process.stdin is not None
        try:
            process.stdin.write((json.dumps(request) + "\n").encode())
            process.stdin.flush()
        except BrokenPipeError:
            pass  # it died; reading its answer below says how
        line = self._read_line(time.monotonic() + self.max_seconds)
        if line is None:
            if process.poll() is None:
                self._stop()
                raise UnreadableFile(
                    f"reading took longer than corpus.max_seconds_per_file "
                    f"({self.max_seconds:g} s) and was stopped; check the file, or raise the limit"
                )
            code = process.returncode
            self._stop()
            raise UnreadableFile(f"the reader crashed on this file (worker exit code {code})")
        answer = json.loads(line)
        if "unreadable" in answer:
            raise UnreadableFile(answer["unreadable"])
        return FileContent(
            parts=[DocumentPart(**part) for part in answer["parts"]],
            bad_records=[tuple(item) for item in answer["bad_records"]],
        )

    def _running(self) -> subprocess.Popen:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop()
        project_root = str(Path(__file__).resolve().parents[2])
        python_path = os.pathsep.join(filter(None, [project_root, os.environ.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "embedtune.corpus.reader_process"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": python_path},
        )
        self._registration = child_process(self._process)
        self._registration.__enter__()
        self._buffer = b""
        ready = self._read_line(time.monotonic() + 120)  # start-up (imports) is not the file's time
        if ready != _READY:
            code = self._process.poll()
            self._stop()
            raise RuntimeError(f"The corpus reader process did not start (exit code {code}); run "
                               "`python -m embedtune.corpus.reader_process` to see why.")
        return self._process

    def _read_line(self, deadline: float) -> str | None:
        """The worker's next line, or None at the deadline or when it exits first."""
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            data = os.read(fd, 1 << 20)
            if not data:
                return None
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        if self._registration is not None:
            self._registration.__exit__(None, None, None)
            self._registration = None


def _serve() -> None:
    # The parent decides what a Ctrl-C means (it stops and kills this worker); a terminal sends
    # SIGINT to the whole process group, and a traceback from here would only be noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = sys.stdout
    out.write(_READY + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        config = CorpusConfig.model_validate(request["config"])
        try:
            content = read_document(Path(request["path"]), request["source"], config)
            answer = {"parts": [asdict(part) for part in content.parts],
                      "bad_records": [list(item) for item in content.bad_records]}
        except UnreadableFile as exc:
            answer = {"unreadable": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a reader bug must cost only this file
            answer = {"unreadable": f"unexpected error in the reader ({type(exc).__name__}: "
                      f"{str(exc)[:300]}); please report it"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    _serve()
