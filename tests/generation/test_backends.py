import pytest
from distilabel.models.llms import OllamaLLM, OpenAILLM

from embedtune.config import GenerationConfig
from embedtune.generation.backends import (
    DEFAULT_VLLM_URL,
    LOCAL_PLACEHOLDER_KEY,
    BackendError,
    build_llm,
    resolve_api_key,
)


def test_api_key_comes_from_the_named_environment_variable(monkeypatch):
    monkeypatch.setenv("MY_LLM_KEY", "sk-abc")
    config = GenerationConfig(backend="openai_compatible", base_url="http://h/v1", model="m",
                              api_key_env="MY_LLM_KEY")
    key = resolve_api_key(config)
    assert key.get_secret_value() == "sk-abc"
    llm = build_llm(config)
    assert isinstance(llm, OpenAILLM)
    assert "sk-abc" not in repr(llm) and "sk-abc" not in str(llm.model_dump())


def test_api_key_comes_from_a_zenml_secret():
    from zenml.client import Client

    client = Client()  # the test session's own store (tests/conftest.py)
    client.create_secret("embedtune-test-llm", values={"api_key": "sk-from-secret"})
    client.create_secret("embedtune-test-nokey", values={"token": "x"})
    try:
        config = GenerationConfig(backend="vllm", model="m", zenml_secret="embedtune-test-llm")
        assert resolve_api_key(config).get_secret_value() == "sk-from-secret"
        no_key = GenerationConfig(backend="vllm", model="m", zenml_secret="embedtune-test-nokey")
        with pytest.raises(BackendError, match="has no 'api_key' value"):
            resolve_api_key(no_key)
    finally:
        client.delete_secret("embedtune-test-llm")
        client.delete_secret("embedtune-test-nokey")


def test_missing_key_variable_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("ABSENT_KEY", raising=False)
    config = GenerationConfig(backend="openai_compatible", base_url="http://h/v1", model="m",
                              api_key_env="ABSENT_KEY")
    with pytest.raises(BackendError, match=r"\$ABSENT_KEY, which is not set"):
        resolve_api_key(config)


def test_openai_without_key_is_refused():
    config = GenerationConfig(backend="openai_compatible", base_url="https://api.openai.com/v1",
                              model="gpt-4o-mini")
    with pytest.raises(BackendError, match="API key"):
        build_llm(config)


def test_vllm_uses_its_openai_endpoint_with_the_json_schema():
    llm = build_llm(GenerationConfig(backend="vllm", model="Qwen/Qwen2.5-7B-Instruct"))
    assert isinstance(llm, OpenAILLM)
    assert llm.base_url == DEFAULT_VLLM_URL
    assert llm.api_key.get_secret_value() == LOCAL_PLACEHOLDER_KEY
    fmt = llm.generation_kwargs["extra_body"]["response_format"]
    assert fmt["type"] == "json_schema"


def test_ollama_uses_distilabels_ollama_llm_in_json_mode():
    llm = build_llm(GenerationConfig(backend="ollama", model="qwen2.5:1.5b", temperature=0.2))
    assert isinstance(llm, OllamaLLM)
    assert llm.generation_kwargs["format"] == "json"
    assert llm.generation_kwargs["options"]["temperature"] == 0.2
