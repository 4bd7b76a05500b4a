"""Build the distilabel LLM for the configured backend, and resolve its API key safely.

Every backend speaks through a distilabel LLM with the same prompt and output parsing:
- ``embedded``: the GGUF from PyPI, served on 127.0.0.1 by a subprocess (see
  ``embedded_server``), reached with ``OpenAILLM``;
- ``openai_compatible``: OpenAI or any server with the same API (llama.cpp, TGI, LM Studio...);
- ``vllm``: a served vLLM through its OpenAI-compatible endpoint. distilabel's ``ClientvLLM`` is
  not used: it downloads a tokenizer from the hub and has no structured-output parameter;
- ``ollama``: distilabel's ``OllamaLLM`` (native API, JSON mode; needs ``pip install ollama``).

API keys come from an environment variable or a ZenML secret named in the config, never from the
YAML, and are handed to the client as ``SecretStr`` so they are not printed in reprs or logs.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator

from distilabel.models.llms.base import LLM
from pydantic import SecretStr

from embedtune.config import Backend, GenerationConfig
from embedtune.generation.prompts import output_constraint
from embedtune.secrets import read_api_key

LOCAL_PLACEHOLDER_KEY = "no-key-needed-for-local-servers"
DEFAULT_VLLM_URL = "http://localhost:8000/v1"
DEFAULT_OLLAMA_HOST = "http://localhost:11434"


class BackendError(RuntimeError):
    """The configured LLM backend cannot be used as configured."""


def resolve_api_key(config: GenerationConfig) -> SecretStr | None:
    """Return the API key from the ZenML secret or environment variable named in the config."""
    return read_api_key(
        "generation", zenml_secret=config.zenml_secret, env_var=config.api_key_env,
        error=BackendError,
    )


def _generation_kwargs(config: GenerationConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "max_new_tokens": config.max_new_tokens,
        "temperature": config.temperature,
    }
    constraint = output_constraint(config.structured_output, config.queries_per_chunk)
    if constraint:
        kwargs["extra_body"] = constraint  # the OpenAI client merges it into the request
    return kwargs


@lru_cache(maxsize=1)
def _strict_ollama_class() -> type[LLM]:
    """distilabel's ``OllamaLLM``, with an ``agenerate`` the runner can drive.

    distilabel's own takes no ``num_generations`` (the runner's call failed with a validation
    error, so this backend could not generate at all), and it swallows every request error into
    a warning and then fails on the missing statistics. This one passes the ``ollama`` client's
    errors through (``ResponseError`` with its status code, httpx's transport errors), so 429s,
    5xx and timeouts are retried like on the other backends, and a 404 (unknown model) stops the
    run.
    """
    try:
        import ollama  # noqa: F401
        from distilabel.models.llms import OllamaLLM
        from distilabel.models.llms.utils import prepare_output
    except ImportError as exc:
        raise BackendError("The ollama backend needs `pip install ollama`.") from exc

    class StrictOllamaLLM(OllamaLLM):
        async def agenerate(self, input: Any, num_generations: int = 1, format: str = "",
                            options: Any = None, keep_alive: Any = None) -> Any:
            if num_generations != 1:
                raise BackendError("the ollama backend generates one answer per request")
            completion = await self._generate_chat_completion(input, format or None, options,
                                                              keep_alive)
            return prepare_output([completion["message"]["content"]],
                                  **self._get_llm_statistics(completion))

    return StrictOllamaLLM


def request_generation_kwargs(config: GenerationConfig) -> dict[str, Any]:
    """The generation parameters every request of ``config`` carries (part of the resume
    cache's key, so ``plan`` can tell which chunks are done without building a client)."""
    if config.backend is Backend.ollama:
        return {
            "format": "" if config.structured_output == "none" else "json",
            "options": {"temperature": config.temperature, "num_predict": config.max_new_tokens},
        }
    return _generation_kwargs(config)


def build_llm(config: GenerationConfig, base_url: str | None = None) -> LLM:
    """The distilabel LLM for ``config``; ``base_url`` overrides the config (embedded server)."""
    if config.backend is Backend.ollama:
        return _strict_ollama_class()(
            model=config.model,
            host=base_url or config.base_url or DEFAULT_OLLAMA_HOST,
            timeout=int(config.timeout_s),
            generation_kwargs=request_generation_kwargs(config),
        )

    from distilabel.models.llms import OpenAILLM

    url = base_url or config.base_url
    if config.backend is Backend.vllm:
        url = url or DEFAULT_VLLM_URL
    api_key = resolve_api_key(config)
    if api_key is None:
        if config.backend is Backend.openai_compatible and "api.openai.com" in (url or ""):
            raise BackendError(
                "OpenAI needs an API key: set generation.api_key_env (e.g. OPENAI_API_KEY)."
            )
        api_key = SecretStr(LOCAL_PLACEHOLDER_KEY)
    model = config.model or "embedded"
    return OpenAILLM(
        model=model,
        base_url=url,
        api_key=api_key,
        # The runner retries (counted, shown, Retry-After shared by all requests), not the client.
        max_retries=0,
        timeout=int(config.timeout_s) + 1,  # the runner's own limit (timeout_s) fires first
        generation_kwargs=_generation_kwargs(config),
    )


@contextmanager
def llm_for(config: GenerationConfig) -> Iterator[tuple[LLM, str]]:
    """Yield a loaded distilabel LLM and a human-readable model name; start/stop what it needs."""
    if config.backend is Backend.embedded:
        from embedtune.bundled.llm import GGUF_FILENAME, ensure_embedded_gguf
        from embedtune.generation.embedded_server import embedded_server

        with embedded_server(ensure_embedded_gguf(), config.embedded) as url:
            yield from _loaded(build_llm(config, base_url=url), GGUF_FILENAME.removesuffix(".gguf"))
        return
    yield from _loaded(build_llm(config), f"{config.backend.value}:{config.model}")


def _loaded(llm: LLM, model_name: str) -> Iterator[tuple[LLM, str]]:
    llm.load()
    try:
        yield llm, model_name
    finally:
        llm.unload()
