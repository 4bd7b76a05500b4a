"""Cut a chunk into overlapping windows of the embedding model's own tokens.

Windows are exact substrings of the chunk (cut at the tokenizer's character offsets), so a
window is text a user can read and the model tokenizes it back to the same pieces.
"""

from __future__ import annotations

from typing import Any


def text_tokens_per_window(tokenizer: Any, window_tokens: int) -> int:
    """Text tokens that fit in a window of ``window_tokens`` model inputs ([CLS]/[SEP] and the
    like take the rest)."""
    special = tokenizer.num_special_tokens_to_add(pair=False)
    if window_tokens <= special:
        raise ValueError(f"A window of {window_tokens} tokens leaves no room for text "
                         f"({special} special tokens).")
    return window_tokens - special


def token_windows(tokenizer: Any, text: str, window_tokens: int, stride_tokens: int) -> list[str]:
    """``text`` as windows of at most ``window_tokens`` model inputs, each starting
    ``stride_tokens`` text tokens after the previous one; the last window ends at the text's
    end. A text that fits in one window is returned whole."""
    if stride_tokens < 1:
        raise ValueError("stride_tokens must be at least 1")
    size = text_tokens_per_window(tokenizer, window_tokens)
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    if len(offsets) <= size:
        return [text]
    windows, start = [], 0
    while True:
        end = min(start + size, len(offsets))
        windows.append(text[offsets[start][0]:offsets[end - 1][1]])
        if end == len(offsets):
            return windows
        start = min(start + stride_tokens, len(offsets) - size)
