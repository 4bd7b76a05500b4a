"""A fault-injecting HTTP proxy on 127.0.0.1 in front of a real OpenAI-compatible server.

``choose_fault(request_json) -> fault | None`` decides each request's fate:
- ``"429"``: answer 429 with ``Retry-After: <retry_after_s>``, without forwarding;
- ``"500"``: answer 500, without forwarding;
- ``"timeout"``: hold the request for ``hold_s`` seconds (longer than the client's timeout), then
  drop it, without forwarding;
- ``"malformed_body"``: forward, then send back only the first half of the server's JSON body;
- ``"malformed_content"``: forward, then cut the model's answer (the message content) in half, so
  the HTTP response is valid but the LLM output is not parsable;
- ``None``: forward unchanged.
Every request is logged with its arrival time, fault and final status.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Callable

from tests.generation.loopback import LoopbackServer, passage_of, send_json


@dataclass
class ProxyLogEntry:
    arrived: float
    passage: str
    fault: str | None
    status: int


class FaultProxy(LoopbackServer):
    def __init__(self, upstream_base: str, choose_fault: Callable[[dict], str | None],
                 retry_after_s: int = 1, hold_s: float = 10.0):
        self.log: list[ProxyLogEntry] = []
        self.forwarded = 0
        lock = threading.Lock()
        outer = self
        upstream = upstream_base.rstrip("/").removesuffix("/v1")

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                arrived = time.monotonic()
                passage = passage_of(body)
                with lock:
                    fault = choose_fault(body)
                status, data, headers = 200, b"", {}
                if fault == "429":
                    status, headers = 429, {"Retry-After": str(retry_after_s)}
                    data = b'{"error": {"message": "rate limited by the fault proxy"}}'
                elif fault == "500":
                    status, data = 500, b'{"error": {"message": "fault proxy: internal error"}}'
                elif fault == "timeout":
                    # Logged on arrival: the run may finish (the client gave up and retried)
                    # before the hold ends, and the test reads the log as soon as it does.
                    with lock:
                        outer.log.append(ProxyLogEntry(arrived, passage, fault, 0))
                    time.sleep(hold_s)
                    self.close_connection = True
                    return
                else:
                    status, data = self._forward(raw)
                    if fault == "malformed_body":
                        data = data[: len(data) // 2]
                    elif fault == "malformed_content" and status == 200:
                        answer = json.loads(data)
                        content = answer["choices"][0]["message"]["content"]
                        answer["choices"][0]["message"]["content"] = content[: len(content) // 2]
                        data = json.dumps(answer).encode()
                with lock:
                    outer.log.append(ProxyLogEntry(arrived, passage, fault, status))
                send_json(self, status, data, headers)

            def _forward(self, raw: bytes) -> tuple[int, bytes]:
                request = urllib.request.Request(
                    upstream + self.path, data=raw, method="POST",
                    headers={"Content-Type": "application/json",
                             "Authorization": self.headers.get("Authorization", "")},
                )
                with lock:
                    outer.forwarded += 1
                try:
                    with urllib.request.urlopen(request, timeout=600) as response:
                        return response.status, response.read()
                except urllib.error.HTTPError as error:
                    return error.code, error.read()

            def log_message(self, *args):
                pass

        super().__init__(Handler)
