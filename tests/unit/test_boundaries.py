"""Import boundaries: clients never import the daemon; headless parts never import
textual; the daemon and its clients start without loading provider SDKs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from tests.harness import ROOT


def modules_after_import(module: str) -> set[str]:
    code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(json.loads(out.stdout))


def top(mods: set[str]) -> set[str]:
    return {m.split(".")[0] for m in mods}


@pytest.mark.parametrize("module", ["pulsectl.cli", "pulsectl.client"])
def test_clients_never_import_the_daemon(module: str) -> None:
    mods = top(modules_after_import(module))
    assert "pulsed" not in mods
    assert "textual" not in mods
    assert not {"anthropic", "openai"} & mods


CLIENT_DEPENDENCIES = {
    "grpc",  # with the namespaces it probes at import: grpc_health, grpc_reflection, grpc_tools
    "grpc_health",
    "grpc_reflection",
    "grpc_tools",
    "google",  # protobuf
    "pulse",  # the generated stubs and pulse.paths
    "platformdirs",
    "typing_extensions",
    "pulsectl",
}
"""Everything outside the standard library the client library may load."""


def third_party(mods: set[str]) -> set[str]:
    ignored = ("_", "cython_runtime")
    return {m for m in top(mods) - set(sys.stdlib_module_names) if not m.startswith(ignored)}


@pytest.mark.parametrize("module", ["pulsectl.cli", "pulsectl.client.core", "pulsectl.client.sync"])
def test_pulsectl_loads_only_grpc_the_stubs_and_the_client_library(module: str) -> None:
    mods = modules_after_import(module)
    assert third_party(mods) <= CLIENT_DEPENDENCIES, third_party(mods) - CLIENT_DEPENDENCIES


@pytest.mark.parametrize("module", ["pulsectl.client.core", "pulsectl.client.sync"])
def test_the_client_library_stands_alone(module: str) -> None:
    """It uses no other part of pulsectl, so pulsetui can import it alone."""
    mods = modules_after_import(module)
    outside = {m for m in mods if m.startswith("pulsectl.") and not m.startswith("pulsectl.client")}
    assert not outside


@pytest.mark.parametrize(
    "module", ["pulsectl.client", "pulsectl.client.filters", "pulsectl.client.errors"]
)
def test_the_client_package_and_its_pure_modules_load_no_grpc(module: str) -> None:
    assert "grpc" not in top(modules_after_import(module))


@pytest.mark.parametrize("module", ["pulsed.cli", "pulsed.server"])
def test_daemon_imports_no_textual_and_no_sdk_at_start(module: str) -> None:
    mods = top(modules_after_import(module))
    assert "textual" not in mods
    assert not {"anthropic", "openai"} & mods, "provider SDKs must be imported lazily"


def test_console_never_imports_the_daemon_or_sdks() -> None:
    mods = top(modules_after_import("pulsetui.app"))
    assert "textual" in mods  # the check itself sees what the console loads
    assert "pulsed" not in mods
    assert not {"anthropic", "openai"} & mods


def test_console_uses_only_the_client_library_of_pulsectl() -> None:
    """pulsetui imports ``pulsectl.client`` and nothing else of pulsectl, at load time
    and anywhere in its source (lazy imports included)."""
    loaded = {m for m in modules_after_import("pulsetui.app") if m.startswith("pulsectl.")}
    assert all(m.startswith("pulsectl.client") for m in loaded), loaded
    imported: set[str] = set()
    for path in (ROOT / "pulsetui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    of_pulsectl = {m for m in imported if m.split(".")[0] == "pulsectl"}
    assert of_pulsectl and all(
        m == "pulsectl.client" or m.startswith("pulsectl.client.") for m in of_pulsectl
    ), of_pulsectl
