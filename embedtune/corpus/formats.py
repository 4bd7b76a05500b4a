"""Document formats: one reader per file suffix, each turning a file into text parts.

A reader returns the file's parts (one per page, heading section, file or record) with enough
metadata (file, page, section) for a person to find the passage again, or raises
``UnreadableFile`` with the reason. A bad record of a JSON/JSONL file costs only itself: it is
skipped and named by its line or index, and the file's good records load. A new format is one
reader function here, added to ``_READERS`` (and to ``corpus.extensions``' default).

``read_document`` is what the loader calls for each file, in a worker process with a time limit
(``reader_process``), so a file that would make a parser hang or crash costs only itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pypdf
from bs4 import BeautifulSoup, CData, NavigableString, Tag

from embedtune.config import CorpusConfig


# A NUL byte never occurs in real text files; checking the head is enough to catch binaries
# (images, archives, Office files) that were given a text suffix.
_BINARY_SNIFF_BYTES = 8192

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_ANY_WHITESPACE = re.compile(r"\s+")
# Linear on any line: the title's trailing "#"s and spaces are stripped in Python, since a
# regex such as (.+?)[ \t]*#*[ \t]*$ backtracks cubically on a long run of spaces.
_MARKDOWN_SPLIT_HEADING = re.compile(r"^ {0,3}(#{1,2})[ \t]+(.*\S)")
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


@dataclass
class FileContent:
    """What one file gave: its parts, and its records that could not be read (JSON/JSONL)."""

    parts: list[DocumentPart]
    bad_records: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)


class UnreadableFile(Exception):
    """A single file cannot be read (the message says why); ``load_corpus`` turns it into a skip
    or a CorpusError."""


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
        raise UnreadableFile("binary content (NUL bytes in the first 8 KB) in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
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
            raise UnreadableFile("encrypted PDF that needs a password; save a decrypted copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableFile:
        raise
    except Exception as exc:  # noqa: BLE001 - see the comment above
        raise UnreadableFile(f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
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
            sections.append((_heading_title(heading.group(2)), [line]))
        else:
            sections[-1][1].append(line)
    return [
        DocumentPart(document_id=source, source=source, text=body, section=title)
        for title, lines in sections
        if (body := normalise_whitespace("\n".join(lines)))
    ]


def _heading_title(text: str) -> str:
    """A heading's text without its optional closing ``#`` sequence (``## Usage ##``)."""
    title = text.rstrip("#").rstrip(" \t")
    return (title or text).strip()


def _read_html(path: Path, source: str, config: CorpusConfig) -> list[DocumentPart]:
    soup = BeautifulSoup(_decode_text(path), "html.parser")
    title = _tag_text(soup.find("title")) or _tag_text(soup.find("h1"))
    text = normalise_whitespace(_html_body_text(soup))
    if not text:
        return []
    return [DocumentPart(document_id=source, source=source, text=text, section=title or None)]


_HTML_BLOCKS = frozenset(_HTML_BLOCK_TAGS)
# <title> is metadata, not body text; it is kept as the section instead.
_HTML_SKIPPED = frozenset(["title", *_HTML_DROPPED_TAGS])


def _html_body_text(soup: BeautifulSoup) -> str:
    """The page's text with a paragraph break at each block tag's start and end.

    One pass over the tree with an explicit stack: no recursion (a page of unclosed tags nests
    tens of thousands deep) and no tree edits (bs4's ``insert_before`` on such a page is
    quadratic: minutes for a 2 MB file).
    """
    pieces: list[str] = []
    stack = [(soup, iter(soup.contents))]
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if node.name in _HTML_BLOCKS:
                pieces.append("\n\n")
            continue
        if isinstance(child, Tag):
            if child.name in _HTML_SKIPPED:
                continue
            if child.name in _HTML_BLOCKS:
                pieces.append("\n\n")
            stack.append((child, iter(child.contents)))
        elif type(child) in (NavigableString, CData):  # not comments, doctypes, declarations
            pieces.append(str(child))
    return "".join(pieces)


def _tag_text(tag: Any) -> str:
    return normalise_whitespace(tag.get_text(" ")) if tag is not None else ""


def _read_plain_text(path: Path, source: str, config: CorpusConfig) -> list[DocumentPart]:
    text = normalise_whitespace(_decode_text(path))
    return [DocumentPart(document_id=source, source=source, text=text)] if text else []


class _BadRecord(Exception):
    """One JSON/JSONL record cannot be used; the rest of its file still loads."""


