"""Provider selection: problems to report, models, the fallback chain, lazy SDK imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pulsed.config import AgentConfig, Config, ProviderConfig
from pulsed.errors import ConfigError, FailedPrecondition
from pulsed.providers import registry
from pulsed.providers.anthropic import AnthropicProvider
from pulsed.providers.openai import OpenAIProvider

ROOT = Path(__file__).resolve().parents[2]
PATH = "/home/me/.config/pulse/config.toml"


def config(**agent: object) -> Config:
    cfg = Config(agent=AgentConfig(**agent))  # type: ignore[arg-type]
    cfg.source = PATH
    return cfg


def test_importing_the_registry_imports_no_sdk() -> None:
    code = (
        "import sys\n"
        "import pulsed.providers.registry, pulsed.providers.pricing\n"
        "import pulsed.providers.anthropic, pulsed.providers.openai\n"
        "loaded = [m for m in ('anthropic', 'openai', 'httpx', 'httpx2') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "anthropic",
            'no API key for provider "anthropic": set ANTHROPIC_API_KEY or api_key in '
            f"[providers.anthropic] of {PATH}{registry.OTHER_PROVIDERS}",
        ),
        (
            "openai",
            'no API key for provider "openai": set OPENAI_API_KEY or api_key in '
            f"[providers.openai] of {PATH}",
        ),
        (
            "openrouter",
            'no API key for provider "openrouter": set OPENROUTER_API_KEY or api_key in '
            f"[providers.openrouter] of {PATH}",
        ),
        (
            "openai-compatible",
            'no endpoint for provider "openai-compatible": set base_url in '
            f"[providers.openai-compatible] of {PATH}",
        ),
        ("ollama", ""),
    ],
)
def test_problem_with_nothing_set(name: str, message: str) -> None:
    assert registry.provider_problem(config(), name, env={}) == message


@pytest.mark.parametrize(
    ("name", "env"),
    [
        ("anthropic", {"ANTHROPIC_API_KEY": "sk-ant"}),
        ("anthropic", {"ANTHROPIC_AUTH_TOKEN": "tok"}),
        ("openai", {"OPENAI_API_KEY": "sk"}),
        ("openai", {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}),  # a local server
        ("openrouter", {"OPENROUTER_API_KEY": "sk-or"}),
    ],
)
def test_environment_keys_make_a_provider_usable(name: str, env: dict[str, str]) -> None:
    assert registry.provider_problem(config(), name, env=env) == ""


def test_config_keys_make_a_provider_usable() -> None:
    cfg = config()
    cfg.providers = {
        "anthropic": ProviderConfig(api_key="a"),
        "openai": ProviderConfig(base_url="http://127.0.0.1:11434/v1"),  # the design's example
        "openrouter": ProviderConfig(api_key="o"),
        "openai-compatible": ProviderConfig(base_url="http://h/v1", default_model="qwen"),
    }
    for name in ("anthropic", "openai", "openrouter", "openai-compatible"):
        assert registry.provider_problem(cfg, name, env={}) == "", name


def test_openai_key_for_the_official_endpoint_is_still_required() -> None:
    env = {"OPENAI_BASE_URL": "https://api.openai.com/v1"}
    assert "OPENAI_API_KEY" in registry.provider_problem(config(), "openai", env=env)


def test_empty_variables_count_as_unset() -> None:
    assert registry.provider_problem(config(), "anthropic", env={"ANTHROPIC_API_KEY": " "})


def test_openai_compatible_needs_a_model() -> None:
    cfg = config(provider="openai-compatible")
    cfg.providers = {"openai-compatible": ProviderConfig(base_url="http://h/v1")}
    assert registry.provider_problem(cfg, "openai-compatible", env={}) == (
        'no model for provider "openai-compatible": set model in [agent] or default_model in '
        f"[providers.openai-compatible] of {PATH}"
    )
    assert registry.provider_problem(cfg, "openai-compatible", env={}, model="qwen2.5") == ""
    other = config()
    other.providers = cfg.providers
    assert registry.provider_problem(other, "openai-compatible", env={}) == (
        'no model for provider "openai-compatible": set default_model in '
        f"[providers.openai-compatible] of {PATH}"
    )


def test_problem_names_the_default_config_path_without_a_file(tmp_path: Path) -> None:
    cfg = Config()
    where = str(tmp_path / "pulse.toml")
    problem = registry.provider_problem(cfg, "anthropic", env={"PULSE_CONFIG": where})
    assert problem.removesuffix(registry.OTHER_PROVIDERS).endswith(f"of {where}")


def test_unknown_provider() -> None:
    assert registry.provider_problem(config(), "gemini", env={}).startswith(
        'unknown provider "gemini"'
    )
    with pytest.raises(ConfigError):
        registry.build(config(), "gemini", "m", env={})


def test_default_models() -> None:
    assert registry.default_model("anthropic") == "claude-sonnet-4-5"
    assert registry.default_model("openai") == "gpt-4o-mini"
    assert registry.default_model("openrouter") == "anthropic/claude-sonnet-4.5"
    assert registry.default_model("ollama") == "llama3.2"
    assert registry.default_model("openai-compatible") == ""


def test_resolve_model_order() -> None:
    cfg = config(provider="openai", model="gpt-4.1")
    cfg.providers = {
        "openai": ProviderConfig(default_model="gpt-5"),
        "ollama": ProviderConfig(default_model="qwen3"),
    }
    assert registry.resolve_model(cfg, "openai", "o4-mini") == "o4-mini"  # explicit
    assert registry.resolve_model(cfg, "openai", "") == "gpt-4.1"  # [agent] model
    assert registry.resolve_model(cfg, "ollama", "") == "qwen3"  # [providers.ollama]
    assert registry.resolve_model(cfg, "anthropic", "") == "claude-sonnet-4-5"  # built in
    cfg.agent.model = ""
    assert registry.resolve_model(cfg, "openai", "") == "gpt-5"


def test_chain() -> None:
    cfg = config(
        provider="anthropic",
        model="claude-haiku-4-5",
        fallback=[
            "openai:gpt-4o-mini",
            "ollama",
            " openrouter:meta-llama/llama-3.3-70b:free ",
            "openai:gpt-4o-mini",
            "",
        ],
    )
    assert registry.chain(cfg) == [
        ("anthropic", "claude-haiku-4-5"),
        ("openai", "gpt-4o-mini"),
        ("ollama", "llama3.2"),
        ("openrouter", "meta-llama/llama-3.3-70b:free"),
    ]


def test_chain_without_fallbacks_uses_defaults() -> None:
    assert registry.chain(Config()) == [("anthropic", "claude-sonnet-4-5")]


def test_fallback_model_is_not_the_agent_model() -> None:
    cfg = config(provider="anthropic", model="claude-opus-4-1", fallback=["openai"])
    assert registry.chain(cfg)[1] == ("openai", "gpt-4o-mini")


def test_build_picks_the_adapter() -> None:
    cfg = config(provider="anthropic")
    cfg.providers = {
        "anthropic": ProviderConfig(api_key="a"),
        "openrouter": ProviderConfig(api_key="o"),
    }
    anth = registry.build(cfg, "anthropic", "", env={})
    assert isinstance(anth, AnthropicProvider)
    assert (anth.name, anth.model) == ("anthropic", "claude-sonnet-4-5")
    router = registry.build(cfg, "openrouter", "openai/gpt-4o", env={})
    assert isinstance(router, OpenAIProvider)
    assert (router.name, router.model) == ("openrouter", "openai/gpt-4o")
    local = registry.build(cfg, "ollama", "", env={})
    assert isinstance(local, OpenAIProvider) and local.model == "llama3.2"


def test_build_refuses_an_unusable_provider() -> None:
    with pytest.raises(FailedPrecondition) as info:
        registry.build(config(), "openrouter", "", env={})
    assert "OPENROUTER_API_KEY" in info.value.message


def test_build_gives_the_adapter_a_credential_hint() -> None:
    cfg = config()
    cfg.providers = {"anthropic": ProviderConfig(api_key="a")}
    p = registry.build(cfg, "anthropic", "", env={})
    assert p._hint == f"check ANTHROPIC_API_KEY or api_key in [providers.anthropic] of {PATH}"  # type: ignore[attr-defined]
    assert registry.credential_hint(cfg, "ollama", env={}) == (
        f"check api_key in [providers.ollama] of {PATH}"
    )
