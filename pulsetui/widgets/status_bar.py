"""StatusBar: connection state, store backend, provider/model, chat channels, the HTTP
API listener (its address, or why it is down), MCP servers that are down, and today's spend.

Every view shows one; each follows the app's ``connection`` reactive.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulse.v1 import system_pb2
from textual.content import Content
from textual.widgets import Static

from pulsetui.format import money


@dataclass(frozen=True)
class Connection:
    """What the console knows of the daemon.

    ``state`` is connecting | connected | disconnected; ``detail`` says more (why the
    connection was lost, when the next try is); ``status`` is the last System.Status.
    """

    state: str = "connecting"
    detail: str = ""
    status: system_pb2.StatusResponse | None = None
    reconnected: bool = False
    """True after the connection came back, until the next loss."""


class StatusBar(Static):
    """One line at the bottom of every view."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    session_model = ""
    """The shown session's own model ([PROVIDER:]MODEL), set by the Chat view; '' shows
    the daemon's."""

    def on_mount(self) -> None:
        self.watch(self.app, "connection", self.show, init=True)

    def show(self, conn: Connection) -> None:
        """Render ``conn``."""
        self.update(render(conn, self.session_model))

    def show_session_model(self, model: str) -> None:
        """Show ``model`` as the model in use ('' for the daemon's default)."""
        if model != self.session_model:
            self.session_model = model
            self.show(self.app.connection)  # type: ignore[attr-defined]


def render(conn: Connection, session_model: str = "") -> Content:
    """The status line for ``conn`` (kept under 80 cells for the usual values)."""
    parts: list[str | tuple[str, str]] = []
    if conn.state == "connected":
        label = "● reconnected" if conn.reconnected else "● connected"
        parts.append((label, "bold $text-success"))
    elif conn.state == "disconnected":
        parts.append(("○ disconnected", "bold $text-error"))
    else:
        parts.append(("◌ connecting", "bold $text-warning"))
    if conn.detail:
        parts.append((f" {conn.detail}", "$text-error" if conn.state == "disconnected" else ""))
    s = conn.status
    if s is not None and conn.state == "connected":
        sep = (" │ ", "$text-muted")
        parts += [sep, s.store_backend or "?"]
        if s.store_health and s.store_health != "ok":
            parts.append((" (unhealthy)", "bold $text-error"))
        parts.append(sep)
        if session_model:
            parts.append((session_model.replace(":", "/", 1) + " (session)", "$accent"))
        elif s.provider_problem:
            parts.append(("⚠ no LLM provider", "bold $text-warning"))
        else:
            parts.append(f"{s.provider}/{s.model}")
        for c in s.channels:
            ok = c.state == "connected" and not c.failed_deliveries
            mark = "●" if c.state == "connected" else "○"
            parts += [sep, (f"{mark} {c.name}", "$text-success" if ok else "bold $text-warning")]
            if c.failed_deliveries:
                parts.append((f" {c.failed_deliveries}✖", "bold $text-error"))
        for x in s.listeners:
            if x.state == "serving":
                where = x.address.partition("://")[2] or x.address
                parts += [sep, (f"● api {where}", "$text-success")]
            elif x.state in ("off", "error"):
                parts += [sep, (f"○ api: {x.reason or x.state}", "bold $text-warning")]
        down = [m.name for m in s.mcp_servers if m.state == "failed"]
        if down:
            parts += [sep, (f"⚠ mcp {', '.join(down)} down", "bold $text-warning")]
        parts.append(sep)
        spend = f"{money(s.spent_today_usd)} today"
        if s.budget_daily_usd > 0:
            spend += f" of {money(s.budget_daily_usd)}"
            over = s.spent_today_usd >= s.budget_daily_usd
            parts.append((spend, "bold $text-error" if over else ""))
        else:
            parts.append(spend)
    return Content.assemble(*parts)
