"""Fixtures shared by the daemon, CLI and end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.llm import FakeLLM
from tests.harness import Daemon, fake_llm_config, running


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def daemon(fake_llm: FakeLLM) -> Iterator[Daemon]:
    """A running pulsed whose agent talks to ``fake_llm`` over the OpenAI wire format."""
    d = Daemon(fake_llm_config(fake_llm.url))
    with running(d):
        yield d
