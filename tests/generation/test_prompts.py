from embedtune.generation.prompts import (
    NEGATIVE_KEY,
    QUESTIONS_KEY,
    build_messages,
    compact_json_grammar,
    output_constraint,
    output_schema,
    response_format,
    truncate_words,
)


def test_fixed_instructions_come_before_the_chunk():
    """Prefix caching only helps if everything before the chunk is identical across chunks."""
    a = build_messages("Alpha chunk text.", n_queries=3, domain_context="10-K filings")
    b = build_messages("Beta chunk, longer text.", n_queries=3, domain_context="10-K filings")
    assert a[0] == b[0]
    prefix_a = a[1]["content"].split("Passage:\n")[0]
    assert prefix_a == b[1]["content"].split("Passage:\n")[0]
    assert a[1]["content"].endswith("Passage:\nAlpha chunk text.")
    assert "10-K filings" in a[0]["content"]


def test_extra_instructions_and_word_budget():
    messages = build_messages(
        "word " * 1000, n_queries=2, domain_context="x", extra_instructions="Ask as an analyst.",
        max_chunk_words=50,
    )
    assert "Ask as an analyst." in messages[1]["content"]
    assert len(messages[1]["content"].split("Passage:\n")[1].split()) == 50
    assert truncate_words("a b c", 5) == "a b c"


def test_schema_requires_exact_number_of_questions():
    schema = output_schema(4)
    assert schema["properties"][QUESTIONS_KEY]["minItems"] == 4
    assert schema["properties"][QUESTIONS_KEY]["maxItems"] == 4
    assert set(schema["required"]) == {QUESTIONS_KEY, NEGATIVE_KEY}


def test_response_format_modes():
    assert response_format("json_schema", 3)["json_schema"]["schema"] == output_schema(3)
    assert response_format("json_object", 3) == {"type": "json_object"}
    assert response_format("none", 3) is None


def test_output_constraint_is_the_request_field_for_each_mode():
    assert output_constraint("json_schema", 3) == {"response_format": response_format("json_schema", 3)}
    assert output_constraint("json_object", 3) == {"response_format": {"type": "json_object"}}
    assert output_constraint("gbnf", 3) == {"grammar": compact_json_grammar(3)}
    assert output_constraint("none", 3) == {}


def test_compact_grammar_fixes_the_layout_and_the_number_of_questions():
    grammar = compact_json_grammar(2)
    root = grammar.splitlines()[0]
    assert root == ('root ::= "{\\"questions\\":[" string "," string "],'
                    '\\"unanswerable_question\\":" string "}"')
    assert "space" not in grammar and "\\n" not in root  # no optional whitespace anywhere
    assert compact_json_grammar(4).splitlines()[0].count("string") == 5
