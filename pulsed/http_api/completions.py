"""``POST /v1/chat/completions``: one turn through the intake, answered whole or as SSE.

The request becomes a ``TurnInput`` (source ``api``, the mapped ``api:...`` session, the
last user message as text, ``interactive=False``: an unattended turn, so an "ask" tool
is denied unless an allow pattern matches); ``TurnManager.start`` stores it durably and
the turn's events are followed:

- plain: the answer once the turn ends, as one ``chat.completion``;
- ``stream: true``: ``data: {chat.completion.chunk}`` lines as the text streams in, a
  last chunk with ``finish_reason: "stop"``, the usage chunk when
  ``stream_options.include_usage`` is set, then ``data: [DONE]``. The response starts
  with the first event after the turn was accepted (text, a tool call, or its end), so a
  turn refused at once (budget cap, no provider) still answers with its HTTP status;
  an error after that comes as a ``data: {"error": {...}}`` line, which the openai SDKs
  raise as ``APIError``. A tool round's text is followed by a blank line before the next
  round's, and while nothing happens a ``: keep-alive`` comment goes out every
  ``[api.http] keepalive_s`` seconds (also the longest wait for the first event).

With ``X-Pulse-Show-Tools: 1`` each tool call and its result also appear in the text as
annotations (``[tool current_time {"tz": "UTC"}]``, ``[tool current_time: ok, 3 ms]``).
A client that hangs up does not stop the turn: its answer is stored in the session, as
for every edge.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from pulsed.agent.events import (
    Delta,
    Failed,
    Final,
    ToolCallStarted,
    ToolResultReady,
    TurnEvent,
)
from pulsed.agent.intake import TurnEvents, TurnHandle, TurnInput
from pulsed.agent.turns import TurnManager
from pulsed.config import Config
from pulsed.errors import PulseError
from pulsed.http_api import shapes
from pulsed.http_api.errors import ApiError, from_failed, from_pulse_error
from pulsed.http_api.models import resolve
from pulsed.http_api.request import ChatRequest, parse_body, parse_request
from pulsed.providers.pool import ProviderPool
from pulsed.store.base import Store

log = logging.getLogger("pulsed.http_api")

ARGS_SHOWN = 200
"""Characters of a tool call's arguments shown in an annotation."""
USER_AGENT_KEPT = 120


@dataclass(frozen=True, slots=True)
class HttpDeps:
    """What the API's handlers need, built once by the server.

    Attributes:
        cfg: the daemon's config (``[api.http]``, ``[agent] max_message_chars``).
        store: for the turns' usage (``llm_logs``).
        turns: the one intake.
        providers: the provider chain behind the model list.
        started: when the daemon started, Unix seconds (the models' ``created``).
    """

    cfg: Config
    store: Store
    turns: TurnManager
    providers: ProviderPool
    started: int


def _turn_input(req: ChatRequest, model: str, user_agent: str) -> TurnInput:
    return TurnInput(
        source="api",
        session_id=req.session_id,
        text=req.text,
        user_id=req.user or "local",
        channel_metadata={
            "via": "http",
            "model": req.model,
            "session_from": req.session_from,
            "client": user_agent[:USER_AGENT_KEPT],
        },
        interactive=False,
        model=model,
        temperature=req.temperature,
        max_tokens=max(0, req.max_tokens),
    )


def tool_started(ev: ToolCallStarted) -> str:
    """The annotation of a tool call."""
    args = ev.arguments_json
    if len(args) > ARGS_SHOWN:
        args = args[: ARGS_SHOWN - 1] + "…"
    return f"[tool {ev.name} {args}]\n"


def tool_ended(ev: ToolResultReady) -> str:
    """The annotation of a tool call's end."""
    return f"[tool {ev.name}: {ev.status}, {ev.duration_ms:.0f} ms]\n\n"


async def handle(request: web.Request, deps: HttpDeps) -> web.StreamResponse:
    """Answer one completion request.

    Raises:
        ApiError: a bad request (400), an unknown model (404), or a turn that failed
            before the answer started (429 budget cap, 503 no provider or store, ...).
    """
    body = parse_body(await request.read())
    req = parse_request(body, request.headers, deps.cfg.agent.max_message_chars)
    model = resolve(req.model, deps.providers.chain())
    if req.ignored:
        log.debug("completion: ignoring %s (the agent's own settings apply)", req.ignored)
    try:
        turn = await deps.turns.start(
            _turn_input(req, model.turn_model, request.headers.get("User-Agent", ""))
        )
    except PulseError as e:
        raise from_pulse_error(e) from None
    follow = _Follow(request, deps, req, turn)
    return await (follow.stream() if req.stream else follow.whole())


