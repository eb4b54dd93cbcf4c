"""``/context``: what the next turn's prompt of a session is made of, in tokens and USD.

The prompt is built exactly as a turn would build it (``ContextBuilder``), then split
into parts: the system prompt's own text, each tool's schema (MCP tools grouped per
server, by their ``<server>__`` prefix), each stable prompt part (identity files, the
skills index), each volatile part (recalled memories), the history, and the new message.
Tokens are estimated from characters at the session's calibrated rate (what the provider
reported for the session's previous call), else ``windows.CHARS_PER_TOKEN``; dollars are
those tokens as uncached input at the session model's price.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pulsed.agent.context import ContextBuilder
from pulsed.agent.loop import AgentDeps
from pulsed.agent.prompts import render_part
from pulsed.providers import pricing, windows
from pulsed.store.base import Row
from pulsed.tools.base import ToolContext


@dataclass(frozen=True, slots=True)
class ContextPart:
    """One part of the prompt: ``kind`` system | tools | mcp | stable | volatile |
    history | message, a ``name``, its estimated tokens and USD."""

    kind: str
    name: str
    tokens: int
    usd: float
    detail: str = ""


@dataclass(slots=True)
class ContextReport:
    """The whole breakdown, with the model's window and where compaction starts."""

    session_id: str
    provider: str
    model: str
    price_known: bool
    window_tokens: int
    window_source: str
    compact_at_tokens: int
    chars_per_token: float
    calibrated: bool
    parts: list[ContextPart] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        return sum(p.tokens for p in self.parts)

    @property
    def total_usd(self) -> float:
        return sum(p.usd for p in self.parts)


async def context_report(
    deps: AgentDeps, session_id: str, model_spec: str = "", text: str = "", source: str = "cli"
) -> ContextReport:
    """The breakdown of the prompt the next turn of ``session_id`` would send with the
    new message ``text`` (may be empty), on ``model_spec`` (``[PROVIDER:]MODEL``; '' =
    the configured chain's first)."""
    provider, model = deps.providers.chain(model_spec)[0]
    cpt = deps.calibration.get(session_id, 0.0)
    calibrated = cpt > 0
    cpt = cpt if calibrated else windows.CHARS_PER_TOKEN
    price = pricing.price_for(provider, model)
    window = windows.window_for(model, deps.cfg.agent.context_window)
    report = ContextReport(
        session_id=session_id,
        provider=provider,
        model=model,
        price_known=pricing.is_known(provider, model),
        window_tokens=window.tokens,
        window_source=window.source,
        compact_at_tokens=int(window.tokens * deps.cfg.agent.compact_at),
        chars_per_token=cpt,
        calibrated=calibrated,
    )

    def add(kind: str, name: str, chars: int, detail: str = "") -> None:
        tokens = windows.estimate_tokens(chars, cpt)
        report.parts.append(ContextPart(kind, name, tokens, tokens * price.input / 1e6, detail))

    specs = deps.tools.specs()
    row = Row(
        "messages",
        2**62,
        {"session_id": session_id, "source": source, "content": {"text": text}},
    )
    tctx = ToolContext(turn_id="", session_id=session_id, source=source, interactive=True)
    prompt = await ContextBuilder(deps.cfg, deps.store, deps.prompt_sources).build(row, tctx, specs)
    stable = [p for p in prompt.parts if p.stable]
    add("system", "system prompt", len(prompt.system) - sum(len(render_part(p)) for p in stable))
    servers: dict[str, int] = {}
    for spec in specs:
        chars = len(spec.name) + len(spec.description) + len(json.dumps(spec.parameters))
        server, sep, _ = spec.name.partition("__")
        if sep:
            servers[server] = servers.get(server, 0) + chars
        else:
            add("tools", spec.name, chars)
    for server, chars in sorted(servers.items()):
        add("mcp", server, chars, "MCP server's tool schemas")
    for p in prompt.parts:
        add("stable" if p.stable else "volatile", p.name, len(render_part(p)))
    history = prompt.messages[: prompt.history_messages]
    add(
        "history",
        f"history ({len(history)} messages)",
        sum(len(m.text) for m in history),
    )
    new = prompt.messages[-1].text if prompt.messages else text
    volatile = sum(len(render_part(p)) for p in prompt.parts if not p.stable)
    add("message", "new message and its context block", max(0, len(new) - volatile))
    return report
