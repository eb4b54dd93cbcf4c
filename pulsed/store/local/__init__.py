"""The embedded store: SQLite in WAL mode, one table per stream (the ``base.Store`` contract).

Threads: one writer thread owns the only writing connection (appends, migrations); reads
run on a small pool of read-only connections, so a long query never holds up a write and
nothing blocks the event loop. The daemon is the only writer, so after each commit the
writer hands the new rows to in-process tails: tails get new rows without polling.
"The only writer" is enforced: the writer holds an exclusive ``flock`` on ``pulse.db``
for its lifetime, and a ``pulse.db`` that is missing or empty where the data dir shows
it held data is refused, not replaced (``guard``).

Costs: an hourly rollup of llm_logs (``llm_logs_hourly``) is kept in the same transaction
as the rows; a summary adds the rollup for the whole hours of the range to the raw rows of
the partial hours at its edges, so it is exact and fast.

Modules: ``store`` (``LocalStore``), ``writer`` (the writer thread), ``checkpoint`` (WAL
checkpoints on a thread of their own), ``readers`` (the read
pool), ``tails`` (push-based tails), ``codec`` (row values <-> SQLite), ``columns`` (the
column-wise preparation of a batch), ``filters``
(filters as SQL and as Python predicates), ``schema_sql`` (tables and migrations),
``guard`` (the database lock and the lost-database check, with the store's marker),
``rollup`` (the hourly cost rollup and summaries).
"""

from pulsed.store.local.rollup import ROLLUP_TABLE
from pulsed.store.local.store import DB_NAME, LocalStore

__all__ = ["DB_NAME", "ROLLUP_TABLE", "LocalStore"]
