"""How close `run.py plan`'s prompt-token count is to what the embedded LLM server reports.

Plans the sample corpus (configs/default.yaml) as `run.py plan` does, then sends every chunk's
messages to the real embedded llama.cpp server (the project's own `embedded_server`, 1 output
token per request, prompt cache off so that every prompt is fully counted) and compares the
server's `usage.prompt_tokens` with the plan's count, chunk by chunk and in total.

    flock /tmp/embedtune-cpu.lock .venv/bin/python benchmarks/plan_tokens.py [configs/default.yaml]
"""

import dataclasses
import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embedtune.config import load_config  # noqa: E402
from embedtune.corpus import chunk_parts, load_corpus, split_by_document, tokenizer_counter  # noqa: E402
from embedtune.generation.embedded_model import ensure_embedded_gguf  # noqa: E402
from embedtune.generation.embedded_server import MODEL_ALIAS, embedded_server  # noqa: E402
from embedtune.generation.plan import messages_for, prompt_counter  # noqa: E402
from embedtune.training.models import resolve_model_path  # noqa: E402

config = load_config(sys.argv[1] if len(sys.argv) > 1 else "configs/default.yaml")
loaded = load_corpus(config.corpus)
chunks = chunk_parts(loaded.parts, tokenizer_counter(resolve_model_path(config.training.base_model)),
                     config.chunking)
train, test = split_by_document(chunks, config.split)
rows = [dataclasses.asdict(c) for c in [*train, *test]]
count, counted_with, exact = prompt_counter(config.generation)
planned, reported = [], []
with embedded_server(ensure_embedded_gguf(), config.generation.embedded) as base_url:
    for row in rows:
        messages = messages_for(row, config.generation)
        body = json.dumps({"model": MODEL_ALIAS, "messages": messages, "max_tokens": 1,
                           "temperature": 0, "cache_prompt": False}).encode()
        request = urllib.request.Request(f"{base_url}/chat/completions", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=300) as response:
            usage = json.loads(response.read())["usage"]
        planned.append(count(messages))
        reported.append(usage["prompt_tokens"])
errors = [abs(p - r) / r for p, r in zip(planned, reported)]
print(json.dumps({
    "chunks": len(rows), "counted_with": counted_with, "exact": exact,
    "planned_total": sum(planned), "reported_total": sum(reported),
    "total_error_pct": round(100 * abs(sum(planned) - sum(reported)) / sum(reported), 3),
    "max_chunk_error_pct": round(100 * max(errors), 3),
    "chunks_exactly_equal": sum(p == r for p, r in zip(planned, reported)),
}, indent=2))
