"""The daemon's providers: built on first use, off the event loop, and kept."""

from __future__ import annotations

import asyncio
import logging

from pulsed.config import PROVIDERS, Config
from pulsed.providers import registry
from pulsed.providers.base import LLMProvider

log = logging.getLogger("pulsed.providers")


def parse_model(cfg: Config, spec: str) -> tuple[str, str]:
    """``[PROVIDER:]MODEL`` as a (provider, model) pair. The part before the first colon
    names the provider when it is one Pulse knows or the config defines; otherwise the
    whole text is a model of the main provider (model ids such as ``llama3:8b`` hold
    colons too)."""
    head, sep, rest = spec.strip().partition(":")
    if sep and (head in PROVIDERS or head in cfg.providers):
        return head, registry.resolve_model(cfg, head, rest.strip())
    main = cfg.agent.provider
    return main, registry.resolve_model(cfg, main, spec.strip())


class ProviderPool:
    """Builds providers on first use, off the event loop (SDK imports are slow), and
    keeps them. ``problem()`` says what to configure when the main provider is unusable."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._built: dict[tuple[str, str], LLMProvider] = {}
        self._lock = asyncio.Lock()

    def chain(self, model: str = "") -> list[tuple[str, str]]:
        """(provider, model) pairs to try in order: the main one, then the fallbacks; for
        a turn that names ``model`` (``[PROVIDER:]MODEL``), that one alone."""
        if model.strip():
            return [parse_model(self.cfg, model)]
        return registry.chain(self.cfg)

    def problem(self) -> str:
        """'' when the main provider is usable, else what to set."""
        return registry.provider_problem(self.cfg, self.cfg.agent.provider)

    async def get(self, name: str, model: str) -> LLMProvider:
        """The provider ``name`` serving ``model``, built on first use.

        Raises:
            ConfigError, FailedPrecondition: the provider is not configured usably.
        """
        async with self._lock:
            key = (name, model)
            if key not in self._built:
                self._built[key] = await asyncio.to_thread(registry.build, self.cfg, name, model)
            return self._built[key]

    async def warm(self) -> None:
        """Import the main provider's SDK in a thread so the first turn is fast."""
        if self.problem():
            return
        name, model = self.chain()[0]
        try:
            await self.get(name, model)
        except Exception:  # reported by the first turn instead
            log.debug("provider warm-up failed", exc_info=True)

    async def aclose(self) -> None:
        """Close every provider's HTTP client."""
        for p in self._built.values():
            await p.aclose()
