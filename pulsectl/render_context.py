"""How ``pulsectl context`` and ``/context`` in the chat prompt show Chat.Context."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulsectl import output

if TYPE_CHECKING:
    from pulse.v1 import chat_pb2


def render_context(ctx: chat_pb2.ContextResponse, width: int) -> str:
    """The parts of the next prompt: one line each with tokens, dollars and a bar of its
    share, then the total against the window and where compaction starts."""
    total = max(ctx.total_tokens, 1)
    bar_width = max(10, min(30, width - 60))
    rows = []
    for p in ctx.parts:
        filled = round(bar_width * p.tokens / total)
        rows.append(
            [
                p.name,
                p.kind,
                output.tokens(p.tokens),
                output.money(p.usd),
                "█" * filled + "·" * (bar_width - filled),
            ]
        )
    head = output.table(["part", "kind", "tokens", "usd", "share"], rows, width=width, right=(2, 3))
    price = "" if ctx.price_known else " (not in the pricing table: priced at the dearest rates)"
    estimate = (
        f"{ctx.chars_per_token:.2f} chars/token, calibrated by the session's last call"
        if ctx.calibrated
        else f"{ctx.chars_per_token:.2f} chars/token (estimate; no call in this session yet)"
    )
    used = ctx.total_tokens / ctx.window_tokens if ctx.window_tokens else 0.0
    summary = output.key_values(
        [
            ("session", ctx.session_id),
            ("model", f"{ctx.provider}:{ctx.model}{price}"),
            (
                "total",
                f"{output.tokens(ctx.total_tokens)} tokens, {output.money(ctx.total_usd)} "
                f"per turn as uncached input",
            ),
            (
                "window",
                f"{output.tokens(ctx.window_tokens)} tokens ({used:.0%} used; compaction at "
                f"{output.tokens(ctx.compact_at_tokens)}) — {ctx.window_source}",
            ),
            ("estimate", estimate),
        ]
    )
    return head + "\n\n" + summary
