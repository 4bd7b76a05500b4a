"""A content fingerprint of the corpus, passed to the loading step so ZenML's cache notices when a
file is added, removed or edited (the step's only other input is the folder's path).

It hashes exactly the files the loader would read (``loading.corpus_files``): a symlink out of
the corpus is neither read nor hashed unless ``corpus.follow_symlinks_outside`` is on.
"""

from __future__ import annotations

import hashlib

from embedtune.config import CorpusConfig
from embedtune.corpus.loading import corpus_files


def corpus_fingerprint(corpus: CorpusConfig) -> str:
    path = corpus.path
    suffixes = {e.lower() for e in corpus.extensions}
    files, _ = corpus_files(path, corpus.follow_symlinks_outside)
    digest = hashlib.sha256()
    for file in files:
        if file.suffix.lower() not in suffixes:
            continue
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        try:
            digest.update(hashlib.sha256(file.read_bytes()).digest())
        except OSError as exc:  # the loader names it; the fingerprint only has to be stable
            digest.update(f"unreadable: {exc.errno}".encode())
    return digest.hexdigest()[:16]
