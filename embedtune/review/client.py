"""Connect to Argilla with a clear error for each way it fails, and the API key kept secret.

The key comes from the environment variable or ZenML secret named in ``argilla:``, never from
YAML, and is held as ``SecretStr`` until the SDK client is built; error messages name where the
key came from, never the key.
"""

from __future__ import annotations

from pydantic import SecretStr

from embedtune.config import ArgillaConfig
from embedtune.secrets import read_api_key

RERUN_HINT = (
    "The generated queries are already saved as ZenML artifacts: after the fix, rerun the same "
    "config and the cached steps are reused."
)


class ArgillaReviewError(RuntimeError):
    """Argilla cannot be used as configured; the message says what to do."""


def _key_source(config: ArgillaConfig) -> str:
    if config.zenml_secret:
        return f"ZenML secret '{config.zenml_secret}'"
    return f"${config.api_key_env}"


def resolve_api_key(config: ArgillaConfig) -> SecretStr:
    """The Argilla key from ``argilla.zenml_secret`` or ``$argilla.api_key_env``."""
    hint = (
        "(`python run.py argilla-up` prints the key of the local server; or set "
        f"argilla.zenml_secret.) {RERUN_HINT}"
    )
    key = read_api_key(
        "argilla", zenml_secret=config.zenml_secret, env_var=config.api_key_env,
        error=ArgillaReviewError, hint=hint,
    )
    if key is None:
        raise ArgillaReviewError(
            f"No Argilla API key: set argilla.api_key_env or argilla.zenml_secret. {hint}"
        )
    return key


def connect(config: ArgillaConfig):
    """An ``argilla.Argilla`` client, after checking the server answers and accepts the key."""
    import argilla as rg
    import httpx
    from argilla._exceptions import ArgillaCredentialsError

    api_key = resolve_api_key(config)
    try:
        client = rg.Argilla(api_url=config.api_url, api_key=api_key.get_secret_value(),
                            timeout=int(config.timeout_s))
    except httpx.TransportError as exc:
        raise ArgillaReviewError(
            f"Cannot reach Argilla at {config.api_url} ({type(exc).__name__}: {exc}). Start the "
            "local server with `python run.py argilla-up`, or fix argilla.api_url. " + RERUN_HINT
        ) from None
    except ArgillaCredentialsError:
        raise ArgillaReviewError(
            f"Argilla at {config.api_url} rejected the API key from {_key_source(config)}. Use the "
            "key `python run.py argilla-up` printed, or an owner/admin key from your Argilla's "
            "settings page. " + RERUN_HINT
        ) from None
    if client.workspaces(config.workspace) is None:
        raise ArgillaReviewError(
            f"Argilla at {config.api_url} has no workspace '{config.workspace}' "
            "(argilla.workspace). Create it in Argilla or set an existing one. " + RERUN_HINT
        )
    return client
