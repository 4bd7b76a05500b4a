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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Union

Body = Union[dict, bytes]


def chat_completion(content: str) -> dict:
    return {
        "id": "x", "object": "chat.completion", "created": 0, "model": "scripted",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def passage_of(body: dict) -> str:
    """The chunk text of a generation request (the prompt ends with it)."""
    return body["messages"][-1]["content"].split("Passage:\n", 1)[1]


class ScriptedServer:
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
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def passages(self) -> list[str]:
        return [passage_of(body) for body in self.requests]

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
