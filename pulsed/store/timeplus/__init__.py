"""The Timeplus backend: Pulse's streams in Timeplus Proton or Enterprise (``base.Store``).

Modules, from the store down:

- ``store``: ``TimeplusStore``, the contract over a remote, eventually-visible store
  (sequence numbers, read-after-write, outages; its docstring says how).
- ``window``: the in-memory window of recent appends that reads and tails merge in.
- ``merge``: how each read combines Timeplus' answer with the window.
- ``tail``: ``LogReader`` (historical catch-up, then a resumable streaming read) and
  ``Feed`` (the thread bridge to the event loop).
- ``sqlpump``: read-only SQL for ``pulsectl sql``: the statement check and the pump.
- ``watch``: SQL triggers' streaming queries: the check and resume rule, the resumable
  reader, ``SqlWatcher`` (imported by the triggers only on this backend).
- ``admin``: ``TimeplusAdmin``: DDL, migrations, versions, counts, inserts.
- ``spool``: the local durable spool of appends Timeplus could not take.
- ``sql`` (queries), ``ddl`` (streams and migrations), ``filters`` (filters as SQL and
  as predicates), ``codec`` (values Python <-> JSONEachRow), ``sqlparts`` (identifiers,
  literals, bound parameters).
- ``http``: timeplus-connect clients, error translation, streaming reads.

The store-to-store copy (``pulsectl store copy``) is ``pulsed.store.copy``; its
``copy_rows`` is re-exported here, as are the classes other code uses.
"""

from pulsed.store.copy import copy_rows
from pulsed.store.timeplus.admin import TimeplusAdmin, endpoint
from pulsed.store.timeplus.store import TimeplusStore
from pulsed.store.timeplus.tail import LogReader

__all__ = ["LogReader", "TimeplusAdmin", "TimeplusStore", "copy_rows", "endpoint"]
