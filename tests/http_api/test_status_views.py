"""How the clients show the HTTP API listener: ``pulsectl status`` lines and warnings,
and the console's status bar."""

from __future__ import annotations

from pulse.v1 import system_pb2

from pulsectl import output
from pulsetui.widgets.status_bar import Connection, render


def status(**listener: str) -> system_pb2.StatusResponse:
    st = system_pb2.StatusResponse(store_backend="local", provider="anthropic", model="m")
    st.listeners.add(name="http_api", **listener)
    return st


def test_pulsectl_status_shows_the_address_or_why_not() -> None:
    serving = status(state="serving", address="http://127.0.0.1:8788")
    assert "http api  http://127.0.0.1:8788/v1" in output.render_status(serving)
    assert output.status_warnings(serving) == []
    off = status(state="off", reason="no token", detail="no token: set token in [api.http]")
    assert "http api  off: no token: set token in [api.http]" in output.render_status(off)
    assert output.status_warnings(off) == [
        "http api not serving: no token: set token in [api.http]"
    ]
    disabled = status(state="disabled", detail="enable it in [api.http]")
    assert "http api  disabled: enable it in [api.http]" in output.render_status(disabled)
    assert output.status_warnings(disabled) == []


def test_the_status_bar_shows_the_address_or_the_reason() -> None:
    serving = render(
        Connection("connected", "", status(state="serving", address="http://127.0.0.1:8788"))
    )
    assert "│ ● api 127.0.0.1:8788 │" in serving.plain
    off = render(Connection("connected", "", status(state="off", reason="no token")))
    assert "│ ○ api: no token │" in off.plain
    disabled = render(Connection("connected", "", status(state="disabled")))
    assert "api" not in disabled.plain
