import json
import logging
from pathlib import Path

import pytest

from embedtune.config import CorpusConfig, OnBadFile
from embedtune.corpus.formats import DocumentPart, normalise_whitespace
from embedtune.corpus.loading import CorpusError, load_corpus


def minimal_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one Helvetica text line per page ("" makes a page without text).

    pypdf cannot write text, so the file is assembled by hand, with a correct xref table so
    that pypdf reads it without falling back to its repair mode.
    """
    n_pages = len(pages)
    font_number = 3 + 2 * n_pages
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(n_pages))
        + b"] /Count %d >>" % n_pages,
    ]
    for i, text in enumerate(pages):
        stream = b"BT /F1 12 Tf 72 720 Td (%s) Tj ET" % text.encode("latin-1") if text else b""
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (4 + 2 * i, font_number)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")

    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


CORRUPT_PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8


def load(path: Path, **settings) -> list[DocumentPart]:
    return load_corpus(CorpusConfig(path=path, **settings)).parts


# --- formats and metadata ---------------------------------------------------------------


def test_pdf_gives_one_part_per_page_and_skips_empty_pages(tmp_path):
    (tmp_path / "report.pdf").write_bytes(
        minimal_pdf(["Revenue grew in the third quarter.", "", "Costs fell sharply."])
    )

    parts = load(tmp_path)

    assert [(part.page, part.text) for part in parts] == [
        (1, "Revenue grew in the third quarter."),
        (3, "Costs fell sharply."),
    ]
    assert {(part.source, part.document_id, part.section) for part in parts} == {
        ("report.pdf", "report.pdf", None)
    }


def test_markdown_is_split_at_top_level_headings_keeping_the_heading(tmp_path):
    (tmp_path / "guide.md").write_text(
        "---\ntitle: ignored front matter\n---\n"
        "Intro line.\n\n"
        "# Install\nRun   the\tinstaller.\n\n### Details\nMore words.\n\n"
        "```\n# not a heading inside code\n```\n"
        "## Usage ##\nCall it.\n",
        encoding="utf-8",
    )

    parts = load(tmp_path)

    assert [part.section for part in parts] == [None, "Install", "Usage"]
    assert parts[0].text == "Intro line."
    assert parts[1].text.startswith("# Install Run the installer.\n\n### Details More words.")
    assert "# not a heading inside code" in parts[1].text
    assert parts[2].text == "## Usage ## Call it."
    assert {part.document_id for part in parts} == {"guide.md"}


def test_html_drops_scripts_styles_and_navigation_and_uses_the_title(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>Refund policy</title><style>p {color: red}</style></head>"
        "<body><nav>Home | About</nav><h1>Refunds</h1><p>Refunds take <b>five</b> days.</p>"
        "<script>track()</script><p>Contact support.</p></body></html>",
        encoding="utf-8",
    )

    [part] = load(tmp_path)

    assert part.section == "Refund policy"
    assert part.text == "Refunds\n\nRefunds take five days.\n\nContact support."


def test_html_without_title_uses_first_h1(tmp_path):
    (tmp_path / "page.htm").write_text("<h1>Pricing</h1><p>It is free.</p>", encoding="utf-8")

    [part] = load(tmp_path)

    assert part.section == "Pricing"


def test_text_file_keeps_paragraph_breaks_and_collapses_other_whitespace(tmp_path):
    (tmp_path / "notes.txt").write_text(
        "  First   line\nwrapped.\r\n\r\n\n  Second\tparagraph.  ", encoding="utf-8"
    )

    [part] = load(tmp_path)

    assert part.text == "First line wrapped.\n\nSecond paragraph."
    assert (part.source, part.document_id, part.page, part.section) == (
        "notes.txt", "notes.txt", None, None,
    )  # fmt: skip


def test_json_object_maps_ids_to_texts_and_each_record_is_a_document(tmp_path):
    (tmp_path / "corpus.json").write_text(json.dumps({"a1": "Alpha text.", "b2": "  ", "c3": "C."}))

    parts = load(tmp_path)

    assert [(part.document_id, part.text) for part in parts] == [
        ("corpus.json#a1", "Alpha text."),
        ("corpus.json#c3", "C."),
    ]
    assert {part.source for part in parts} == {"corpus.json"}


def test_json_list_of_records_uses_configured_fields_and_falls_back_to_index(tmp_path):
    records = [{"doc": "x", "body": "First."}, {"body": "Second."}]
    (tmp_path / "records.json").write_text(json.dumps(records))

    parts = load(tmp_path, json_text_field="body", json_id_field="doc")

    assert [part.document_id for part in parts] == ["records.json#x", "records.json#1"]


def test_jsonl_has_one_record_per_line(tmp_path):
    (tmp_path / "data.jsonl").write_text(
        '{"id": 7, "text": "Seven."}\n\n{"text": "No id."}\n', encoding="utf-8"
    )

    parts = load(tmp_path)

    assert [(part.document_id, part.text) for part in parts] == [
        ("data.jsonl#7", "Seven."),
        ("data.jsonl#2", "No id."),
    ]


def test_folder_is_walked_recursively_in_sorted_order_skipping_hidden_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_text("Zed.")
    (tmp_path / "b" / "a.txt").write_text("Ay.")
    (tmp_path / "c.txt").write_text("See.")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.txt").write_text("Hidden folder.")
    (tmp_path / ".draft.txt").write_text("Hidden file.")

    parts = load(tmp_path)

    assert [part.source for part in parts] == ["b/a.txt", "b/z.txt", "c.txt"]


def test_single_file_path_is_loaded_with_its_name_as_source(tmp_path):
    (tmp_path / "one.txt").write_text("Only this.")
    (tmp_path / "other.txt").write_text("Not this.")

    parts = load(tmp_path / "one.txt")

    assert [(part.source, part.text) for part in parts] == [("one.txt", "Only this.")]


def test_files_with_other_suffixes_are_ignored_and_counted(tmp_path):
    (tmp_path / "keep.txt").write_text("Kept.")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "sheet.csv").write_text("a,b")
    (tmp_path / "old.md").write_text("Not wanted this time.")

    result = load_corpus(CorpusConfig(path=tmp_path, extensions=[".TXT"]))

    assert [part.source for part in result.parts] == ["keep.txt"]
    assert result.ignored == 3
    assert result.skipped == []


def test_normalise_whitespace_handles_unicode_spaces():
    assert normalise_whitespace("a\u00a0\u00a0b \n \n\tc") == "a b\n\nc"


# --- bad files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", CORRUPT_PDF, "not a readable PDF"),
        ("photo.txt", b"GIF89a\x00\x01\x02", "binary"),
        ("latin1.txt", "caf\u00e9 cr\u00e8me".encode("latin-1"), "not UTF-8"),
        ("bad.json", b'{"a": "unterminated', "invalid JSON"),
        ("list.json", b'"just a string"', "top-level JSON str"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_file_is_skipped_with_a_warning_naming_it(tmp_path, caplog, name, content, reason):
    (tmp_path / name).write_bytes(content)
    (tmp_path / "good.txt").write_text("Readable.")

    with caplog.at_level(logging.WARNING, logger="embedtune.corpus.loading"):
        result = load_corpus(CorpusConfig(path=tmp_path, on_bad_file=OnBadFile.skip))

    assert [part.source for part in result.parts] == ["good.txt"]
    [skipped] = result.skipped
    assert skipped.path == name
    assert reason in skipped.reason
    assert name in caplog.text and reason in caplog.text


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", CORRUPT_PDF, "not a readable PDF"),
        ("photo.txt", b"GIF89a\x00\x01\x02", "binary"),
        ("latin1.txt", "caf\u00e9".encode("latin-1"), "not UTF-8"),
    ],
)
def test_bad_file_stops_the_run_in_fail_mode(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    (tmp_path / "good.txt").write_text("Readable.")

    with pytest.raises(CorpusError, match=reason) as error:
        load_corpus(CorpusConfig(path=tmp_path, on_bad_file=OnBadFile.fail))

    assert name in str(error.value)
    assert "on_bad_file" in str(error.value)


def test_file_over_the_size_limit_is_bad(tmp_path):
    (tmp_path / "big.txt").write_text("word " * 60_000)  # about 0.29 MB
    (tmp_path / "small.txt").write_text("Fine.")

    result = load_corpus(CorpusConfig(path=tmp_path, max_file_mb=0.1))

    assert [skipped.path for skipped in result.skipped] == ["big.txt"]
    assert "max_file_mb" in result.skipped[0].reason


def test_bad_jsonl_line_stops_the_run_in_fail_mode_naming_file_and_line(tmp_path):
    (tmp_path / "data.jsonl").write_text('{"text": "ok"}\n{"text": oops}\n', encoding="utf-8")

    with pytest.raises(CorpusError, match=r"data\.jsonl, line 2: invalid JSON"):
        load_corpus(CorpusConfig(path=tmp_path, on_bad_file=OnBadFile.fail))


# --- bad records cost only themselves ----------------------------------------------------------


def test_jsonl_with_good_and_bad_lines_loads_the_good_ones_and_names_each_bad_one(tmp_path, caplog):
    (tmp_path / "data.jsonl").write_text(
        '{"id": "a", "text": "First good record."}\n'
        '{"id": "b", "text": broken\n'
        '{"id": "c", "body": "no text field"}\n'
        '["not", "an", "object"]\n'
        '{"id": "a", "text": "Same id as the first."}\n'
        '{"id": "d", "text": "Last good record."}\n'
        '{"id": "e", "text": "cut off in the midd',
        encoding="utf-8",
    )

    with caplog.at_level(logging.WARNING, logger="embedtune.corpus.loading"):
        result = load_corpus(CorpusConfig(path=tmp_path))

    assert [(part.document_id, part.text) for part in result.parts] == [
        ("data.jsonl#a", "First good record."), ("data.jsonl#d", "Last good record.")]
    assert result.skipped == []
    bad = {(record.path, record.where): record.reason for record in result.skipped_records}
    assert list(bad) == [("data.jsonl", f"line {n}") for n in (2, 3, 4, 5, 7)]
    assert "invalid JSON" in bad[("data.jsonl", "line 2")]
    assert "no string field 'text'" in bad[("data.jsonl", "line 3")]
    assert "not a JSON object (got list)" in bad[("data.jsonl", "line 4")]
    assert "repeated id 'a'" in bad[("data.jsonl", "line 5")] and "line 1" in bad[("data.jsonl", "line 5")]
    assert "invalid JSON" in bad[("data.jsonl", "line 7")]
    assert result.counts()["records_skipped"] == 5
    assert "data.jsonl, line 3" in caplog.text


def test_json_list_and_object_skip_only_their_bad_records(tmp_path):
    (tmp_path / "records.json").write_text(json.dumps(
        [{"text": "Kept zero."}, {"body": "no text"}, 7, {"text": "Kept three."}]))
    (tmp_path / "mapping.json").write_text(json.dumps({"x": "Kept x.", "y": {"text": "nested"}}))

    result = load_corpus(CorpusConfig(path=tmp_path))

    assert [part.document_id for part in result.parts] == [
        "mapping.json#x", "records.json#0", "records.json#3"]
    assert [(r.path, r.where) for r in result.skipped_records] == [
        ("mapping.json", "key 'y'"), ("records.json", "record 1"), ("records.json", "record 2")]
    assert "not a string" in result.skipped_records[0].reason


def test_a_bad_record_stops_the_run_in_fail_mode(tmp_path):
    (tmp_path / "records.json").write_text(json.dumps([{"text": "Fine."}, {"body": "no text"}]))

    with pytest.raises(CorpusError, match=r"records\.json, record 1: no string field 'text'"):
        load_corpus(CorpusConfig(path=tmp_path, on_bad_file=OnBadFile.fail))


# --- nothing outside corpus.path is read ----------------------------------------------------------


@pytest.fixture
def outside(tmp_path):
    """A folder next to the corpus with a file that must never be loaded."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("Outside secret text.")
    return folder


