"""Import boundaries: clients never import the daemon; headless parts never import
textual; the daemon and its clients start without loading provider SDKs."""

from __future__ import annotations

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
