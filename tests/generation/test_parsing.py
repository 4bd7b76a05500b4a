import json

import pytest

from embedtune.generation.parsing import ParseError, clean_query, normalize, parse_generation


def answer(questions, negative="What is the colour of the moon rover?"):
    return json.dumps({"questions": questions, "unanswerable_question": negative})


def test_parses_clean_answer():
    out = parse_generation(answer(["What is Lyft's mission?", "Who founded Lyft in 2012?"]), 2)
    assert out.queries == ["What is Lyft's mission?", "Who founded Lyft in 2012?"]
    assert out.negative_query == "What is the colour of the moon rover?"


def test_strips_fences_numbering_and_model_notes():
    raw = "```json\n" + answer(
        ["1. What does Lyft Pink include?", "What is Express Drive? (This question is answered by the passage.)"],
        "How many bikes does Lyft own? (This question is not answered by the passage.)",
    ) + "\n```"
    out = parse_generation(raw, 3)
    assert out.queries == ["What does Lyft Pink include?", "What is Express Drive?"]
    assert out.negative_query == "How many bikes does Lyft own?"


def test_drops_passage_references():
    assert clean_query("What risks are mentioned in the passage?") == "What risks are?"
    assert clean_query("What is the revenue according to the passage?") == "What is the revenue?"


def test_duplicates_and_short_questions_are_dropped():
    out = parse_generation(answer(["What is Lyft?", "what is lyft", "Why?", "How do drivers earn money?"]), 3)
    assert out.queries == ["What is Lyft?", "How do drivers earn money?"]


def test_negative_equal_to_a_positive_is_discarded():
    out = parse_generation(answer(["What is Lyft Pink?"], negative="What is Lyft Pink ?"), 1)
    assert out.negative_query is None


def test_caps_at_expected_number():
    out = parse_generation(answer([f"What is item number {i} about?" for i in range(5)]), 3)
    assert len(out.queries) == 3


@pytest.mark.parametrize(
    "raw, reason",
    [
        (None, "empty response"),
        ("", "empty response"),
        ("not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"answer": 1}', "missing list 'questions'"),
        (answer(["Why?", 3]), "no usable question"),
    ],
)
def test_unusable_answers_raise_with_reason(raw, reason):
    with pytest.raises(ParseError, match=reason):
        parse_generation(raw, 3)


def test_truncated_answer_says_so():
    with pytest.raises(ParseError, match="cut at generation.max_new_tokens"):
        parse_generation('{"questions": ["What is Lyft\'s mission and', 3)


def test_normalize_ignores_case_and_punctuation():
    assert normalize("What's  Lyft?") == normalize("what s lyft")
