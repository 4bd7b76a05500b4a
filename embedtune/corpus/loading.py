"""Read a team's documents into text parts, one part per page, heading section, file or record.

Real document folders are messy: a scanned PDF, a stray binary, a Latin-1 text export. The
loader's job is to turn what it can read into clean text with enough metadata (file, page,
section) for a person to find the passage again, and to say precisely which file it could not
read and why, so that a run over hundreds of files neither dies silently on file 213 nor trains
on garbage.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pypdf
from bs4 import BeautifulSoup
from tqdm import tqdm

from embedtune.config import CorpusConfig, OnBadFile

logger = logging.getLogger(__name__)

# A NUL byte never occurs in real text files; checking the head is enough to catch binaries
# (images, archives, Office files) that were given a text suffix.
_BINARY_SNIFF_BYTES = 8192

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_ANY_WHITESPACE = re.compile(r"\s+")
_MARKDOWN_SPLIT_HEADING = re.compile(r"^ {0,3}(#{1,2})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_MARKDOWN_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_MARKDOWN_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n---[ \t]*(\n|\Z)", re.DOTALL)
_HTML_DROPPED_TAGS = ["script", "style", "nav", "noscript", "template"]
# Tags after which a reader sees a new paragraph; marking them keeps the paragraph structure
# that sentence-aware chunking relies on (plain get_text() would glue "Title" onto "First line").
_HTML_BLOCK_TAGS = [
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "ol",
    "p", "pre", "section", "table", "td", "th", "tr", "ul",
]  # fmt: skip


@dataclass(frozen=True)
class DocumentPart:
    """A piece of one document, small enough to carry its own page or section.

    Parts exist so that chunks can point back to where their text came from; ``document_id``
    groups the parts of one document because the train/test split must keep a document whole.
    """

    document_id: str
    source: str
    text: str
    page: int | None = None
    section: str | None = None


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class LoadResult:
    """The parts that were read, and an account of the files that were not."""

    parts: list[DocumentPart]
    skipped: list[SkippedFile]
    ignored: int  # files whose suffix is not in corpus.extensions


class CorpusError(ValueError):
    """The corpus cannot be used as configured; the message names the file and the fix."""


class _BadFile(Exception):
    """A single file cannot be read; ``load_corpus`` turns it into a skip or a CorpusError."""


def normalise_whitespace(text: str) -> str:
    """Collapse layout whitespace but keep paragraph breaks.

    PDF extraction and HTML markup produce hard line wraps and indentation that mean nothing;
    blank lines, however, separate paragraphs, which the chunker uses as natural cut points.
    """
    paragraphs = _PARAGRAPH_BREAK.split(text.replace("\r\n", "\n").replace("\r", "\n"))
    cleaned = (_ANY_WHITESPACE.sub(" ", paragraph).strip() for paragraph in paragraphs)
    return "\n\n".join(paragraph for paragraph in cleaned if paragraph)


def _decode_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise _BadFile("binary content (NUL bytes in the first 8 KB) in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _BadFile(
            f"not UTF-8 text (byte {exc.start}: {exc.reason}); re-save it as UTF-8"
        ) from exc


def _read_pdf(path: Path, source: str, config: CorpusConfig) -> list[DocumentPart]:
    # pypdf raises a wide, undocumented range of exception types on malformed files (its own
    # PdfReadError, but also KeyError, TypeError, AssertionError, ... from deep in the parser).
    # Each of them means "this PDF cannot be read"; the type and message are kept in the reason
    # so that nothing is hidden, and the decision to skip or stop stays with on_bad_file.
    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
            raise _BadFile("encrypted PDF that needs a password; save a decrypted copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except _BadFile:
        raise
    except Exception as exc:  # noqa: BLE001 - see the comment above
        raise _BadFile(f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    return [
        DocumentPart(document_id=source, source=source, text=text, page=number)
        for number, raw in enumerate(pages, start=1)
        if (text := normalise_whitespace(raw))
    ]


def _read_markdown(path: Path, source: str, config: CorpusConfig) -> list[DocumentPart]:
    """One part per top-level (``#``/``##``) section, so chunks know their section title."""
    text = _MARKDOWN_FRONT_MATTER.sub("", _decode_text(path), count=1)
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    in_fence = False
    for line in text.splitlines():
        if _MARKDOWN_FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _MARKDOWN_SPLIT_HEADING.match(line)
        if heading:
            sections.append((heading.group(2).strip(), [line]))
        else:
            sections[-1][1].append(line)
    return [
        DocumentPart(document_id=source, source=source, text=body, section=title)
        for title, lines in sections
        if (body := normalise_whitespace("\n".join(lines)))
    ]


def _read_html(path: Path, source: str, config: CorpusConfig) -> list[DocumentPart]:
    soup = BeautifulSoup(_decode_text(path), "html.parser")
    title = _tag_text(soup.find("title")) or _tag_text(soup.find("h1"))
    # <title> is metadata, not body text; it is kept as the section instead.
    for tag in soup.find_all(["title", *_HTML_DROPPED_TAGS]):
        tag.decompose()
    for tag in soup.find_all(_HTML_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = normalise_whitespace(soup.get_text())
    if not text:
        return []
    return [DocumentPart(document_id=source, source=source, text=text, section=title or None)]


def _tag_text(tag: Any) -> str:
    return normalise_whitespace(tag.get_text(" ")) if tag is not None else ""


def _read_plain_text(path: Path, source: str, config: CorpusConfig) -> list[DocumentPart]:
    text = normalise_whitespace(_decode_text(path))
    return [DocumentPart(document_id=source, source=source, text=text)] if text else []


def _record_part(
    record: Any, where: str, index: int, source: str, config: CorpusConfig
) -> tuple[str, DocumentPart]:
    """Turn one JSON record into a part; each record is its own document."""
    if not isinstance(record, dict):
        raise _BadFile(f"{where} is not a JSON object (got {type(record).__name__})")
    text = record.get(config.json_text_field)
    if not isinstance(text, str):
        raise _BadFile(
            f"{where} has no string field '{config.json_text_field}'; "
            "set corpus.json_text_field to the field that holds the text"
        )
    record_id = str(record.get(config.json_id_field, index))
    part = DocumentPart(
        document_id=f"{source}#{record_id}", source=source, text=normalise_whitespace(text)
    )
    return record_id, part


def _unique_records(
    records: list[tuple[str, DocumentPart]], what: str, config: CorpusConfig
) -> list[DocumentPart]:
    # Two records with one id would silently merge into one document and could then leak
    # across the train/test split, so a repeated id is an error rather than a guess.
    seen: Counter[str] = Counter(record_id for record_id, _ in records)
    repeated = [record_id for record_id, count in seen.items() if count > 1]
    if repeated:
        raise _BadFile(
            f"{len(repeated)} repeated {what} id(s) in field '{config.json_id_field}' "
            f"(e.g. {repeated[0]!r}); record ids must be unique"
        )
    return [part for _, part in records if part.text]


def _read_json(path: Path, source: str, config: CorpusConfig) -> list[DocumentPart]:
    try:
        data = json.loads(_decode_text(path))
    except json.JSONDecodeError as exc:
        raise _BadFile(
            f"invalid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    if isinstance(data, dict):
        not_text = [key for key, value in data.items() if not isinstance(value, str)]
        if not_text:
            raise _BadFile(
                f"JSON object whose value for key {not_text[0]!r} is not a string; "
                "expected an object mapping id -> text, or a list of records"
            )
        parts = (
            DocumentPart(f"{source}#{key}", source=source, text=normalise_whitespace(value))
            for key, value in data.items()
        )
        return [part for part in parts if part.text]
    if isinstance(data, list):
        records = [
            _record_part(record, f"record {index}", index, source, config)
            for index, record in enumerate(data)
        ]
        return _unique_records(records, "record", config)
    raise _BadFile(
        f"top-level JSON {type(data).__name__}; expected an object mapping id -> text, "
        f"or a list of records with a '{config.json_text_field}' field"
    )


def _read_jsonl(path: Path, source: str, config: CorpusConfig) -> list[DocumentPart]:
    """One record per line; the fallback id is the 0-based line index, so it finds the line."""
    records = []
    for index, line in enumerate(_decode_text(path).splitlines()):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _BadFile(f"invalid JSON on line {index + 1} ({exc.msg})") from exc
        records.append(_record_part(record, f"line {index + 1}", index, source, config))
    return _unique_records(records, "line", config)


_Reader = Callable[[Path, str, CorpusConfig], list[DocumentPart]]

_READERS: dict[str, _Reader] = {
    ".pdf": _read_pdf,
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".txt": _read_plain_text,
    ".json": _read_json,
    ".jsonl": _read_jsonl,
}

SUPPORTED_EXTENSIONS = tuple(_READERS)


def _candidate_files(root: Path) -> list[Path]:
    """Every non-hidden file under ``root``, in a fixed order so chunk order is reproducible."""
    if root.is_file():
        return [root]
    files = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        files.extend(Path(folder) / name for name in names if not name.startswith("."))
    return sorted(files)  # by path components, so a folder's files sort among its subfolders


def _read_file(path: Path, source: str, config: CorpusConfig) -> list[DocumentPart]:
    size_mb = path.stat().st_size / (1024 * 1024)
    if size_mb > config.max_file_mb:
        raise _BadFile(
            f"file is {size_mb:.1f} MB, over corpus.max_file_mb ({config.max_file_mb:g} MB); "
            "split the file or raise the limit"
        )
    return _READERS[path.suffix.lower()](path, source, config)


def load_corpus(config: CorpusConfig) -> LoadResult:
    """Read every supported file under ``config.path`` into document parts.

    Unreadable files are skipped with a warning or stop the run, as ``on_bad_file`` says, and
    an empty result is an error: finetuning on nothing would only fail later, less clearly.
    """
    root = Path(config.path)
    if not root.exists():
        raise CorpusError(
            f"Corpus path {root} (resolved: {root.resolve()}) does not exist; set corpus.path "
            "in your config to a folder or file of documents"
        )
    wanted = {extension.lower() for extension in config.extensions}
    unreadable = sorted(wanted - set(_READERS))
    if unreadable:
        raise CorpusError(
            f"corpus.extensions lists {', '.join(unreadable)}, which embedtune cannot read; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)}. Convert those files or remove them"
        )

    base = root.parent if root.is_file() else root
    files, ignored_suffixes = [], Counter[str]()
    for path in _candidate_files(root):
        if path.suffix.lower() in wanted:
            files.append(path)
        else:
            ignored_suffixes[path.suffix.lower() or "(no suffix)"] += 1
    if ignored_suffixes:
        logger.info("Ignoring files not in corpus.extensions: %s", _describe(ignored_suffixes))

    parts: list[DocumentPart] = []
    skipped: list[SkippedFile] = []
    for path in tqdm(files, desc="Loading documents", unit="file"):
        source = path.relative_to(base).as_posix()
        try:
            file_parts = _read_file(path, source, config)
        except _BadFile as exc:
            reason = str(exc)
            if config.on_bad_file is OnBadFile.fail:
                raise CorpusError(
                    f"Cannot read {path}: {reason}. Fix or remove the file, or set "
                    "corpus.on_bad_file: skip to go on without it"
                ) from exc
            logger.warning("Skipping %s: %s", path, reason)
            skipped.append(SkippedFile(path=source, reason=reason))
            continue
        if not file_parts:
            hint = " (a scanned PDF needs OCR first)" if path.suffix.lower() == ".pdf" else ""
            logger.warning("%s contains no text%s", path, hint)
        parts.extend(file_parts)

    ignored = sum(ignored_suffixes.values())
    if not parts:
        ignored_note = f": {_describe(ignored_suffixes)}" if ignored_suffixes else ""
        raise CorpusError(
            f"No text found under {root} ({len(skipped)} files skipped, {ignored} ignored"
            f"{ignored_note}). Point corpus.path at your documents, add their suffixes to "
            "corpus.extensions, or fix the skipped files listed in the warnings above"
        )
    documents = len({part.document_id for part in parts})
    logger.info(
        "Loaded %d documents (%d parts) from %d files; %d skipped, %d ignored",
        documents, len(parts), len(files) - len(skipped), len(skipped), ignored,
    )  # fmt: skip
    return LoadResult(parts=parts, skipped=skipped, ignored=ignored)


def _describe(suffixes: Counter[str]) -> str:
    return ", ".join(f"{suffix} ({count})" for suffix, count in suffixes.most_common(5))
