"""A Chat Completions request body, checked, and the Pulse session it maps to.

Pulse keeps each session's history itself, so only the **last** message becomes the
turn; it must be the user's. The earlier messages a client resends only pick the
session when no ``X-Pulse-Session`` header or ``user`` field names one:

- ``X-Pulse-Session: NAME`` → session ``api:NAME`` (1-120 of ``A-Z a-z 0-9 . _ : @ -``,
  else 400);
- else Open WebUI's ``X-OpenWebUI-Chat-Id`` (sent with its
  ``ENABLE_FORWARD_USER_INFO_HEADERS``) → ``api:owui-<chat id>``, one session per chat;
- else the ``user`` field → ``api:USER`` (a value with other characters becomes
  ``api:u-<16 hex of its SHA-256>``);
- else the conversation → ``api:c-<16 hex>``, a SHA-256 of its messages up to and
  including the first user message (the system prompt and the first question), which
  every later request of the same conversation repeats. Two conversations that open
  with the same words share a session: send a header to tell them apart.

Passed through to the provider: ``temperature`` (Anthropic clamps it to 0..1) and
``max_tokens`` / ``max_completion_tokens`` (each LLM call of the turn, at most ``[agent]
max_tokens``). Accepted and ignored (the agent's own settings apply): ``top_p``,
``stop``, ``seed``, ``presence_penalty``, ``frequency_penalty``, ``tools``,
``tool_choice``, ``response_format`` and the like.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulsed.http_api.errors import ApiError, bad_request

SESSION_HEADER = "X-Pulse-Session"
OPEN_WEBUI_CHAT_HEADER = "X-OpenWebUI-Chat-Id"
SHOW_TOOLS_HEADER = "X-Pulse-Show-Tools"
SESSION_NAME = re.compile(r"^[A-Za-z0-9._:@-]{1,120}$")
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
TEXT_PARTS = ("text", "input_text")
IGNORED = (
    "top_p",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "reasoning_effort",
)
"""Fields taken and not used; each is logged at debug level when present."""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What a completion asks for.

    Attributes:
        model: the requested model id (``pulse`` or ``pulse:<provider:model>``).
        text: the last user message: the turn's input.
        session_id: the Pulse session (``api:...``).
        session_from: header | open-webui | user | conversation: what chose the session.
        stream: answer as SSE chunks.
        include_usage: ``stream_options.include_usage``: a last chunk with usage.
        user: the ``user`` field ('' when absent).
        show_tools: ``X-Pulse-Show-Tools: 1``: tool calls as text annotations.
        ignored: fields given that Pulse does not apply.
    """

    model: str
    text: str
    session_id: str
    session_from: str
    stream: bool = False
    include_usage: bool = False
    user: str = ""
    show_tools: bool = False
    temperature: float | None = None
    """Passed to the provider (None: its default)."""
    max_tokens: int = 0
    """Output cap per LLM call of the turn (0: ``[agent] max_tokens``)."""
    ignored: list[str] = field(default_factory=list)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body.

    Raises:
        ApiError: 400 when it is not a JSON object.
    """
    if not raw.strip():
        raise bad_request("the request body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise bad_request(f"the request body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise bad_request(f"the request body should be a JSON object, not {_kind(body)}")
    return body


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def text_of(content: Any, where: str, strict: bool) -> str:
    """The text of a message's ``content``: a string, or the text parts of an array.

    Raises:
        ApiError: 400 for a content of another shape, or (``strict``) a part that is not
            text (images, audio, files: not supported).
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise bad_request(f"{where}: should be a string or an array of parts", where)
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict):
            raise bad_request(f"{where}[{i}]: should be an object", f"{where}[{i}]")
        kind = part.get("type")
        if kind in TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif strict:
            raise bad_request(
                f"{where}[{i}]: parts of type {kind!r} are not supported; send text",
                f"{where}[{i}]",
                code="unsupported_content",
            )
        else:
            texts.append(f"[{kind}]")
    return "\n".join(texts)


