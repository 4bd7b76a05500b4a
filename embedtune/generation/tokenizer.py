"""The embedded model's own tokenizer and chat template, for counting prompt tokens offline.

They are read from the GGUF itself (transformers' GGUF loader, via the ``gguf`` package), so the
count is the one llama.cpp makes. Reading them from the 1.1 GB file takes tens of seconds, so
the result is saved once as a Hugging Face tokenizer folder next to the assembled GGUF, named
after its sha256, and loaded from there in about a second.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from embedtune.bundled.files import cache_dir
from embedtune.bundled.llm import GGUF_SHA256, ensure_embedded_gguf

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def embedded_tokenizer():
    from transformers import AutoTokenizer

    folder = cache_dir() / f"tokenizer-{GGUF_SHA256[:16]}"
    if (folder / "tokenizer_config.json").exists():
        return AutoTokenizer.from_pretrained(str(folder))
    gguf = ensure_embedded_gguf()
    logger.info("Reading the embedded model's tokenizer from %s (once)", gguf)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    partial = folder.with_name(folder.name + ".partial")
    tokenizer.save_pretrained(str(partial))
    partial.replace(folder)
    return AutoTokenizer.from_pretrained(str(folder))
