"""A real local store in a temp dir, and the Ingestor over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pulsed.ingest.appender import Ingestor
from pulsed.store.local import LocalStore


@pytest.fixture
async def local_store(tmp_path: Path) -> AsyncIterator[LocalStore]:
    store = LocalStore(tmp_path / "data")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def ingestor(local_store: LocalStore) -> Ingestor:
    return Ingestor(local_store)
