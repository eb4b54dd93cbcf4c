"""What looks like a secret: credential-shaped text and secret-naming keys.

Shared by what must never store a secret: the agent's redaction of tool-call arguments
(``pulsed.agent.redact``) and memory, which refuses to keep one (``pulsed.memory``).
Shapes recognised inside a string: ``Bearer …``/``Basic …`` schemes, ``name=value`` /
``name: value`` pairs with a secret name, OpenAI/Anthropic ``sk-…``, Slack ``xox?-…``,
GitHub ``ghp_…`` and friends, AWS access key ids ``AKIA…``, Telegram bot tokens
``<digits>:<35 chars>``, PEM private key blocks.
"""

from __future__ import annotations

import re

MASK = "***"

_SECRET_WORDS = frozenset(
    {
        "token",
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "pwd",
        "passphrase",
        "credential",
        "credentials",
        "authorization",
        "auth",
        "cookie",
        "cookies",
        "apikey",
        "privatekey",
        "accesskey",
        "bearer",
    }
)
# ``key`` is a secret when it stands alone or is qualified by one of these.
_KEY_QUALIFIERS = frozenset({"api", "access", "private", "secret", "signing", "client", "auth"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

_SECRET_NAME = (
    r"(?:api[_-]?key|x-api-key|access[_-]?key|secret(?:[_-]?key)?|client[_-]?secret|"
    r"password|passwd|pwd|token|access[_-]?token|auth[_-]?token|authorization|cookie|"
    r"private[_-]?key)"
)
_VALUE_SHAPES = [
    # PEM private keys: the whole block.
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S
    ),
    # HTTP auth schemes (RFC 9110 §11): keep the scheme, mask the credentials.
    re.compile(r"(?i)\b(Bearer|Basic|Token|Digest)\s+[A-Za-z0-9._~+/=:-]{8,}"),
    # name=value, name: value, "name": "value" with a secret name.
    re.compile(r"(?i)(" + _SECRET_NAME + r"\"?\s*[:=]\s*\"?)(?!\*\*\*)([^\s\"',;&]{4,})"),
    re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}"),  # OpenAI, Anthropic
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"\bxapp-[A-Za-z0-9-]{10,}"),  # Slack app-level
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}"),  # Telegram bot token (35 chars today)
]


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret: by its words (``apiKey`` → api, key;
    ``X-Auth-Token`` → x, auth, token), or squashed (``apikey``, ``authtoken``)."""
    words = [w.lower() for w in _WORD.findall(key)]
    if any(w in _SECRET_WORDS for w in words):
        return True
    if "key" in words and (len(words) == 1 or any(w in _KEY_QUALIFIERS for w in words)):
        return True
    squashed = "".join(words)
    return any(s in squashed for s in ("apikey", "authtoken", "accesstoken", "privatekey"))


def redact_text(text: str) -> str:
    """``text`` with every credential-shaped part masked (see the module docstring)."""
    for i, shape in enumerate(_VALUE_SHAPES):
        if i == 1:
            text = shape.sub(lambda m: f"{m.group(1)} {MASK}", text)
        elif i == 2:
            text = shape.sub(lambda m: f"{m.group(1)}{MASK}", text)
        else:
            text = shape.sub(MASK, text)
    return text


def looks_secret(text: str) -> bool:
    """Whether ``text`` holds anything credential-shaped (what ``redact_text`` masks)."""
    return redact_text(text) != text
