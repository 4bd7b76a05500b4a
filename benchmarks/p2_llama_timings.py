"""Where the embedded LLM's time goes: llama.cpp's own timings per request.

Starts xllamacpp's server in this process with the same parameters as
``embedtune.generation.embedded_server`` (plus what the JSON argument changes), sends the
project's prompt and JSON schema for chunks of the Lyft 10-K cut to ``words`` words, and prints
seconds per chunk, new prompt tokens, reused prefix tokens (``cache_n``), prompt and output
tokens/s, and one raw answer. One warm-up chunk runs first.

    python benchmarks/p2_llama_timings.py '{"n": 4, "parallel": 1, "words": 300}'
    python benchmarks/p2_llama_timings.py '{"n": 4, "words": 300, "compact": true}'
    python benchmarks/p2_llama_timings.py '{"n": 4, "words": 300, "spec": true,
                                            "spec_params": {"size_n": 4, "size_m": 16}}'
"""
import concurrent.futures as cf
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import xllamacpp as xlc  # noqa: E402

from embedtune.generation.embedded_model import ensure_embedded_gguf  # noqa: E402
from embedtune.generation.prompts import build_messages, output_constraint  # noqa: E402

cfg = json.loads(sys.argv[1])
n = cfg.get("n", 6); par = cfg.get("parallel", 1); words = cfg.get("words", 300)
p = xlc.CommonParams()
p.model.path = cfg.get("model") or str(ensure_embedded_gguf()); p.model_alias = "m"
p.n_ctx = 4096 * par; p.n_parallel = par
p.cpuparams.n_threads = 2; p.cpuparams_batch.n_threads = 2
p.cache_prompt = True; p.hostnames = ["127.0.0.1"]; p.port = 0
if cfg.get("ubatch"): p.n_ubatch = cfg["ubatch"]; p.n_batch = max(p.n_batch, cfg["ubatch"])
if cfg.get("spec"):
    p.speculative.types = [xlc.common_speculative_type.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE]
    for k, v in cfg.get("spec_params", {}).items(): setattr(p.speculative.ngram_simple, k, v)
server = xlc.Server(p)
url = server.listening_address + "/v1/chat/completions"
corpus = list(json.load(open(cfg.get("data", "../shared/data/seed-10k-lyft") + "/corpus.json")).values())
chunks = [c for c in corpus if len(c.split()) >= words][:n + 1]
def ask(chunk):
    msgs = build_messages(chunk, n_queries=3, domain_context="Lyft's 2021 annual report (Form 10-K)", max_chunk_words=words)
    body = {"model": "m", "messages": msgs, "max_tokens": 320, "temperature": 0.0,
            # the project's request fields: the JSON schema, or with "compact" the GBNF grammar
            **output_constraint("gbnf" if cfg.get("compact") else "json_schema", 3)}
    body.update(cfg.get("extra", {}))
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    t = time.monotonic()
    out = json.loads(urllib.request.urlopen(req, timeout=600).read())
    return time.monotonic() - t, out
ask(chunks[0])  # warm: system prompt prefix cached
t0 = time.monotonic()
with cf.ThreadPoolExecutor(par) as ex:
    results = list(ex.map(ask, chunks[1:]))
wall = time.monotonic() - t0
pt = sum(r[1]["timings"]["prompt_n"] for r in results); pms = sum(r[1]["timings"]["prompt_ms"] for r in results)
gt = sum(r[1]["timings"]["predicted_n"] for r in results); gms = sum(r[1]["timings"]["predicted_ms"] for r in results)
cache = sum(r[1]["timings"].get("cache_n", 0) for r in results)
print(json.dumps(cfg), f"s/chunk={wall/len(results):.2f} prompt_n/chunk={pt/len(results):.0f} cached/chunk={cache/len(results):.0f} "
      f"prompt_tok/s={pt/pms*1000:.1f} gen_n/chunk={gt/len(results):.0f} gen_tok/s={gt/gms*1000:.1f}", flush=True)
print("RAW:", results[0][1]["choices"][0]["message"]["content"][:400].replace("\n", "\\n"))
print("TIMINGS:", results[0][1]["timings"])
