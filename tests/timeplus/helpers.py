"""Timeplus stores for tests against a real server (``PULSE_TEST_TIMEPLUS_URL``): each on
a fresh, uniquely prefixed set of streams that is dropped when the store closes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pulsed.config import TimeplusConfig
from pulsed.errors import InvalidArgument, PulseError
from pulsed.store import schema
from pulsed.store.timeplus import TimeplusAdmin, TimeplusStore
from pulsed.store.timeplus.sqlparts import META, ROLLUP, ROLLUP_VIEW
from tests.store.conftest import TIMEPLUS_URL_ENV

LIVE_URL = os.environ.get(TIMEPLUS_URL_ENV, "")
"""The Timeplus server the live modules run against ('' when none: they skip)."""
live_only = pytest.mark.skipif(
    not LIVE_URL,
    reason=f"{TIMEPLUS_URL_ENV} is not set: these tests need a running Timeplus server "
    "(e.g. PULSE_TEST_TIMEPLUS_URL=http://localhost:8123)",
)
"""The mark of a module (``pytestmark``) that needs a live Timeplus server."""


def drop_all(admin: TimeplusAdmin) -> None:
    """Drop every Pulse stream of the admin's database and prefix (blocks)."""
    for name in (ROLLUP_VIEW, ROLLUP, META, *schema.STREAMS):
        kind = "VIEW" if name == ROLLUP_VIEW else "STREAM"
        with contextlib.suppress(PulseError):
            admin.http.command(f"DROP {kind} IF EXISTS {admin.names.of(name)}", doing="dropping")


class _TestStore(TimeplusStore):
    """A store on its own stream prefix that drops its streams when closed."""

    async def close(self) -> None:
        await asyncio.to_thread(drop_all, self.admin)
        await super().close()


_test_ids = itertools.count()


def store_for_tests(url: str, name: str = "", **kw: Any) -> TimeplusStore:
    """A store on a fresh, empty set of streams of the server at ``url`` (the batch
    port, e.g. http://localhost:8123; the streaming port is taken as 3218 unless
    ``PULSE_TEST_TIMEPLUS_STREAM_PORT`` says otherwise). The streams get a unique prefix
    and are dropped on close; ``kw`` goes to ``TimeplusStore`` (e.g. ``window_s``).

    Raises:
        InvalidArgument: ``url`` is not an http(s) URL with a host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(
            f"PULSE_TEST_TIMEPLUS_URL must be like http://localhost:8123, not {url!r}"
        )
    tag = "".join(c if c.isalnum() else "_" for c in name)[-24:]
    prefix = f"t{uuid.uuid4().hex[:8]}_{tag}_{next(_test_ids)}_"
    tp = TimeplusConfig(
        host=parts.hostname,
        batch_port=parts.port or (8443 if parts.scheme == "https" else 8123),
        stream_port=int(os.environ.get("PULSE_TEST_TIMEPLUS_STREAM_PORT", "3218")),
        user=parts.username or "default",
        password=parts.password or "",
        database=(parts.path.strip("/") or "default"),
        stream_prefix=prefix,
        secure=parts.scheme == "https",
    )
    return _TestStore(tp, Path(tempfile.mkdtemp(prefix="pulse-tp-spool-")), **kw)
