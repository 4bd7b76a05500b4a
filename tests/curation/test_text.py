from embedtune.curation.text import copied_fraction, normalized, words


def test_words_ignore_case_and_punctuation_but_keep_numbers_and_contractions():
    assert words("What was Lyft's 2021 revenue, in $?") == ["what", "was", "lyft's", "2021", "revenue", "in"]
    assert normalized("What is  Lyft?") == normalized("what is lyft")


def test_copied_fraction_counts_words_inside_shared_4_grams():
    passage = "Revenue increased by 36 percent in 2021 compared to the prior year."
    assert copied_fraction("Revenue increased by 36 percent in 2021?", passage) == 1.0
    assert copied_fraction("How did revenue change from 2020 to 2021?", passage) == 0.0
    assert copied_fraction("Why?", passage) == 0.0  # shorter than one n-gram
