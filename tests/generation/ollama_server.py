"""A real HTTP server on 127.0.0.1 that speaks Ollama's chat API (``POST /api/chat``, non-
streaming) from a script, so the ``ollama`` backend runs through the real ``ollama`` client and
distilabel's ``OllamaLLM`` over a real socket."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Callable

from tests.generation.loopback import LoopbackServer, send_json


def chat_response(content: str, prompt_tokens: int = 12, output_tokens: int = 7) -> dict:
    return {"model": "scripted", "created_at": "2026-12-01T00:00:00Z",
            "message": {"role": "assistant", "content": content}, "done": True,
            "done_reason": "stop", "prompt_eval_count": prompt_tokens, "eval_count": output_tokens}


class OllamaServer(LoopbackServer):
    """``respond(request_json)`` returns ``(status, body)``; records every request."""

    def __init__(self, respond: Callable[[dict], tuple]):
        self.requests: list[dict] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    outer.requests.append({"path": self.path, **body})
                status, payload = respond(body)
                send_json(self, status, json.dumps(payload).encode())

            def log_message(self, *args):
                pass

        super().__init__(Handler)

    @property
    def host(self) -> str:
        return self.base_url.removesuffix("/v1")
