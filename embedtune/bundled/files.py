"""The cache folder and file hashes that the bundled models share."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CACHE_DIR_ENV = "EMBEDTUNE_CACHE_DIR"


def cache_dir() -> Path:
    """Where assembled models and reusable results live: ``$EMBEDTUNE_CACHE_DIR`` or
    ``~/.cache/embedtune``."""
    return Path(os.environ.get(CACHE_DIR_ENV, Path.home() / ".cache" / "embedtune"))


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in 16 MiB blocks (models are ~1 GB)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(16 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
