"""Secrets out of what is stored: tool-call arguments before they become rows.

``redact(value)`` walks nested dicts and lists and masks

- every value under a key that names a secret (``api_key``, ``apiKey``, ``token``,
  ``secret``, ``password``/``passwd``/``pwd``, ``credential(s)``, ``authorization``,
  ``auth``, ``cookie``, ``private_key``, ``access_key``, ``client_secret`` …), whatever
  the value's type;
- inside any string, anything shaped like a credential: ``Bearer …``/``Basic …``
  schemes, ``name=value`` / ``name: value`` pairs with a secret name, and the token
  formats of the common providers: OpenAI/Anthropic ``sk-…``, Slack ``xox?-…``, GitHub
  ``ghp_…`` and friends, AWS access key ids ``AKIA…``, Telegram bot tokens
  ``<digits>:<35 chars>``, PEM private key blocks.

Long strings are shortened to a preview. The result is a new value; the input is not
changed (the tool itself still gets the real arguments).
"""

from __future__ import annotations

from typing import Any

from pulsed.tools.secrets import MASK as MASK
from pulsed.tools.secrets import is_secret_key as is_secret_key
from pulsed.tools.secrets import redact_text as redact_text

MAX_DEPTH = 32


def redact(value: Any, preview_chars: int = 200, _depth: int = 0) -> Any:
    """A copy of ``value`` (JSON-shaped: dict, list, str, number, bool, None) with
    secrets masked and strings longer than ``preview_chars`` cut to a preview
    ``"…[N chars]"``. Nesting deeper than ``MAX_DEPTH`` is replaced by a marker."""
    if _depth > MAX_DEPTH:
        return "[nested too deep]"
    if isinstance(value, dict):
        return {
            k: (
                MASK
                if isinstance(k, str) and is_secret_key(k)
                else redact(v, preview_chars, _depth + 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, preview_chars, _depth + 1) for v in value]
    if isinstance(value, str):
        text = redact_text(value)
        if len(text) > preview_chars:
            return text[:preview_chars] + f"… [{len(value)} chars]"
        return text
    return value
