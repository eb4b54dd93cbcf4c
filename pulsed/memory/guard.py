"""What memory refuses to keep: values that look like secrets (keys, tokens, passwords).

On top of the credential shapes of ``pulsed.tools.secrets``, phrases that state a
secret in words ("my wifi password is hunter2", "the PIN is 4821") are refused too.
"""

from __future__ import annotations

import re

from pulsed.tools.secrets import looks_secret

_STATED = re.compile(
    r"(?i)\b(?:password|passwd|passcode|passphrase|pin(?:\s+code)?|api[\s_-]?key|"
    r"access[\s_-]?key|secret[\s_-]?key|token|private[\s_-]?key|2fa|otp|cvv|"
    r"recovery\s+code)s?\b(?:\s+(?:for|of|to)\s+[\w .'-]{1,40}?)?\s*(?:is|are|was|=|:)\s*"
    r"[\"'`]?[^\s\"'`]{3,}"
)


def secret_reason(text: str) -> str:
    """Why ``text`` must not be stored ('' when it may be): it holds a credential-shaped
    value or states a password, PIN, key or token."""
    if looks_secret(text):
        return "it holds something shaped like a key, token or password"
    if _STATED.search(text):
        return "it states a password, PIN, key or token"
    return ""
