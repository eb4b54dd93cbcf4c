"""A server no one here wrote: the reference ``mcp-server-time`` (installed in the test
venv by the dev extra), over stdio through the real daemon and a chat turn."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.daemon.util import send
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon, fake_llm_config
from tests.mcp.util import server_toml, tool_results, wait_state

TIME_SERVER = shutil.which("mcp-server-time", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(TIME_SERVER is None, reason="mcp-server-time is not installed (dev extra)")
def test_reference_time_server_through_a_turn(fake_llm: FakeLLM) -> None:
    extra = server_toml("time", command=TIME_SERVER, args=["--local-timezone", "UTC"])
    d = Daemon(fake_llm_config(fake_llm.url, extra=extra))
    try:
        d.start()
        info = wait_state(d, "time")
        assert {"time__convert_time", "time__get_current_time"} <= set(info.tools)
        fake_llm.script(
            Reply(tool_calls=[("time__get_current_time", {"timezone": "Europe/Paris"})]),
            Reply(text="It is evening in Paris."),
        )
        events = send(d, "what time is it in Paris?")
        [result] = tool_results(events)
        assert result.name == "time__get_current_time" and result.status == "ok"
        sent = [m for m in fake_llm.requests[-1].body["messages"] if m["role"] == "tool"]
        answer = json.loads(sent[0]["content"])
        assert answer["timezone"] == "Europe/Paris" and "datetime" in answer
        tools = {t["function"]["name"]: t for t in fake_llm.requests[0].body["tools"]}
        schema = tools["time__get_current_time"]["function"]["parameters"]
        assert "timezone" in schema["properties"]
    finally:
        try:
            d.stop()
        finally:
            d.cleanup()