def test_symlinks_to_files_and_folders_outside_the_corpus_are_skipped_and_named(tmp_path, outside, caplog):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "own.txt").write_text("Own text.")
    (corpus / "sub" / "link.txt").symlink_to(outside / "secret.txt")
    (corpus / "linked-folder").symlink_to(outside, target_is_directory=True)
    (corpus / "passwd.txt").symlink_to("/etc/passwd")

    with caplog.at_level(logging.WARNING, logger="embedtune.corpus.loading"):
        result = load_corpus(CorpusConfig(path=corpus))

    assert [part.text for part in result.parts] == ["Own text."]
    assert sorted(link.path for link in result.skipped_links) == [
        "linked-folder", "passwd.txt", "sub/link.txt"]
    assert all("outside corpus.path" in link.reason and "follow_symlinks_outside" in link.reason
               for link in result.skipped_links)
    assert result.counts()["symlinks_skipped"] == 3
    assert "sub/link.txt" in caplog.text and str(outside / "secret.txt") in caplog.text


def test_follow_symlinks_outside_reads_them_under_the_links_name(tmp_path, outside):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "sub" / "link.txt").symlink_to(outside / "secret.txt")
    (corpus / "linked-folder").symlink_to(outside, target_is_directory=True)

    result = load_corpus(CorpusConfig(path=corpus, follow_symlinks_outside=True))

    # Both links reach the same file: it is read once, under the first path in order.
    assert [(part.source, part.text) for part in result.parts] == [
        ("linked-folder/secret.txt", "Outside secret text.")]
    assert result.skipped_links == []


