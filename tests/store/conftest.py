"""The ``store`` fixture: one opened, empty store per test, for each backend by name.

``local`` (SQLite in ``tmp_path``) always runs. ``timeplus`` joins the parameters as soon
as ``pulsed.store.timeplus`` exists, and skips, saying why, unless
``PULSE_TEST_TIMEPLUS_URL`` points at a running server. ``timeplus_fake`` always runs:
the Timeplus store against the loopback fake with its row engine (tests/fakes/timeplus.py),
which exercises the backend's whole code path (HTTP, catch-up and streaming tails, the
in-memory window) but not Timeplus' own semantics.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from pulsed.store.base import Store
from pulsed.store.local import LocalStore

TIMEPLUS_URL_ENV = "PULSE_TEST_TIMEPLUS_URL"


def make_local(tmp_path: Path, stack: contextlib.ExitStack) -> Store:
    return LocalStore(tmp_path / "data")


def make_timeplus_fake(tmp_path: Path, stack: contextlib.ExitStack) -> Store:
    from pulsed.config import TimeplusConfig
    from pulsed.store.timeplus import TimeplusStore
    from tests.fakes.timeplus import FakeTimeplus

    fake = stack.enter_context(FakeTimeplus(engine=True))
    cfg = TimeplusConfig(host="127.0.0.1", batch_port=fake.batch_port, stream_port=fake.stream_port)
    return TimeplusStore(cfg, tmp_path / "data")


def make_timeplus(tmp_path: Path, stack: contextlib.ExitStack) -> Store:
    url = os.environ.get(TIMEPLUS_URL_ENV, "")
    if not url:
        pytest.skip(
            f"{TIMEPLUS_URL_ENV} is not set: the Timeplus backend is tested only against a "
            "running server (e.g. PULSE_TEST_TIMEPLUS_URL=http://localhost:8123)"
        )
    from tests.timeplus.helpers import store_for_tests

    # A store on a fresh, empty set of streams for each test.
    return store_for_tests(url, name=tmp_path.name)


BACKENDS: dict[str, Callable[[Path, contextlib.ExitStack], Store]] = {"local": make_local}
if importlib.util.find_spec("pulsed.store.timeplus") is not None:
    BACKENDS["timeplus"] = make_timeplus
    BACKENDS["timeplus_fake"] = make_timeplus_fake


@pytest.fixture(params=sorted(BACKENDS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An opened store with no rows, closed after the test."""
    with contextlib.ExitStack() as stack:
        s = BACKENDS[request.param](tmp_path, stack)
        await s.open()
        try:
            yield s
        finally:
            await s.close()
