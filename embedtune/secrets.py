"""API keys come from a ZenML secret or an environment variable, never from YAML.

The config names *where* a key is (``zenml_secret`` or ``api_key_env``); this module reads it
into a ``SecretStr``, which prints as ``**********`` in logs, reprs and tracebacks. Generation
and review read their keys the same way, so the errors a user sees are the same too.
"""

from __future__ import annotations

import os

from pydantic import SecretStr


def read_api_key(
    section: str,
    *,
    zenml_secret: str | None,
    env_var: str | None,
    error: type[Exception],
    hint: str = "",
) -> SecretStr | None:
    """The key from ``zenml_secret`` (its ``api_key`` value) if set, else from ``$env_var``.

    Returns None when the config names neither. Raises ``error``, naming the config field
    (``<section>.zenml_secret`` / ``<section>.api_key_env``) and how to fix it, when the named
    secret or variable is missing. ``hint`` is appended to those messages.
    """
    suffix = f" {hint}" if hint else ""
    if zenml_secret:
        from zenml.client import Client

        create = f"Create it with: zenml secret create {zenml_secret} --api_key=<key>"
        try:
            secret = Client().get_secret(zenml_secret)
        except KeyError as exc:
            raise error(
                f"ZenML secret '{zenml_secret}' ({section}.zenml_secret) does not exist. "
                f"{create}{suffix}"
            ) from exc
        if "api_key" not in secret.secret_values:
            raise error(f"ZenML secret '{zenml_secret}' has no 'api_key' value. {create}{suffix}")
        return SecretStr(secret.secret_values["api_key"])
    if env_var:
        value = os.environ.get(env_var)
        if not value:
            raise error(
                f"{section}.api_key_env names ${env_var}, which is not set. Export it before "
                f"running (the key is never read from the YAML).{suffix}"
            )
        return SecretStr(value)
    return None
