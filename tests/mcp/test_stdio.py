"""MCP servers over stdio through the real daemon: a test server built with the SDK's
MCPServer (servers/basic.py) called in chat turns, its tools refreshed, crashed,
timed out, filtered and kept from the daemon's keys; and servers that never start."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.util import rows, send, wait_for
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon, fake_llm_config, running
from tests.mcp.util import basic_stdio, server_toml, servers, tool_results, wait_state

SECRET = "sk-daemon-secret-123"


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="module")
def daemon(llm: FakeLLM) -> Iterator[Daemon]:
    """One daemon with: basic (stdio; picture and spawn_child excluded, 2 s timeout, one
    env key), ghost (a command that does not exist), mute (never answers), off
    (disabled), and a [tools.policy] rule for one MCP tool."""
    extra = (
        basic_stdio(
            "basic",
            exclude=["picture"],
            timeout_s=2,
            env={"GREETING": "${MCP_TEST_GREETING}"},
        )
        + server_toml("ghost", command="/nonexistent/mcp-server-ghost")
        + server_toml(
            "mute",
            command=sys.executable,
            args=["-c", "import time; time.sleep(600)"],
            connect_timeout_s=1,
        )
        + basic_stdio("off", enabled=False)
    )
    text = fake_llm_config(llm.url, extra=extra)
    d = Daemon(text, env={"FAKE_PROVIDER_API_KEY": SECRET, "MCP_TEST_GREETING": "hello"})
    d.write_config(
        text + f'\n[tools]\nworkspace = "{d.workspace}"\n[tools.policy]\nbasic__fail = "deny"\n'
    )
    with running(d):
        yield d


@pytest.fixture(autouse=True)
def _fresh(llm: FakeLLM) -> None:
    llm.reset()


def tool_messages(llm: FakeLLM) -> list[str]:
    """The tool results the last LLM request carried back (OpenAI wire format)."""
    return [m["content"] for m in llm.requests[-1].body["messages"] if m["role"] == "tool"]


def sent_tools(llm: FakeLLM, i: int = 0) -> list[str]:
    return [t["function"]["name"] for t in llm.requests[i].body.get("tools", [])]


def test_tool_call_through_a_turn(daemon: Daemon, llm: FakeLLM) -> None:
    info = wait_state(daemon, "basic")
    assert info.transport == "stdio" and info.server_name == "basic"
    llm.script(
        Reply(tool_calls=[("basic__add", {"a": 2, "b": 3})]),
        Reply(text="It is 5."),
    )
    events = send(daemon, "what is 2 + 3?")
    assert events[-1].final.text == "It is 5."
    [result] = tool_results(events)
    assert result.name == "basic__add" and result.status == "ok"
    assert json.loads(tool_messages(llm)[0]) == {"sum": 5}
    # The tools a turn sends are sorted (prompt caches) and hold the MCP ones, minus
    # the excluded picture and the denied basic__fail.
    names = sent_tools(llm)
    assert names == sorted(names)
    assert {"basic__add", "basic__echo", "basic__slow", "read_file"} <= set(names)
    assert "basic__picture" not in names and "basic__fail" not in names
    add = next(t for t in llm.requests[0].body["tools"] if t["function"]["name"] == "basic__add")
    assert add["function"]["description"] == "Add two integers."
    assert add["function"]["parameters"]["required"] == ["a", "b"]
    tlogs = rows(daemon, "tool_logs", session_id=events[0].session_id)
    assert [t["tool"] for t in tlogs] == ["basic__add"] and tlogs[0]["status"] == "ok"


def test_server_sees_only_path_home_and_its_env(daemon: Daemon, llm: FakeLLM) -> None:
    wait_state(daemon, "basic")
    llm.script(Reply(tool_calls=[("basic__env_keys", {})]), Reply(text="ok"))
    send(daemon, "env?")
    keys = set(tool_messages(llm)[0].split("\n\n"))  # one text part per name
    assert {"PATH", "HOME", "GREETING"} <= keys
    assert not any(k.endswith("_API_KEY") or k.startswith("PULSE_") for k in keys), keys
    # What the SDK adds besides PATH and HOME (its safe list), and what Python sets itself.
    assert keys <= {"PATH", "HOME", "GREETING", "LOGNAME", "SHELL", "TERM", "USER", "LC_CTYPE"}
    llm.script(Reply(tool_calls=[("basic__echo", {"text": SECRET[:3]})]), Reply(text="ok"))
    send(daemon, "echo")
    assert SECRET not in (daemon.data_dir / "mcp" / "basic.log").read_text()


def test_slow_tool_hits_its_timeout(daemon: Daemon, llm: FakeLLM) -> None:
    wait_state(daemon, "basic")
    llm.script(Reply(tool_calls=[("basic__slow", {"seconds": 30})]), Reply(text="too slow"))
    began = time.monotonic()
    events = send(daemon, "be slow")
    assert time.monotonic() - began < 20
    [result] = tool_results(events)
    assert result.status == "timeout"
    assert "within 2 s (timeout_s)" in tool_messages(llm)[0]
    # The session survives a cancelled call.
    llm.script(Reply(tool_calls=[("basic__echo", {"text": "still here"})]), Reply(text="ok"))
    events = send(daemon, "echo")
    assert tool_results(events)[0].status == "ok" and tool_messages(llm) == ["still here"]


def test_error_results_and_denied_tools(daemon: Daemon, llm: FakeLLM) -> None:
    wait_state(daemon, "basic")
    llm.script(
        Reply(tool_calls=[("basic__fail", {"why": "nope"}), ("basic__picture", {})]),
        Reply(text="ok"),
    )
    events = send(daemon, "fail")
    statuses = {r.name: r.status for r in tool_results(events)}
    # basic__fail is denied by [tools.policy]; picture is excluded, so unknown.
    assert statuses["basic__fail"] == "denied"
    assert statuses["basic__picture"] in ("error", "denied")


def test_list_changed_refreshes_the_tools(daemon: Daemon, llm: FakeLLM) -> None:
    wait_state(daemon, "basic")
    llm.script(Reply(tool_calls=[("basic__grow", {"name": "sprout"})]), Reply(text="grown"))
    send(daemon, "grow")
    wait_for(lambda: "basic__sprout" in servers(daemon)["basic"].tools, 15, "the new tool")
    llm.script(Reply(tool_calls=[("basic__sprout", {})]), Reply(text="ok"))
    events = send(daemon, "use it")
    assert "basic__sprout" in sent_tools(llm, -2)
    assert tool_results(events)[0].status == "ok" and tool_messages(llm) == ["I am sprout"]


def test_server_crash_is_reconnected(daemon: Daemon, llm: FakeLLM) -> None:
    before = wait_state(daemon, "basic").restarts
    llm.script(Reply(tool_calls=[("basic__crash", {})]), Reply(text="it crashed"))
    events = send(daemon, "crash it")
    [result] = tool_results(events)
    assert result.status == "error"
    assert "lost the connection" in tool_messages(llm)[0]
    info = wait_state(daemon, "basic", restarts=before + 1)
    assert "basic__echo" in info.tools
    llm.script(Reply(tool_calls=[("basic__echo", {"text": "back"})]), Reply(text="ok"))
    events = send(daemon, "again")
    assert tool_results(events)[0].status == "ok" and tool_messages(llm) == ["back"]
    kinds = [e["event_type"] for e in rows(daemon, "events", source="mcp")]
    assert "mcp_server_failed" in kinds and kinds.count("mcp_server_ready") >= 2


def test_broken_servers_are_reported_and_chat_is_unaffected(daemon: Daemon, llm: FakeLLM) -> None:
    ghost = wait_state(daemon, "ghost", "failed")
    assert "command not found: /nonexistent/mcp-server-ghost" in ghost.last_error
    mute = wait_state(daemon, "mute", "failed")
    assert "connect_timeout_s" in mute.last_error
    assert servers(daemon)["off"].state == "disabled"
    llm.script(Reply(text="fine"))
    assert send(daemon, "hi")[-1].final.text == "fine"

    out = daemon.pulsectl("mcp", "list", "--json")
    assert out.returncode == 0, out.stderr
    listed = {s["name"]: s for s in json.loads(out.stdout)}
    assert listed["ghost"]["state"] == "failed" and listed["ghost"]["last_error"]
    assert listed["basic"]["state"] == "ready" and listed["basic"]["transport"] == "stdio"
    assert "basic__add" in listed["basic"]["tools"] and listed["off"]["state"] == "disabled"
    text = daemon.pulsectl("mcp", "list")
    assert text.returncode == 0 and "ghost" in text.stdout and "failed" in text.stdout

    status = daemon.pulsectl("status", "--json")
    mcp = {m["name"]: m for m in json.loads(status.stdout)["mcp_servers"]}
    assert mcp["ghost"]["state"] == "failed" and "off" not in mcp
    human = daemon.pulsectl("status")
    assert "mcp" in human.stdout and "MCP server ghost is down" in human.stderr + human.stdout


def test_probe(daemon: Daemon) -> None:
    out = daemon.pulsectl("mcp", "probe", "basic", "--json")
    assert out.returncode == 0, out.stderr
    probe = json.loads(out.stdout)
    assert probe["ok"] and probe["protocol_version"]
    assert set(probe["timings_ms"]) == {"spawn", "initialize", "list_tools"}
    tools = {t["tool"]: t for t in probe["tools"]}
    assert tools["add"]["offered"] and tools["add"]["name"] == "basic__add"
    assert not tools["picture"].get("offered") and "filtered" in tools["picture"]["why"]

    failed = daemon.pulsectl("mcp", "probe", "ghost")
    assert failed.returncode == 1 and "command not found" in failed.stdout
    unknown = daemon.pulsectl("mcp", "probe", "nosuch")
    assert unknown.returncode == 1 and "no MCP server named 'nosuch'" in unknown.stderr


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_no_server_process_outlives_the_daemon(
    daemon: Daemon, llm: FakeLLM, tmp_path: Path
) -> None:
    """The server's child (same process group) dies with it when the daemon stops (the
    last test of the module: it stops the module's daemon)."""
    pid_file = tmp_path / "child.pid"
    wait_state(daemon, "basic")
    llm.script(
        Reply(tool_calls=[("basic__spawn_child", {"pid_file": str(pid_file)})]),
        Reply(text="spawned"),
    )
    send(daemon, "spawn")
    child = int(pid_file.read_text())
    assert _alive(child)
    assert daemon.stop() == 0
    wait_for(lambda: not _alive(child), 10, "the server's child to be gone")