class _Follow:
    """Follows one turn's events and answers the request with them."""

    def __init__(
        self, request: web.Request, deps: HttpDeps, req: ChatRequest, turn: TurnHandle
    ) -> None:
        self.request = request
        self.deps = deps
        self.req = req
        self.turn = turn
        self.id = f"chatcmpl-{turn.id}"
        self.created = int(time.time())
        self.headers = {"X-Pulse-Session": turn.session_id, "X-Pulse-Turn": turn.id}
        self.resp: web.StreamResponse | None = None
        self.round_text = ""
        """Text streamed since the last tool call."""
        self.after_tools = False
        """A tool ran since text was last streamed."""
        self.tail = ""
        """The last content sent."""
        self.keepalive_s = deps.cfg.api.http.keepalive_s

    async def usage(self, final: Final) -> dict[str, Any]:
        return await shapes.turn_usage(self.deps.store, self.turn.row, final.usage)

    # -- plain --------------------------------------------------------------------------

    async def whole(self) -> web.Response:
        notes: list[str] = []
        async with self.turn.events() as events:
            async for ev in events:
                if isinstance(ev, Failed):
                    raise _with_headers(from_failed(ev), self.headers)
                if isinstance(ev, Final):
                    text = "".join(notes) + ev.text
                    body = shapes.completion(
                        self.id, self.created, self.req.model, text, await self.usage(ev)
                    )
                    return web.json_response(body, headers=self.headers)
                if self.req.show_tools and isinstance(ev, ToolCallStarted):
                    notes.append(tool_started(ev))
                elif self.req.show_tools and isinstance(ev, ToolResultReady):
                    notes.append(tool_ended(ev))
        raise ApiError(500, "the turn ended without an answer", type="server_error")

    # -- streamed -----------------------------------------------------------------------

    async def stream(self) -> web.StreamResponse:
        try:
            async with self.turn.events() as events:
                await self._stream(events)
        except ConnectionResetError:
            log.debug("turn %s: the client hung up; the turn goes on", self.turn.id)
        if self.resp is None:  # the client left before anything was sent
            raise ApiError(499, "the client closed the connection", type="server_error")
        return self.resp

    async def _stream(self, events: TurnEvents) -> None:
        while True:
            try:
                ev = await asyncio.wait_for(events.next(), self.keepalive_s)
            except TimeoutError:
                if self.resp is None:
                    await self._open()
                else:
                    await self.resp.write(b": keep-alive\n\n")
                continue
            except StopAsyncIteration:
                return
            if await self._event(ev):
                return

    async def _event(self, ev: TurnEvent) -> bool:
        """Send what ``ev`` shows; True once the stream has ended."""
        if isinstance(ev, Failed):
            if self.resp is None:
                raise _with_headers(from_failed(ev), self.headers)
            await self._send(from_failed(ev).body())
            return True
        if isinstance(ev, Delta):
            await self._text(ev.text)
        elif isinstance(ev, ToolCallStarted):
            self.after_tools, self.round_text = True, ""
            if self.req.show_tools:
                await self._text(tool_started(ev), note=True)
        elif isinstance(ev, ToolResultReady):
            if self.req.show_tools:
                await self._text(tool_ended(ev), note=True)
        elif isinstance(ev, Final):
            if not self.round_text and ev.text:
                await self._text(ev.text)  # an answer that did not stream
            await self._open()
            await self._send(shapes.chunk(self.id, self.created, self.req.model, {}, "stop"))
            if self.req.include_usage:
                usage = await self.usage(ev)
                await self._send(shapes.chunk(self.id, self.created, self.req.model, usage=usage))
            assert self.resp is not None
            await self.resp.write(b"data: [DONE]\n\n")
            await self.resp.write_eof()
            return True
        return False

    async def _open(self) -> None:
        """Start the response (once): SSE headers and the chunk with the role."""
        if self.resp is not None:
            return
        resp = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
                **self.headers,
            },
        )
        await resp.prepare(self.request)
        self.resp = resp
        first = {"role": "assistant", "content": ""}
        await self._send(shapes.chunk(self.id, self.created, self.req.model, first))

    async def _text(self, text: str, note: bool = False) -> None:
        """Send ``text`` as content; a note, or the model's first text after a tool
        round, starts on a new paragraph."""
        await self._open()
        if (note or self.after_tools) and self.tail and not self.tail.endswith("\n"):
            text = "\n\n" + text
        if not note:
            self.after_tools = False
            self.round_text += text
        if text:
            self.tail = text
        delta = {"content": text}
        await self._send(shapes.chunk(self.id, self.created, self.req.model, delta))

    async def _send(self, obj: dict[str, Any]) -> None:
        assert self.resp is not None
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        await self.resp.write(b"data: " + data.encode() + b"\n\n")


def _with_headers(err: ApiError, headers: dict[str, str]) -> ApiError:
    err.headers.update(headers)
    return err
