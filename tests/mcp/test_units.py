"""The pure parts of the MCP client: names, filters, results, collisions, the registry's
dynamic tools."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import mcp_types as types

from pulsed.config.extensions import McpServerConfig
from pulsed.mcp.manager import _plan
from pulsed.mcp.names import full_name, offered
from pulsed.mcp.results import cap, to_output
from pulsed.tools.base import Tool, ToolContext, ToolOutput, ToolRegistry


def test_full_names_are_sanitised_and_capped() -> None:
    assert full_name("time", "get_current_time") == "time__get_current_time"
    assert full_name("gh", "repos.list-all") == "gh__repos_list-all"
    assert full_name("fs", "read file/ü") == "fs__read_file__"
    long = full_name("server", "t" * 100)
    assert len(long) == 64 and long.startswith("server__ttt")


def test_include_then_exclude_globs() -> None:
    assert offered("read_file", ["*"], [])
    assert offered("read_file", ["read_*", "list"], ["*_dir"])
    assert not offered("list_dir", ["read_*"], [])
    assert not offered("read_secret", ["read_*"], ["*secret*"])
    assert not offered("Read_file", ["read_*"], [])  # case-sensitive


def _tool(name: str) -> types.Tool:
    return types.Tool(name=name, input_schema={"type": "object", "properties": {}})


def test_collisions_are_refused_and_filtered_tools_left_out() -> None:
    cfg = McpServerConfig(command="x", exclude=["hidden"])
    taken = {"read_file", "s__taken"}
    plan = _plan("s", cfg, [_tool("b.c"), _tool("b_c"), _tool("hidden"), _tool("taken")], taken)
    by_tool = {t.name: (name, why) for t, name, why in plan}
    # In name order: "b.c" is first and gets s__b_c; "b_c" would be the same name.
    assert by_tool["b.c"] == ("s__b_c", "")
    assert by_tool["b_c"][1].startswith("refused: the name s__b_c is already taken")
    assert by_tool["hidden"][1] == "filtered by include/exclude"
    assert by_tool["taken"][1].startswith("refused")
    assert "s__b_c" in taken


def _result(content: list[Any], structured: Any = None, error: bool = False) -> Any:
    return types.CallToolResult(content=content, structured_content=structured, is_error=error)


def test_results_as_text() -> None:
    text = types.TextContent(type="text", text="hello")
    assert to_output(_result([text]), 1000) == ToolOutput("hello")
    out = to_output(_result([], {"b": 1, "a": [2]}), 1000)
    assert json.loads(out.text) == {"a": [2], "b": 1}
    # Text that says the same as the structured content is not repeated.
    assert to_output(_result([text], {"result": "hello"}), 1000).text == "hello"
    png = base64.b64encode(b"x" * 300).decode()
    image = types.ImageContent(type="image", data=png, mime_type="image/png")
    assert to_output(_result([image]), 1000).text == "[image image/png, 300 bytes]"
    audio = types.AudioContent(type="audio", data=png, mime_type="audio/wav")
    assert "[audio audio/wav, 300 bytes]" in to_output(_result([audio, text]), 1000).text
    res = types.EmbeddedResource(
        type="resource",
        resource=types.TextResourceContents(
            uri="file:///a.txt", text="abc", mime_type="text/plain"
        ),
    )
    assert to_output(_result([res]), 1000).text == "[resource file:///a.txt (text/plain, 3 bytes)]"
    err = to_output(_result([types.TextContent(type="text", text="bad")], error=True), 1000)
    assert err.is_error and err.text == "bad"
    assert to_output(_result([]), 1000).text == "(no content)"


def test_results_are_capped() -> None:
    big = types.TextContent(type="text", text="é" * 1000)
    out = to_output(_result([big]), 300)
    assert len(out.text.split("\n[cut")[0].encode()) <= 300
    assert out.text.endswith("more bytes]")
    assert cap("short", 300) == "short"


class _Static(Tool):
    def __init__(self, name: str, policy: str = "allow") -> None:
        self.name = name
        self.description = name
        self.default_policy = policy

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        return ToolOutput(self.name)


class _Source:
    def __init__(self) -> None:
        self.tools: list[Tool] = []

    def current_tools(self) -> Sequence[Tool]:
        return self.tools


def test_registry_sees_the_current_dynamic_tools_sorted() -> None:
    reg = ToolRegistry([_Static("read_file"), _Static("current_time")], {"m__b": "deny"})
    source = _Source()
    reg.add_source(source)
    assert [s.name for s in reg.specs()] == ["current_time", "read_file"]
    source.tools = [_Static("m__c", "ask"), _Static("m__a"), _Static("m__b"), _Static("read_file")]
    assert [s.name for s in reg.specs()] == ["current_time", "m__a", "m__c", "read_file"]
    assert reg.policy("m__c") == "ask" and reg.policy("m__b") == "deny"
    assert reg.get("read_file") is not source.tools[-1]  # a built-in is never replaced
    assert reg.names() == {"read_file", "current_time"}
    source.tools = []
    assert reg.get("m__a") is None and reg.policy("m__a") == "deny"
