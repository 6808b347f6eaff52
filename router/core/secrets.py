"""Secrets never appear in logs, errors, dead letters or chat: every text Sparky keeps from outside
is scrubbed of the configured secrets (router/core/config.py `SECRET_VARS`) first."""
from __future__ import annotations

from router.core.config import SECRET_VARS, Config

REDACTED = "[redacted]"


def secrets(config: Config) -> list[str]:
    """Every configured secret (router.core.config.SECRET_VARS), to be scrubbed from any text we keep."""
    values: list[str] = []
    for name in SECRET_VARS:
        value = getattr(config, name.lower().removeprefix("sparky_"), "")
        values.extend(value if isinstance(value, (tuple, list)) else [value])
    # Longest first, so a secret that contains another is replaced whole.
    return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)


def redact(text: str, config: Config) -> str:
    for secret in secrets(config):
        text = text.replace(secret, REDACTED)
    return text
