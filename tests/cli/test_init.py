"""``pulsectl init``: the config it writes loads in the real daemon; files are kept."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pulsectl.commands.init import Answers, render_config
from tests.daemon.util import send
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import ROOT, Daemon


def init(d: Daemon, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """``pulsectl init ARGS`` with the daemon's environment (PULSE_CONFIG its config path)."""
    return subprocess.run(
        [sys.executable, "-m", "pulsectl", "init", *args],
        env=d.env,
        input=input,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )


def test_generated_config_runs_the_daemon(fake_llm: FakeLLM) -> None:
    d = Daemon("", env={"FAKE_LLM_KEY": "test-key"})
    try:
        d.config_path.unlink()
        out = init(
            d,
            "--non-interactive",
            "--provider=openai-compatible",
            f"--base-url={fake_llm.url}",
            "--model=fake-model",
            "--key-env=FAKE_LLM_KEY",
            f"--workspace={d.workspace}",
            "--json",
        )
        assert out.returncode == 0, out.stderr
        info = json.loads(out.stdout)
        assert info["config"] == str(d.config_path)
        assert (d.config_path.stat().st_mode & 0o777) == 0o600
        text = d.config_path.read_text()
        assert "${FAKE_LLM_KEY}" in text and "test-key" not in text
        for name in ("SOUL.md", "USER.md"):
            assert (d.root / name).read_text().startswith("#")
        d.write_config(text)
        d.start()
        status = json.loads(d.pulsectl("status", "--json").stdout)
        assert status.get("provider_problem", "") == ""
        fake_llm.script(Reply(text="hello from init"))
        events = send(d, "hi")
        assert events[-1].WhichOneof("event") == "final", events[-1]
        assert fake_llm.requests[-1].headers["authorization"] == "Bearer test-key"
    finally:
        d.stop()
        d.cleanup()


def test_refuses_to_overwrite_without_force_and_keeps_templates() -> None:
    d = Daemon("")
    try:
        d.config_path.write_text("# mine\n")
        (d.root / "SOUL.md").write_text("my soul\n")
        flags = ("--non-interactive", "--provider=anthropic")
        refused = init(d, *flags)
        assert refused.returncode == 1 and "--force" in refused.stderr
        assert d.config_path.read_text() == "# mine\n"
        done = init(d, *flags, "--force", "--json")
        assert done.returncode == 0, done.stderr
        info = json.loads(done.stdout)
        assert info["kept"] == [str(d.root / "SOUL.md")]
        assert (d.root / "SOUL.md").read_text() == "my soul\n"
        raw = tomllib.loads(d.config_path.read_text())
        assert raw["providers"]["anthropic"]["api_key"] == "${ANTHROPIC_API_KEY}"
        assert "ANTHROPIC_API_KEY is not set" in done.stderr
    finally:
        d.cleanup()


def test_non_interactive_names_what_is_missing() -> None:
    d = Daemon("")
    try:
        d.config_path.unlink()
        out = init(d, "--non-interactive")
        assert out.returncode == 2 and "--provider" in out.stderr
        out = init(d, "--non-interactive", "--provider=openai-compatible", "--model=m")
        assert out.returncode == 2 and "--base-url" in out.stderr
        out = init(d, "--non-interactive", "--provider=openai", "--key-env=not a name")
        assert out.returncode == 2 and "environment variable name" in out.stderr
        assert not d.config_path.exists()
    finally:
        d.cleanup()


def test_dialog_with_a_typed_key_warns_and_telegram_is_checked_by_doctor() -> None:
    d = Daemon("")
    try:
        d.config_path.unlink()
        answers = "\n".join(["openrouter", "", "sk-or-typed-key", str(d.workspace), "TG_TOKEN"])
        out = init(d, input=answers + "\n")
        assert out.returncode == 0, out.stderr
        assert "the key itself goes into config.toml" in out.stderr
        raw = tomllib.loads(d.config_path.read_text())
        assert raw["agent"]["provider"] == "openrouter"
        assert raw["providers"]["openrouter"]["api_key"] == "sk-or-typed-key"
        assert raw["channels"]["telegram"] == {"enabled": True, "token": "${TG_TOKEN}"}
        doc = json.loads(d.pulsectl("doctor", "--json").stdout)
        by_name = {r["check"]: r for r in doc}
        assert by_name["config"]["status"] == "ok"
        assert by_name["provider key"]["status"] == "ok"
        assert by_name["channel tokens"]["status"] == "fail"
        assert "TG_TOKEN" in by_name["channel tokens"]["detail"]
    finally:
        d.cleanup()


@pytest.mark.parametrize(
    "answers",
    [
        Answers(provider="anthropic", key_env="ANTHROPIC_API_KEY"),
        Answers(provider="openai", model="gpt-4o", key_env="MY_OPENAI"),
        Answers(provider="openrouter", key="sk-or-typed"),
        Answers(provider="ollama", model="llama3.2"),
        Answers(provider="openai-compatible", base_url="http://127.0.0.1:8000/v1", model="m"),
        Answers(provider="anthropic", key_env="K", telegram_token_env="TG"),
    ],
    ids=["anthropic", "openai", "openrouter", "ollama", "compatible", "telegram"],
)
def test_every_provider_config_loads_in_the_daemon(tmp_path: Path, answers: Answers) -> None:
    from pulsed.config import load
    from pulsed.providers.registry import provider_problem

    answers.workspace = str(tmp_path / "ws")
    path = tmp_path / "config.toml"
    path.write_text(render_config(answers))
    env = {"ANTHROPIC_API_KEY": "a", "MY_OPENAI": "o", "K": "k", "TG": "1:t"}
    cfg = load(path, env)
    assert cfg.agent.provider == answers.provider
    assert cfg.tools.workspace == answers.workspace
    assert provider_problem(cfg, answers.provider, {}) == ""
    assert cfg.channels.telegram.enabled == bool(answers.telegram_token_env)
