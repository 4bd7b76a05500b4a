"""Property-based tests: every reader, fed random bytes, truncated and mutated real files, deep
nesting and huge lines, either loads or raises ``UnreadableFile`` with a reason; never anything
else, and never a hang (each example has a deadline).

Bounded for CI (``EMBEDTUNE_FUZZ_EXAMPLES``, default 25 per test: a few seconds in all); a longer
run sets it higher, and ``EMBEDTUNE_FUZZ_REPORT`` to a file that receives one line per generated
input.
"""

import json
import os
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedtune.config import CorpusConfig
from embedtune.corpus import formats
from embedtune.corpus.formats import FileContent, UnreadableFile, read_document
from tests.conftest import SAMPLE_CORPUS
from tests.corpus.test_loading import minimal_pdf

EXAMPLES = int(os.environ.get("EMBEDTUNE_FUZZ_EXAMPLES", "25"))
REPORT = os.environ.get("EMBEDTUNE_FUZZ_REPORT")
FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=10), derandomize=not REPORT,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                database=None)
WORKDIR = Path(tempfile.mkdtemp(prefix="embedtune-fuzz-"))
CONFIG = CorpusConfig(path=WORKDIR)

SEEDS = {
    ".pdf": minimal_pdf(["Revenue grew in the third quarter.", "", "Costs fell sharply (see note 4)."]),
    ".html": (b"<html><head><title>Refund policy</title><style>p{}</style></head><body><nav>x</nav>"
              b"<h1>Refunds</h1><p>Refunds take <b>five</b> days.</p><!-- c --><script>t()</script>"
              b"<ul><li>One</li><li>Two</li></ul><table><tr><td>A</td></tr></table></body></html>"),
    ".md": ("---\ntitle: t\n---\nIntro.\n\n# Install\nRun it.\n\n```\n# code\n```\n## Usage ##\n"
            "Call it. \u00e9\n").encode(),
    ".txt": "First line\nwrapped.\r\n\r\nSecond\tparagraph \u2014 caf\u00e9.".encode(),
    ".json": (SAMPLE_CORPUS / "lyft_10k_business.json").read_bytes()[:20_000],
    ".jsonl": b'{"id": 1, "text": "One."}\n{"id": 2, "text": "Two."}\n\n{"text": "No id."}\n',
}
SUFFIXES = sorted(SEEDS)


def test_every_reader_has_a_seed_file_to_fuzz():
    """A new document format is fuzzed too: add a small real file of it to SEEDS (suffixes that
    share a reader, such as .htm and .html, need one seed between them)."""
    assert {formats._READERS[suffix] for suffix in SEEDS} == set(formats._READERS.values())


def check(suffix: str, data: bytes, kind: str) -> None:
    path = WORKDIR / f"input{suffix}"
    path.write_bytes(data)
    try:
        content = read_document(path, path.name, CONFIG)
        outcome = "loaded"
        assert isinstance(content, FileContent)
        assert all(part.text and part.source == path.name for part in content.parts)
        assert all(where and reason for where, reason in content.bad_records)
    except UnreadableFile as exc:
        outcome = "skipped"
        assert str(exc)  # a reason, always
    if REPORT:
        with open(REPORT, "a") as report:
            report.write(json.dumps({"kind": kind, "suffix": suffix, "bytes": len(data),
                                     "outcome": outcome}) + "\n")


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "duplicate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 256))]
    return bytes(data)


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=4096))
def test_random_bytes(suffix, data):
    check(suffix, data, "random bytes")


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), text=st.text(max_size=2000))
def test_random_text(suffix, text):
    check(suffix, text.encode("utf-8", "surrogatepass"), "random text")


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), cut=st.floats(0, 1))
def test_truncated_real_files(suffix, cut):
    seed = SEEDS[suffix]
    check(suffix, seed[: int(len(seed) * cut)], "truncated")


@FUZZ
@given(data=st.data(), suffix=st.sampled_from(SUFFIXES))
def test_mutated_real_files(data, suffix):
    check(suffix, data.draw(mutated(SEEDS[suffix])), "mutated")


NESTING = {
    ".json": (b"[", b"]"), ".jsonl": (b"[", b"]"), ".html": (b"<div><span>", b"</span></div>"),
    ".md": (b"> ", b""), ".txt": (b"(", b")"), ".pdf": (b"<<", b">>"),
}


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), depth=st.integers(1, 200_000), closed=st.booleans())
def test_deep_nesting(suffix, depth, closed):
    opening, closing = NESTING[suffix]
    body = opening * depth + b"x" + (closing * depth if closed else b"")
    if suffix == ".pdf":
        body = b"%PDF-1.4\n1 0 obj\n" + body + b"\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    check(suffix, body, "deep nesting")


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), length=st.integers(10_000, 3_000_000),
       unit=st.sampled_from([b"a", b" ", b" \t", b"#", b"# ", b"<", b"\xc3\xa9", b"\"", b"\\", b"{"]),
       prefix=st.sampled_from([b"", b"# x", b"## ", b"---\n", b"{\"text\": \"", b"<p>"]))
def test_huge_lines(suffix, length, unit, prefix):
    check(suffix, prefix + unit * (length // len(unit)) + b"y", "huge line")
