"""Which provider and model a call uses, whether it can run, and building its adapter.

Importing this module imports no SDK: ``build`` imports the adapter it needs, and the
adapter imports its SDK when constructed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pulse import paths

from pulsed.config import PROVIDERS, Config
from pulsed.errors import ConfigError, FailedPrecondition
from pulsed.providers.base import LLMProvider

DEFAULT_MODELS = {
    "anthropic": "claude-sonnet-4-5",
    "openai": "gpt-4o-mini",
    "openrouter": "anthropic/claude-sonnet-4.5",
    "ollama": "llama3.2",
    "openai-compatible": "",  # no sensible default: it must be configured
}

KEY_VARIABLES = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}
"""The environment variable holding each provider's API key (the SDK's own, where it has one)."""


def config_path(cfg: Config, env: Mapping[str, str] = os.environ) -> str:
    """The config file to name in messages: the one loaded, else where it would be."""
    if cfg.source:
        return cfg.source
    if env.get("PULSE_CONFIG"):
        return str(Path(env["PULSE_CONFIG"]).expanduser())
    return str(paths.config_path())


def credential_hint(cfg: Config, name: str, env: Mapping[str, str] = os.environ) -> str:
    """What to check when ``name`` rejects its key, e.g. "check ANTHROPIC_API_KEY or
    api_key in [providers.anthropic] of /home/me/.config/pulse/config.toml"."""
    where = f"api_key in [providers.{name}] of {config_path(cfg, env)}"
    var = KEY_VARIABLES.get(name)
    return f"check {var} or {where}" if var else f"check {where}"


def _set(env: Mapping[str, str], var: str) -> bool:
    return bool(env.get(var, "").strip())


OTHER_PROVIDERS = (
    "; or use another provider: [agent] provider = openai | openrouter | ollama, or "
    '"openai-compatible" with base_url in [providers.openai-compatible] for a local '
    "server (vLLM, LM Studio, llama.cpp); `pulsectl init` writes such a config"
)
"""Said after the default provider's missing key: most first runs have not chosen one."""


def provider_problem(
    cfg: Config, name: str, env: Mapping[str, str] = os.environ, *, model: str = ""
) -> str:
    """Why provider ``name`` cannot be called, as one sentence saying what to set; '' if it can.

    ``model`` is the model asked for explicitly (e.g. from a fallback entry); without it
    the configured one is used, which openai-compatible must have.
    """
    if name not in PROVIDERS:
        return f'unknown provider "{name}": use one of {", ".join(PROVIDERS)}'
    pc = cfg.provider(name)
    path = config_path(cfg, env)
    if name == "anthropic":
        # ANTHROPIC_AUTH_TOKEN is the SDK's other static credential.
        if not (pc.api_key or _set(env, "ANTHROPIC_API_KEY") or _set(env, "ANTHROPIC_AUTH_TOKEN")):
            return (
                f'no API key for provider "anthropic": set ANTHROPIC_API_KEY or api_key in '
                f"[providers.anthropic] of {path}{OTHER_PROVIDERS}"
            )
    elif name == "openai":
        custom = pc.base_url or env.get("OPENAI_BASE_URL", "")
        local = bool(custom) and "api.openai.com" not in custom  # needs no key
        if not (pc.api_key or _set(env, "OPENAI_API_KEY") or local):
            return (
                f'no API key for provider "openai": set OPENAI_API_KEY or api_key in '
                f"[providers.openai] of {path}"
            )
    elif name == "openrouter":
        if not (pc.api_key or _set(env, "OPENROUTER_API_KEY")):
            return (
                f'no API key for provider "openrouter": set OPENROUTER_API_KEY or api_key in '
                f"[providers.openrouter] of {path}"
            )
    elif name == "openai-compatible":
        if not pc.base_url:
            return (
                f'no endpoint for provider "openai-compatible": set base_url in '
                f"[providers.openai-compatible] of {path}"
            )
        if not resolve_model(cfg, name, model):
            where = (
                f"model in [agent] or default_model in [providers.openai-compatible] of {path}"
                if cfg.agent.provider == name
                else f"default_model in [providers.openai-compatible] of {path}"
            )
            return f'no model for provider "openai-compatible": set {where}'
    return ""


def default_model(name: str) -> str:
    """The model used when none is configured ('' for openai-compatible: it must be)."""
    return DEFAULT_MODELS.get(name, "")


def resolve_model(cfg: Config, name: str, model: str = "") -> str:
    """The model to call on ``name``: ``model`` if given, else [agent] model (for the main
    provider only), else [providers.<name>] default_model, else ``default_model(name)``."""
    if model.strip():
        return model.strip()
    if name == cfg.agent.provider and cfg.agent.model.strip():
        return cfg.agent.model.strip()
    configured = cfg.provider(name).default_model.strip()
    return configured or default_model(name)


def build(
    cfg: Config, name: str, model: str = "", env: Mapping[str, str] = os.environ
) -> LLMProvider:
    """The adapter for provider ``name`` and ``model`` (resolved as ``resolve_model``).

    The adapter imports its SDK, which takes up to two seconds the first time in a process:
    from async code, call this in a thread (``asyncio.to_thread``).

    Raises:
        ConfigError: ``name`` is not a known provider.
        FailedPrecondition: the provider cannot be called; the message says what to set.
    """
    if name not in PROVIDERS:
        raise ConfigError(f'unknown provider "{name}" (known: {", ".join(PROVIDERS)})')
    problem = provider_problem(cfg, name, env, model=model)
    if problem:
        raise FailedPrecondition(problem)
    model = resolve_model(cfg, name, model)
    pc = cfg.provider(name)
    hint = credential_hint(cfg, name, env)
    if name == "anthropic":
        from pulsed.providers.anthropic import AnthropicProvider

        return AnthropicProvider(pc, model, name=name, credential_hint=hint)
    from pulsed.providers.openai import OpenAIProvider

    return OpenAIProvider(pc, model, name=name, credential_hint=hint, env=env)


def parse_fallback(entry: str) -> tuple[str, str]:
    """``"provider:model"`` (model optional, and may itself hold colons) as a pair."""
    provider, _, model = entry.strip().partition(":")
    return provider.strip(), model.strip()


def chain(cfg: Config) -> list[tuple[str, str]]:
    """``(provider, model)`` pairs to try in order: the main provider with its resolved
    model, then each [agent] fallback entry (its model resolved the same way). Repeated
    pairs are kept once."""
    pairs = [(cfg.agent.provider, resolve_model(cfg, cfg.agent.provider))]
    for entry in cfg.agent.fallback:
        if not entry.strip():
            continue
        provider, model = parse_fallback(entry)
        pair = (provider, resolve_model(cfg, provider, model))
        if pair not in pairs:
            pairs.append(pair)
    return pairs
