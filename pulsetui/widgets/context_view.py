"""How the console's chat shows ``/context``: a bar per prompt part."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from pulse.v1 import chat_pb2

BAR = 24


def context_table(ctx: chat_pb2.ContextResponse) -> Table:
    """Parts with tokens, dollars and a share bar, then the window line as the caption."""
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("part")
    table.add_column("tokens", justify="right")
    table.add_column("usd", justify="right")
    table.add_column("share")
    total = max(ctx.total_tokens, 1)
    for p in ctx.parts:
        filled = round(BAR * p.tokens / total)
        table.add_row(
            p.name,
            str(p.tokens),
            f"${p.usd:.4f}",
            Text("█" * filled, style="cyan") + Text("·" * (BAR - filled), style="dim"),
        )
    used = ctx.total_tokens / ctx.window_tokens if ctx.window_tokens else 0.0
    table.caption = (
        f"{ctx.provider}:{ctx.model} — {ctx.total_tokens} of {ctx.window_tokens} tokens "
        f"({used:.0%}); compaction at {ctx.compact_at_tokens}; ${ctx.total_usd:.4f} per turn"
    )
    return table
