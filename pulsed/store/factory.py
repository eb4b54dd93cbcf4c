"""Choose the store backend from [store] backend."""

from __future__ import annotations

from pulsed.config import Config
from pulsed.errors import ConfigError
from pulsed.store.base import Store


def make_store(cfg: Config) -> Store:
    """The configured backend, not yet opened.

    Raises:
        ConfigError: the backend is not available in this build.
    """
    if cfg.store.backend == "local":
        from pulsed.store.local import LocalStore

        return LocalStore(cfg.data_path)
    if cfg.store.backend == "timeplus":
        from pulsed.store.timeplus import TimeplusStore

        return TimeplusStore(cfg.store.timeplus, cfg.data_path)
    raise ConfigError(
        f'store.backend: "{cfg.store.backend}" is not available in this version of pulsed; '
        'use "local" or "timeplus"'
    )
