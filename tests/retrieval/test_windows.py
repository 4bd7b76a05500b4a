import pytest

from embedtune.retrieval.windows import text_tokens_per_window, token_windows

TEXT = ("Lyft's revenue depends on the number of riders and drivers on its platform. The company "
        "offers rideshare, bikes and scooters in cities across the United States and Canada. "
        "Insurance costs rose in 2021, and the pandemic reduced ridership for much of the year.")


def test_windows_are_exact_overlapping_substrings_that_cover_the_text(base_model):
    tokenizer = base_model.tokenizer
    windows = token_windows(tokenizer, TEXT, window_tokens=18, stride_tokens=8)
    size = text_tokens_per_window(tokenizer, 18)
    assert size == 16  # [CLS] and [SEP] take two of the 18
    assert len(windows) > 3
    assert all(w in TEXT for w in windows)
    assert TEXT.startswith(windows[0]) and TEXT.endswith(windows[-1])
    pieces = [tokenizer(w, add_special_tokens=False)["input_ids"] for w in windows]
    assert all(len(p) <= size for p in pieces) and len(pieces[0]) == size
    # Consecutive windows overlap by size - stride tokens (the last one ends at the text's end).
    assert pieces[1][: size - 8] == pieces[0][8:]


def test_a_text_that_fits_is_one_window_and_a_window_needs_room_for_text(base_model):
    assert token_windows(base_model.tokenizer, "Short text.", 128, 63) == ["Short text."]
    with pytest.raises(ValueError, match="leaves no room"):
        token_windows(base_model.tokenizer, TEXT, 2, 1)
