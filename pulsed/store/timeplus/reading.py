"""What the backend's blocking readers of unbounded streaming queries share.

``LogReader`` (a tail, ``tail.py``) and ``SqlReader`` (a SQL trigger's query,
``watch.py``) each iterate on a thread of their own over a streaming query that may
drop and be started again. ``StreamingRead`` holds what they do alike: the stop flag
``close()`` sets from any thread, the running ``RowStream`` it closes (which cancels the
query on the server), the count of queries started, and the doubling wait between
reconnections.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from pulsed.store.timeplus.http import Http, RowStream
from pulsed.store.timeplus.sqlparts import Statement


class StreamingRead:
    """Base of a blocking reader of one streaming query at a time.

    Args:
        retry_min_s: first wait (seconds) before starting a dropped query again.
        retry_max_s: longest wait (seconds); waits double up to it.
    """

    def __init__(self, retry_min_s: float, retry_max_s: float) -> None:
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.connects = 0
        """Streaming queries started (1 + reconnections)."""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._current: RowStream | None = None

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._stop.is_set()

    def close(self) -> None:
        """End the iteration now (from any thread; a running streaming read is closed)."""
        self._stop.set()
        with self._lock:
            rs = self._current
        if rs is not None:
            rs.close()

    def _start(
        self, http: Http, stmt: Statement, settings: Mapping[str, Any] | None, doing: str
    ) -> RowStream | None:
        """Start ``stmt`` on the streaming port as the query ``close()`` ends; None (and
        the query closed) when ``close()`` came meanwhile. Call ``_release`` after it.

        Raises:
            TimeplusUnreachable, TimeplusQueryError: as ``Http.stream``.
        """
        rs = http.stream(stmt, settings, doing)
        with self._lock:
            self._current = rs
        if self.closed:
            rs.close()
            return None
        self.connects += 1
        return rs

    def _release(self) -> None:
        """Forget the running query (it ended or was closed)."""
        with self._lock:
            self._current = None

    def _wait(self, delay: float) -> float:
        """Wait ``delay`` seconds (less when closed meanwhile); the next, doubled, wait."""
        self._stop.wait(delay)
        return min(delay * 2, self.retry_max_s)