def _messages(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of each message; only the last one's text must be plain text."""
    msgs = body.get("messages")
    if msgs is None:
        raise bad_request("messages is required: the conversation, ending with the user's")
    if not isinstance(msgs, list) or not msgs:
        raise bad_request("messages should be a non-empty array", "messages")
    out = []
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise bad_request(f"{where}: should be an object with role and content", where)
        role = m.get("role")
        if role not in ROLES:
            raise bad_request(f"{where}.role: should be one of {', '.join(ROLES)}", where)
        last = i == len(msgs) - 1
        out.append((str(role), text_of(m.get("content"), f"{where}.content", strict=last)))
    return out


def _named(prefix: str, value: str) -> str:
    """``prefix`` + ``value``, or + a hash of it when it holds other characters."""
    if SESSION_NAME.match(prefix + value):
        return prefix + value
    return prefix + "h-" + hashlib.sha256(value.encode()).hexdigest()[:16]


def session_for(
    header: str | None, user: str, messages: list[tuple[str, str]], chat_id: str | None = None
) -> tuple[str, str]:
    """(session id, what chose it): the ``X-Pulse-Session`` ``header`` (header), Open
    WebUI's ``chat_id`` header (open-webui), the ``user`` field (user), or the
    conversation's opening (conversation).

    Raises:
        ApiError: 400 for a header value that is not a session name.
    """
    if header is not None and header.strip():
        name = header.strip()
        if not SESSION_NAME.match(name):
            raise bad_request(
                f"{SESSION_HEADER}: {name[:60]!r} is not a session name: use 1-120 letters, "
                "digits or . _ : @ -",
                SESSION_HEADER,
            )
        return f"api:{name}", "header"
    if chat_id is not None and chat_id.strip():
        return _named("api:owui-", chat_id.strip()), "open-webui"
    if user:
        if SESSION_NAME.match(user):
            return f"api:{user}", "user"
        return "api:u-" + hashlib.sha256(user.encode()).hexdigest()[:16], "user"
    first_user = next(i for i, (role, _) in enumerate(messages) if role == "user")
    opening = json.dumps(messages[: first_user + 1], ensure_ascii=False)
    return "api:c-" + hashlib.sha256(opening.encode()).hexdigest()[:16], "conversation"


def parse_request(
    body: Mapping[str, Any], headers: Mapping[str, str], max_chars: int
) -> ChatRequest:
    """Check a Chat Completions body and map it to a ``ChatRequest``.

    ``headers`` are the request's (case-insensitive mapping); ``max_chars`` is
    ``[agent] max_message_chars``.

    Raises:
        ApiError: 400 naming the field that is missing or wrong.
    """
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_request("model is required: use pulse (GET /v1/models lists them)", "model")
    messages = _messages(body)
    role, text = messages[-1]
    if role != "user":
        raise bad_request(
            f"the last message is the {role}'s; Pulse answers the last user message "
            "(it keeps the conversation's history itself)",
            "messages",
        )
    if not text.strip():
        raise bad_request("the last user message is empty", "messages")
    if len(text) > max_chars:
        raise ApiError(
            400,
            f"the last user message is {len(text)} characters; the limit is {max_chars} "
            "([agent] max_message_chars)",
            param="messages",
            code="message_too_long",
        )
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise bad_request("stream should be true or false", "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise bad_request("stream_options should be an object", "stream_options")
    n = body.get("n", 1)
    if n not in (1, None):
        raise bad_request("n: Pulse gives one answer per request; send n = 1", "n")
    user = body.get("user") or ""
    if not isinstance(user, str):
        raise bad_request("user should be a string", "user")
    for key in ("temperature", "top_p", "max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise bad_request(f"{key} should be a number", key)
    session_id, chosen_by = session_for(
        headers.get(SESSION_HEADER), user, messages, headers.get(OPEN_WEBUI_CHAT_HEADER)
    )
    return ChatRequest(
        model=model.strip(),
        text=text,
        session_id=session_id,
        session_from=chosen_by,
        stream=bool(stream),
        include_usage=bool(options.get("include_usage")),
        user=user,
        show_tools=headers.get(SHOW_TOOLS_HEADER, "").strip().lower() in ("1", "true", "yes"),
        ignored=[k for k in IGNORED if body.get(k) is not None],
        temperature=_temperature(body.get("temperature")),
        max_tokens=int(body.get("max_completion_tokens") or body.get("max_tokens") or 0),
    )


def _temperature(value: Any) -> float | None:
    """A client's temperature, 0..2 as OpenAI's API takes it.

    Raises:
        ApiError: out of that range.
    """
    if value is None:
        return None
    if not 0 <= float(value) <= 2:
        raise bad_request("temperature should be between 0 and 2", "temperature")
    return float(value)
