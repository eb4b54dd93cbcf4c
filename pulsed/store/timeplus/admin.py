"""Schema and maintenance of Pulse's streams in one Timeplus database.

``TimeplusAdmin`` creates the streams (``init``), migrates them forward (``migrate``),
records and reads the schema version, counts rows and inserts batches; ``pulsectl store``
uses it directly, the store through its I/O threads. It is also the target of
``pulsed.store.copy`` (``prepare``, ``present_ids``, ``insert_rows``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pulsed import __version__
from pulsed.config import TimeplusConfig
from pulsed.errors import StoreError
from pulsed.store import schema
from pulsed.store.base import Row
from pulsed.store.schema import Stream
from pulsed.store.timeplus import sql
from pulsed.store.timeplus.codec import encode_row, now_tp, rows_to_json
from pulsed.store.timeplus.ddl import Retention, ddl, migrations
from pulsed.store.timeplus.http import Endpoint, Http, TimeplusQueryError
from pulsed.store.timeplus.sqlparts import META, SEQ, Names

UNKNOWN_TABLE = 60
"""Timeplus' error code for a stream that does not exist."""


def endpoint(tp: TimeplusConfig) -> Endpoint:
    """The Endpoint of a ``[store.timeplus]`` table."""
    return Endpoint(
        host=tp.host,
        batch_port=tp.batch_port,
        stream_port=tp.stream_port,
        user=tp.user,
        password=tp.password,
        database=tp.database,
        secure=tp.secure,
        verify=tp.verify,
        connect_timeout_s=tp.connect_timeout_s,
        query_timeout_s=tp.query_timeout_s,
    )


class TimeplusAdmin:
    """Schema and maintenance operations on one Timeplus database. Methods block (call
    them from a thread).

    Raises (every method that talks to Timeplus):
        TimeplusUnreachable: no answer. TimeplusConfigError: the user, password or
        database was refused. TimeplusQueryError: Timeplus failed the statement.
    """

    def __init__(self, tp: TimeplusConfig, http: Http | None = None) -> None:
        self.cfg = tp
        self.names = Names(tp.database, tp.stream_prefix)
        self.keep = Retention(tp.logstore_retention_ms, tp.ttl_days)
        self.http = http or Http(endpoint(tp))

    @property
    def where(self) -> str:
        """Where the streams are, for messages: ``http://host:8123, database name``."""
        return f"{self.http.ep.where}, database {self.names.database}"

    def recorded_version(self) -> int:
        """The highest schema version recorded (0: none, or the streams do not exist).

        Raises:
            TimeplusUnreachable, TimeplusConfigError, TimeplusQueryError.
        """
        try:
            rows = self.http.query(
                sql.schema_version(self.names), doing="reading the schema version"
            )
        except TimeplusQueryError as e:
            if e.code == UNKNOWN_TABLE:
                return 0
            raise
        return int(rows[0].get("v") or 0) if rows else 0

    def init(self) -> list[str]:
        """Create what is missing (every statement is IF NOT EXISTS), add columns of later
        versions, record the schema version. Returns the statements run.

        Raises:
            StoreError: the recorded version is newer than this Pulse.
            TimeplusUnreachable, TimeplusConfigError, TimeplusQueryError.
        """
        recorded = self.recorded_version()
        self.refuse_newer(recorded)
        statements = ddl(self.names, self.keep) + migrations(self.names, recorded)
        for text in statements:
            self.http.command(text, doing="creating Pulse's streams")
        if recorded < schema.SCHEMA_VERSION:
            self._record_version()
        return statements

    def migrate(self) -> tuple[int, list[str]]:
        """Forward migrations from the recorded version (``ALTER STREAM ... ADD COLUMN``).

        Returns:
            (version before, statements run).

        Raises:
            FailedPrecondition-like StoreError: nothing is recorded yet (run init).
        """
        recorded = self.recorded_version()
        self.refuse_newer(recorded)
        if recorded == 0:
            raise StoreError(
                f"no Pulse schema in Timeplus at {self.where}: run `pulsectl store init` first"
            )
        statements = migrations(self.names, recorded)
        for text in statements:
            self.http.command(text, doing="migrating Pulse's streams")
        if recorded < schema.SCHEMA_VERSION:
            self._record_version()
        return recorded, statements

    def refuse_newer(self, recorded: int) -> None:
        """Raises StoreError when ``recorded`` is newer than this Pulse's schema."""
        if recorded > schema.SCHEMA_VERSION:
            raise StoreError(
                f"Timeplus at {self.where} has Pulse schema version {recorded}, newer than "
                f"this Pulse ({schema.SCHEMA_VERSION}); upgrade Pulse"
            )

    def _record_version(self) -> None:
        row = {
            "version": schema.SCHEMA_VERSION,
            "pulse_version": __version__,
            "timestamp": now_tp(),
        }
        self.http.insert(
            self.names.of(META),
            list(row),
            rows_to_json([row]),
            doing="recording the schema version",
        )

    def counts(self) -> dict[str, int]:
        """Rows per stream in the historical store."""
        out = {}
        for name in schema.STREAMS:
            s = schema.STREAMS[name]
            stmt = sql.count_rows(self.names, s, 2**62)
            rows = self.http.query(stmt, doing=f"counting {name}")
            out[name] = int(rows[0]["n"]) if rows else 0
        return out

    def max_seq(self, s: Stream) -> int:
        """The highest seq the historical store of ``s`` holds (0 when empty)."""
        rows = self.http.query(
            sql.max_seq(self.names, s), doing=f"reading the last seq of {s.name}"
        )
        return int(rows[0].get("seq") or 0) if rows else 0

    def present_ids(self, s: Stream, ids: Sequence[str]) -> set[str]:
        """Which ``ids`` the historical store of ``s`` holds."""
        if not ids:
            return set()
        stmt = sql.ids_present(self.names, s, ids)
        rows = self.http.query(stmt, doing=f"checking ids in {s.name}")
        return {str(r["id"]) for r in rows}

    def insert(self, s: Stream, encoded: list[dict[str, Any]]) -> None:
        """Insert rows of ``s`` already encoded for Timeplus (``codec.encode_row``)."""
        columns = [*s.column_names, SEQ]
        self.http.insert(
            self.names.of(s.name), columns, rows_to_json(encoded), doing=f"appending to {s.name}"
        )

    # -- as the target of ``pulsed.store.copy`` ---------------------------------------

    def prepare(self) -> None:
        """Create Pulse's streams unless a schema version is recorded already."""
        if self.recorded_version() == 0:
            self.init()

    def insert_rows(self, s: Stream, rows: Sequence[Row]) -> None:
        """Insert ``rows`` of ``s`` keeping their ids, timestamps and seqs."""
        self.insert(s, [encode_row(s, r.values, r.seq) for r in rows])