def test_symlinks_inside_the_corpus_are_followed_and_each_file_is_read_once(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "docs").mkdir(parents=True)
    (corpus / "docs" / "a.txt").write_text("Alpha.")
    (corpus / "alias.txt").symlink_to(corpus / "docs" / "a.txt")  # the same file again
    (corpus / "archive").mkdir()
    (corpus / "archive" / "b.txt").write_text("Beta.")
    (corpus / "shortcut").symlink_to("archive", target_is_directory=True)  # relative, inside

    result = load_corpus(CorpusConfig(path=corpus))

    assert sorted(part.text for part in result.parts) == ["Alpha.", "Beta."]
    assert [part.source for part in result.parts] == ["alias.txt", "archive/b.txt"]
    assert result.skipped_links == []


def test_symlink_loops_are_not_followed_and_are_counted(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "a" / "b").mkdir(parents=True)
    (corpus / "a" / "b" / "deep.txt").write_text("Deep.")
    (corpus / "a" / "b" / "up").symlink_to(corpus / "a", target_is_directory=True)
    (corpus / "root-again").symlink_to(corpus, target_is_directory=True)
    (corpus / "self.txt").symlink_to(corpus / "self.txt")  # a link to itself

    result = load_corpus(CorpusConfig(path=corpus))

    assert [part.source for part in result.parts] == ["a/b/deep.txt"]
    reasons = {link.path: link.reason for link in result.skipped_links}
    assert set(reasons) == {"a/b/up", "root-again", "self.txt"}
    assert all("loop" in reason for reason in reasons.values())