def _record_part(
    record: Any, where: str, index: int, source: str, config: CorpusConfig
) -> tuple[str, DocumentPart]:
    """Turn one JSON record into a part; each record is its own document."""
    if not isinstance(record, dict):
        raise _BadRecord(f"not a JSON object (got {type(record).__name__})")
    text = record.get(config.json_text_field)
    if not isinstance(text, str):
        raise _BadRecord(
            f"no string field '{config.json_text_field}'; "
            "set corpus.json_text_field to the field that holds the text"
        )
    record_id = str(record.get(config.json_id_field, index))
    part = DocumentPart(
        document_id=f"{source}#{record_id}", source=source, text=normalise_whitespace(text)
    )
    return record_id, part


class _Records:
    """Collects a file's records: good ones as parts, bad ones with where and why.

    Two records with one id would silently merge into one document and could then leak across
    the train/test split, so a repeated id is a bad record (the first one with that id is kept).
    """

    def __init__(self, config: CorpusConfig):
        self.config = config
        self.parts: list[DocumentPart] = []
        self.bad: list[tuple[str, str]] = []
        self.first_seen: dict[str, str] = {}

    def add(self, record_id: str, part: DocumentPart, where: str) -> None:
        if record_id in self.first_seen:
            self.bad.append((where, f"repeated id {record_id!r} in field "
                             f"'{self.config.json_id_field}' (first at {self.first_seen[record_id]}); "
                             "record ids must be unique"))
            return
        self.first_seen[record_id] = where
        if part.text:
            self.parts.append(part)

    def result(self) -> FileContent:
        return FileContent(self.parts, self.bad)


def _read_json(path: Path, source: str, config: CorpusConfig) -> FileContent:
    try:
        data = json.loads(_decode_text(path))
    except json.JSONDecodeError as exc:
        raise UnreadableFile(
            f"invalid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    records = _Records(config)
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(value, str):
                records.bad.append((f"key {key!r}", (
                    f"value is a {type(value).__name__}, not a string; expected an object mapping "
                    "id -> text, or a list of records")))
                continue
            part = DocumentPart(f"{source}#{key}", source=source, text=normalise_whitespace(value))
            records.add(key, part, f"key {key!r}")
        return records.result()
    if isinstance(data, list):
        for index, record in enumerate(data):
            where = f"record {index}"
            try:
                record_id, part = _record_part(record, where, index, source, config)
            except _BadRecord as exc:
                records.bad.append((where, str(exc)))
                continue
            records.add(record_id, part, where)
        return records.result()
    raise UnreadableFile(
        f"top-level JSON {type(data).__name__}; expected an object mapping id -> text, "
        f"or a list of records with a '{config.json_text_field}' field"
    )


def _read_jsonl(path: Path, source: str, config: CorpusConfig) -> FileContent:
    """One record per line; the fallback id is the 0-based line index, so it finds the line."""
    records = _Records(config)
    for index, line in enumerate(_decode_text(path).splitlines()):
        if not line.strip():
            continue
        where = f"line {index + 1}"
        try:
            record = json.loads(line)
            record_id, part = _record_part(record, where, index, source, config)
        except json.JSONDecodeError as exc:
            records.bad.append((where, f"invalid JSON ({exc.msg}, column {exc.colno})"))
            continue
        except RecursionError:
            records.bad.append((where, "JSON nested too deeply to read"))
            continue
        except _BadRecord as exc:
            records.bad.append((where, str(exc)))
            continue
        records.add(record_id, part, where)
    return records.result()


_Reader = Callable[[Path, str, CorpusConfig], "list[DocumentPart] | FileContent"]

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


def read_document(path: Path, source: str, config: CorpusConfig) -> FileContent:
    """Read one file; raises ``UnreadableFile`` with the reason, and nothing else, for a file
    that cannot be read. (The size limit is checked here; the time limit by ``reader_process``.)"""
    try:
        size_mb = path.stat().st_size / (1024 * 1024)
    except OSError as exc:
        raise UnreadableFile(f"cannot be opened ({exc.strerror or exc})") from exc
    if size_mb > config.max_file_mb:
        raise UnreadableFile(
            f"file is {size_mb:.1f} MB, over corpus.max_file_mb ({config.max_file_mb:g} MB); "
            "split the file or raise the limit"
        )
    try:
        content = _READERS[path.suffix.lower()](path, source, config)
    except RecursionError as exc:  # deeply nested HTML or JSON
        raise UnreadableFile("nested too deeply to read (markup or JSON thousands of levels "
                             "deep)") from exc
    except OSError as exc:
        raise UnreadableFile(f"cannot be read ({exc.strerror or exc})") from exc
    return content if isinstance(content, FileContent) else FileContent(content)
