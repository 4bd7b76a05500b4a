"""A content fingerprint of the corpus, passed to the loading step so ZenML's cache notices when a
file is added, removed or edited (the step's only other input is the folder's path)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def corpus_fingerprint(path: Path, extensions: list[str]) -> str:
    suffixes = {e.lower() for e in extensions}
    files = [path] if path.is_file() else sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in suffixes
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]