def test_broken_symlink_is_named(tmp_path):
    (tmp_path / "gone.txt").symlink_to(tmp_path / "deleted.txt")
    (tmp_path / "ok.txt").write_text("Fine.")

    result = load_corpus(CorpusConfig(path=tmp_path))

    assert [link.path for link in result.skipped_links] == ["gone.txt"]
    assert "broken symlink" in result.skipped_links[0].reason


def test_the_fingerprint_reads_no_file_outside_the_corpus(tmp_path, outside):
    from embedtune.corpus.fingerprint import corpus_fingerprint

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "own.txt").write_text("Own text.")
    before = corpus_fingerprint(CorpusConfig(path=corpus))
    (corpus / "link.txt").symlink_to(outside / "secret.txt")
    assert corpus_fingerprint(CorpusConfig(path=corpus)) == before
    (outside / "secret.txt").write_text("Changed outside.")
    assert corpus_fingerprint(CorpusConfig(path=corpus)) == before
    assert corpus_fingerprint(CorpusConfig(path=corpus, follow_symlinks_outside=True)) != before


# --- the per-file time limit ---------------------------------------------------------------------


def test_a_file_over_the_time_limit_is_stopped_and_skipped_and_the_next_one_loads(tmp_path):
    (tmp_path / "a-slow.html").write_text("<div><p>word and more words</p>" * 60_000)
    (tmp_path / "b-quick.txt").write_text("Quick.")

    limited = load_corpus(CorpusConfig(path=tmp_path, max_seconds_per_file=0.05))

    assert [part.text for part in limited.parts] == ["Quick."]
    [skipped] = limited.skipped
    assert skipped.path == "a-slow.html" and "corpus.max_seconds_per_file (0.05 s)" in skipped.reason
    # Not a broken file, only a slow one: without the limit (in-process) it loads.
    unlimited = load_corpus(CorpusConfig(path=tmp_path, max_seconds_per_file=None))
    assert [part.source for part in unlimited.parts] == ["a-slow.html", "b-quick.txt"]


