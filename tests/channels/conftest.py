"""Fixtures for channel tests: fake Telegram and Slack servers and daemons using them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.fakes.llm import FakeLLM
from tests.fakes.telegram import FakeTelegram
from tests.harness import Daemon, fake_llm_config


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def telegram_config(tg: FakeTelegram, **over: object) -> str:
    """A [channels.telegram] table for ``tg`` with fast retries and polls."""
    values: dict[str, object] = {
        "enabled": True,
        "token": tg.token,
        "api_base_url": tg.base_url,
        "allow_from": [111],
        "poll_timeout_s": 1,
        "retry_initial_s": 0.1,
        "retry_max_s": 0.5,
        "stall_s": 10.0,
    }
    values.update(over)
    lines = ["[channels.telegram]"]
    for k, v in values.items():
        if isinstance(v, bool):
            lines.append(f"{k} = {'true' if v else 'false'}")
        elif isinstance(v, str):
            lines.append(f'{k} = "{v}"')
        else:
            lines.append(f"{k} = {v!r}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def make_daemon(fake_llm: FakeLLM) -> Iterator[Callable[[str], Daemon]]:
    """Start daemons whose config is the fake LLM's plus the given text."""
    started: list[Daemon] = []

    def make(extra: str) -> Daemon:
        d = Daemon(fake_llm_config(fake_llm.url, extra=extra))
        started.append(d)
        return d.start()

    yield make
    for d in started:
        try:
            d.stop()
        finally:
            d.cleanup()


@pytest.fixture
def tg_daemon(tg: FakeTelegram, make_daemon: Callable[[str], Daemon]) -> Daemon:
    """A daemon with Telegram enabled against ``tg``, user 111 allowed."""
    return make_daemon(telegram_config(tg))
