"""A real HTTP server on 127.0.0.1 that answers OpenAI chat-completion requests from a script.

It exercises the project's client code (distilabel's OpenAILLM, retries, failure rows, aborts,
the resume cache) over a real socket, with answers a test chooses: well-formed, malformed, 429s
with Retry-After, 500s or 401s. It records every request, its arrival time and how many requests
were in flight at once.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Callable, Union

from tests.generation.loopback import LoopbackServer, passage_of, send_json

Body = Union[dict, bytes]


def chat_completion(content: str) -> dict:
    return {
        "id": "x", "object": "chat.completion", "created": 0, "model": "scripted",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


class ScriptedServer(LoopbackServer):
    """``respond(request_json)`` returns ``(status, body)`` or ``(status, body, headers)``; a
    ``bytes`` body is sent as is (to send malformed JSON)."""

    def __init__(self, respond: Callable[[dict], tuple]):
        self.requests: list[dict] = []
        self.arrivals: list[float] = []
        self.auth_headers: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    outer.requests.append(body)
                    outer.arrivals.append(time.monotonic())
                    outer.auth_headers.append(self.headers.get("Authorization", ""))
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    status, payload, *rest = respond(body)
                finally:
                    with lock:
                        outer.in_flight -= 1
                headers = rest[0] if rest else {}
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                send_json(self, status, data, headers)

            def log_message(self, *args):
                pass

        super().__init__(Handler)

    def passages(self) -> list[str]:
        return [passage_of(body) for body in self.requests]