def test_the_worker_and_in_process_readers_give_the_same_parts(tmp_path):
    (tmp_path / "report.pdf").write_bytes(minimal_pdf(["Page one.", "Page two."]))
    (tmp_path / "guide.md").write_text("# A\nText a.\n## B\nText b.\n")
    (tmp_path / "data.jsonl").write_text('{"text": "One."}\nbroken\n')

    in_worker = load_corpus(CorpusConfig(path=tmp_path))
    in_process = load_corpus(CorpusConfig(path=tmp_path, max_seconds_per_file=None))

    assert in_worker.parts == in_process.parts and len(in_worker.parts) == 5
    assert in_worker.skipped_records == in_process.skipped_records != []


def test_the_reader_worker_is_gone_after_loading(tmp_path):
    import psutil

    (tmp_path / "a.txt").write_text("Text.")
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    load_corpus(CorpusConfig(path=tmp_path))
    assert {child.pid for child in psutil.Process().children(recursive=True)} == before


def test_missing_path_says_which_setting_to_fix(tmp_path):
    with pytest.raises(CorpusError, match=r"does not exist; set corpus\.path") as error:
        load_corpus(CorpusConfig(path=tmp_path / "nowhere"))

    assert "nowhere" in str(error.value)


def test_corpus_without_text_is_an_error_that_counts_skipped_and_ignored(tmp_path):
    (tmp_path / "broken.pdf").write_bytes(CORRUPT_PDF)
    (tmp_path / "slides.pptx").write_bytes(b"PK")
    (tmp_path / "empty.txt").write_text("  \n\n ")

    with pytest.raises(CorpusError, match=r"No text found under .*1 files skipped, 1 ignored"):
        load_corpus(CorpusConfig(path=tmp_path))


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="No text found"):
        load_corpus(CorpusConfig(path=tmp_path))


def test_extension_without_a_reader_is_rejected_up_front(tmp_path):
    (tmp_path / "a.txt").write_text("Text.")

    with pytest.raises(CorpusError, match=r"\.docx"):
        load_corpus(CorpusConfig(path=tmp_path, extensions=[".txt", ".docx"]))
