"""Read a team's documents into text parts, one part per page, heading section, file or record.

Real document folders are messy: a scanned PDF, a stray binary, a Latin-1 text export. The
loader's job is to turn what it can read into clean text with enough metadata (file, page,
section) for a person to find the passage again, and to say precisely which file it could not
read and why, so that a run over hundreds of files neither dies silently on file 213 nor trains
on garbage.

What the loader reads is bounded, because its text goes on to the LLM (possibly a remote API),
the artifacts and Argilla:
- nothing outside ``corpus.path``: a symlink whose target is outside the corpus root is skipped
  and named (``corpus.follow_symlinks_outside`` allows it), and a symlinked folder that leads
  back into a folder being read (a loop) is not followed;
- a bad record of a JSON/JSONL file costs only itself: it is skipped and named by its line or
  index, and the file's good records load;
- every reader either returns text or raises ``UnreadableFile`` with a reason; and each file is read
  in a worker process with a time limit (``reader_process``), so a file that would make a
  parser hang or crash costs only itself.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from tqdm import tqdm

from embedtune.config import CorpusConfig, OnBadFile

from embedtune.corpus.formats import (
    SUPPORTED_EXTENSIONS,
    DocumentPart,
    FileContent,
    UnreadableFile,
    read_document,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class SkippedRecord:
    """A JSON/JSONL record that was not loaded; ``where`` is ``line N`` or ``record N``."""

    path: str
    where: str
    reason: str


@dataclass
class LoadResult:
    """The parts that were read, and an account of the files that were not."""

    parts: list[DocumentPart]
    skipped: list[SkippedFile]
    ignored: int  # files whose suffix is not in corpus.extensions
    skipped_records: list[SkippedRecord] = field(default_factory=list)
    skipped_links: list[SkippedFile] = field(default_factory=list)  # outside the root, loops

    def counts(self) -> dict[str, int]:
        """The numbers the load step logs and records."""
        return {
            "documents": len({part.document_id for part in self.parts}),
            "parts": len(self.parts),
            "files_skipped": len(self.skipped),
            "files_ignored": self.ignored,
            "records_skipped": len(self.skipped_records),
            "symlinks_skipped": len(self.skipped_links),
        }


class CorpusError(ValueError):
    """The corpus cannot be used as configured; the message names the file and the fix."""


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def corpus_files(root: Path, follow_symlinks_outside: bool = False
                 ) -> tuple[list[Path], list[SkippedFile]]:
    """Every non-hidden file under ``root`` in a fixed order (so chunk order is reproducible),
    and the symlinks that were not followed, with why.

    A symlink is followed when its target is inside ``root`` (or ``follow_symlinks_outside``),
    except a folder link into a folder already on the way down (a loop). A file reached twice
    (a link to a file that is also read directly) is read once, under the first path in order.
    Paths are returned as seen from ``root`` (a link keeps its own name); nothing is opened.
    """
    if root.is_file():
        return [root], []
    real_root = root.resolve()
    files: list[Path] = []
    skipped: list[SkippedFile] = []

    def skip(path: Path, reason: str) -> None:
        skipped.append(SkippedFile(path=path.relative_to(root).as_posix(), reason=reason))

    def walk(folder: Path, real_folder: Path, ancestors: frozenset[Path]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            skip(folder, f"folder cannot be listed ({exc.strerror or exc})")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            if entry.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except RuntimeError:  # a chain of links that never ends
                    skip(path, "symlink loop (the link points back to itself); not followed")
                    continue
                except OSError:
                    skip(path, f"broken symlink (points to {os.readlink(path)}, which does not exist)")
                    continue
                if not _is_within(target, real_root) and not follow_symlinks_outside:
                    skip(path, f"symlink to {target}, outside corpus.path ({real_root}); not read. "
                         "Copy the file into the corpus, or set corpus.follow_symlinks_outside: true")
                    continue
                if target.is_dir():
                    if target in ancestors or target == real_folder:
                        skip(path, f"symlink loop (points to {target}, a folder it is inside); "
                             "not followed")
                        continue
                    walk(path, target, ancestors | {target})
                elif target.is_file():
                    files.append(path)
                else:
                    skip(path, f"symlink to {target}, which is not a regular file or folder")
            elif entry.is_dir(follow_symlinks=False):
                real = real_folder / entry.name
                walk(path, real, ancestors | {real})
            elif entry.is_file(follow_symlinks=False):
                files.append(path)

    walk(root, real_root, frozenset({real_root}))
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in sorted(files):  # by path components, so a folder's files sort among its subfolders
        real = path.resolve()
        if real in seen:
            logger.info("%s is a link to a file already read; read once", path)
            continue
        seen.add(real)
        unique.append(path)
    return unique, skipped


def load_corpus(config: CorpusConfig) -> LoadResult:
    """Read every supported file under ``config.path`` into document parts.

    Unreadable files and records are skipped with a warning or stop the run, as ``on_bad_file``
    says; symlinks out of the corpus are skipped and named. An empty result is an error:
    finetuning on nothing would only fail later, less clearly.
    """
    root = Path(config.path)
    if not root.exists():
        raise CorpusError(
            f"Corpus path {root} (resolved: {root.resolve()}) does not exist; set corpus.path "
            "in your config to a folder or file of documents"
        )
    wanted = {extension.lower() for extension in config.extensions}
    unreadable = sorted(wanted - set(SUPPORTED_EXTENSIONS))
    if unreadable:
        raise CorpusError(
            f"corpus.extensions lists {', '.join(unreadable)}, which embedtune cannot read; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)}. Convert those files or remove them"
        )

    base = root.parent if root.is_file() else root
    candidates, skipped_links = corpus_files(root, config.follow_symlinks_outside)
    for link in skipped_links:
        logger.warning("Skipping %s: %s", link.path, link.reason)
    files, ignored_suffixes = [], Counter[str]()
    for path in candidates:
        if path.suffix.lower() in wanted:
            files.append(path)
        else:
            ignored_suffixes[path.suffix.lower() or "(no suffix)"] += 1
    if ignored_suffixes:
        logger.info("Ignoring files not in corpus.extensions: %s", _describe(ignored_suffixes))

    result = LoadResult(parts=[], skipped=[], ignored=sum(ignored_suffixes.values()),
                        skipped_links=skipped_links)
    with _reader(config) as read:
        for path in tqdm(files, desc="Loading documents", unit="file"):
            _load_file(path, path.relative_to(base).as_posix(), config, read, result)

    if not result.parts:
        ignored_note = f": {_describe(ignored_suffixes)}" if ignored_suffixes else ""
        raise CorpusError(
            f"No text found under {root} ({len(result.skipped)} files skipped, {result.ignored} "
            f"ignored{ignored_note}, {len(result.skipped_records)} records skipped, "
            f"{len(skipped_links)} symlinks not followed). Point corpus.path at your documents, "
            "add their suffixes to corpus.extensions, or fix the skipped files listed in the "
            "warnings above"
        )
    counts = result.counts()
    logger.info(
        "Loaded %d documents (%d parts) from %d files; %d files skipped, %d ignored, "
        "%d records skipped, %d symlinks not followed",
        counts["documents"], counts["parts"], len(files) - len(result.skipped),
        counts["files_skipped"], counts["files_ignored"], counts["records_skipped"],
        counts["symlinks_skipped"],
    )  # fmt: skip
    return result


_ReadFn = Callable[[Path, str, CorpusConfig], FileContent]


@contextmanager
def _reader(config: CorpusConfig) -> Iterator[_ReadFn]:
    """``read_document`` in a worker process with ``max_seconds_per_file``, or in this process
    when the limit is off."""
    if config.max_seconds_per_file is None:
        yield read_document
        return
    from embedtune.corpus.reader_process import ReaderProcess

    with ReaderProcess(config.max_seconds_per_file) as worker:
        yield worker.read


def _load_file(path: Path, source: str, config: CorpusConfig, read: _ReadFn,
               result: LoadResult) -> None:
    fail = config.on_bad_file is OnBadFile.fail
    try:
        content = read(path, source, config)
    except UnreadableFile as exc:
        reason = str(exc)
        if fail:
            raise CorpusError(
                f"Cannot read {path}: {reason}. Fix or remove the file, or set "
                "corpus.on_bad_file: skip to go on without it"
            ) from exc
        logger.warning("Skipping %s: %s", path, reason)
        result.skipped.append(SkippedFile(path=source, reason=reason))
        return
    for where, reason in content.bad_records:
        if fail:
            raise CorpusError(
                f"Cannot read {path}, {where}: {reason}. Fix or remove the record, or set "
                "corpus.on_bad_file: skip to load the file's other records without it"
            )
        logger.warning("Skipping %s, %s: %s", path, where, reason)
        result.skipped_records.append(SkippedRecord(path=source, where=where, reason=reason))
    if not content.parts and not content.bad_records:
        hint = " (a scanned PDF needs OCR first)" if path.suffix.lower() == ".pdf" else ""
        logger.warning("%s contains no text%s", path, hint)
    result.parts.extend(content.parts)


def _describe(suffixes: Counter[str]) -> str:
    return ", ".join(f"{suffix} ({count})" for suffix, count in suffixes.most_common(5))
