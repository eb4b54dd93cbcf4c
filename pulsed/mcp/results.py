"""An MCP ``CallToolResult`` as the text a model reads.

Text parts stay text; structured content is JSON (when no text part says the same);
images, audio and resources are summarised by type and size, never inlined; the whole
is cut to a byte cap.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pulsed.tools.base import ToolOutput


def _decoded_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return len(data)


def _part(part: Any) -> str:
    kind = getattr(part, "type", "")
    if kind == "text":
        return str(part.text)
    if kind in ("image", "audio"):
        mime = getattr(part, "mime_type", "") or "?"
        return f"[{kind} {mime}, {_decoded_size(part.data)} bytes]"
    if kind == "resource_link":
        mime = getattr(part, "mime_type", None) or "?"
        size = getattr(part, "size", None)
        sized = f", {size} bytes" if size is not None else ""
        return f"[resource link {part.uri} ({mime}{sized})]"
    if kind == "resource":
        res = part.resource
        mime = getattr(res, "mime_type", None) or "?"
        if hasattr(res, "text"):
            size = len(str(res.text).encode())
        else:
            size = _decoded_size(getattr(res, "blob", ""))
        return f"[resource {res.uri} ({mime}, {size} bytes)]"
    return f"[{kind or 'unknown'} content]"


def cap(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, saying how much was cut."""
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    kept = raw[:max_bytes].decode(errors="ignore")
    return f"{kept}\n[cut: {len(raw) - len(kept.encode())} more bytes]"


def to_output(result: Any, max_bytes: int) -> ToolOutput:
    """A ``mcp_types.CallToolResult`` as a ToolOutput: ``is_error`` carried over, the
    content joined by blank lines, capped at ``max_bytes``."""
    parts = [_part(p) for p in result.content or []]
    texts = [p.text for p in result.content or [] if getattr(p, "type", "") == "text"]
    structured = result.structured_content
    if structured is not None and not texts:
        parts.insert(0, json.dumps(structured, ensure_ascii=False, sort_keys=True))
    text = "\n\n".join(parts) if parts else "(no content)"
    return ToolOutput(cap(text, max_bytes), is_error=bool(result.is_error))
