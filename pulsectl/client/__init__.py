"""pulsectl.client: the one client library of pulsed, shared by pulsectl and pulsetui.

It talks to the daemon over gRPC on its Unix socket and imports only grpc, the ``pulse``
contract package (generated ``pulse.v1`` stubs, ``pulse.paths``) and the standard
library; never ``pulsed``, never textual. Names are loaded on first use, so importing
the package (or its pure modules ``filters`` and ``errors``) costs no grpc import.

Modules:
    errors   ``ClientError`` and its subclasses; ``translate``/``from_status``: the one
             mapping of a failed call (status code, details, ``pulse-error`` trailer)
             to them. No grpc at import.
    filters  ``Filter`` (column, op, value) and the one where-grammar:
             ``parse_where`` (one term), ``parse_filters`` (a line of terms).
    rows     ``TailRow``: a stream row decoded (stream, seq, values).
    batches  ``batched``: tail responses regrouped into lists for a UI.
    daemon   the socket ``probe``, ``spawn`` of a detached ``pulsed``, its log.
    core     ``AsyncPulseClient``: every pulse.v1 service and grpc.health.v1 on
             grpc.aio; ``ensure_daemon`` (probe, start, wait until SERVING);
             ``follow`` (a batched tail that resumes after daemon restarts);
             ``new_task`` builds a task to add.
    skills   ``SkillsCalls``: the Skills service's methods, mixed into the core.
    sync     ``PulseClient``: the core driven from synchronous code on a loop thread,
             Ctrl+C-safe; ``SyncStream`` for its server streams.

Classes:
    AsyncPulseClient(socket=None, *, client_name, timeout=30.0)
        One coroutine per unary RPC returning its protobuf response; server streams
        (``send``, ``tail``, ``store_copy``, ``sql``, ``watch_health``, ``follow``) are
        async iterators. Services: System (status), Chat (send, approve, cancel,
        list_sessions, history, rename_session), Streams (list_streams, tail, query,
        query_rows, last_seq, follow), Costs (cost_summary), Tasks (add_task,
        update_task, remove_task, list_tasks, set_task_enabled, run_task, task_history,
        preview_schedule), Store (store_status, store_init, store_migrate, store_copy,
        sql), Channels (list_channels, channel_status, approve_pairing), Skills
        (list_skills, show_skill; in ``skills``, mixed in), health
        (watch_health). Connection: ensure_daemon, start_daemon, wait_ready, close,
        drop_streams, ``online`` (an asyncio.Event a UI keeps set while connected).
    PulseClient(socket=None, *, autostart=True, notify=None, timeout=30.0,
                client_name="pulsectl", hint=START_HINT)
        The same methods, blocking (streams as ``SyncStream``: iterate, ``cancel()``);
        each call first makes sure a daemon answers (``connect``), starting one when
        ``autostart``. A context manager; ``close()`` stops its loop thread.
    Filter(column, op="eq", value="")   frozen; op eq ne contains gt ge lt le.
    TailRow(stream, seq, values)        frozen; ``TailRow.of(pulse.v1.Row)``.

Errors raised (all ``ClientError``: ``message``, ``hint``, ``code`` (status code name),
``details``, ``error`` (the daemon's error class, from the trailer), ``unreachable``):
    DaemonUnreachable  no daemon answers and none could be started, or the transport
                       failed (UNAVAILABLE without the ``pulse-error`` trailer);
                       ``unreachable`` is True.
    ServerError        the daemon answered with an error status, UNAVAILABLE included
                       when it says a part it needs (store, provider) is down.
    FilterError        (a ValueError, from ``filters``) text that is not a filter.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulsectl.client.core import CALL_TIMEOUT_S, CLIENT_METADATA, AsyncPulseClient, new_task
    from pulsectl.client.daemon import START_TIMEOUT_S, probe
    from pulsectl.client.errors import (
        ERROR_TRAILER,
        START_HINT,
        ClientError,
        DaemonUnreachable,
        ServerError,
        from_status,
        no_daemon,
        translate,
    )
    from pulsectl.client.filters import FORMS, Filter, FilterError, parse_filters, parse_where
    from pulsectl.client.rows import TailRow
    from pulsectl.client.sync import PulseClient, SyncStream

_HOMES = {
    "AsyncPulseClient": "core",
    "CALL_TIMEOUT_S": "core",
    "CLIENT_METADATA": "core",
    "new_task": "core",
    "START_TIMEOUT_S": "daemon",
    "probe": "daemon",
    "ERROR_TRAILER": "errors",
    "START_HINT": "errors",
    "ClientError": "errors",
    "DaemonUnreachable": "errors",
    "ServerError": "errors",
    "from_status": "errors",
    "no_daemon": "errors",
    "translate": "errors",
    "FORMS": "filters",
    "Filter": "filters",
    "FilterError": "filters",
    "parse_filters": "filters",
    "parse_where": "filters",
    "TailRow": "rows",
    "PulseClient": "sync",
    "SyncStream": "sync",
}

__all__ = [
    "AsyncPulseClient",
    "CALL_TIMEOUT_S",
    "CLIENT_METADATA",
    "ClientError",
    "DaemonUnreachable",
    "ERROR_TRAILER",
    "FORMS",
    "Filter",
    "FilterError",
    "PulseClient",
    "START_HINT",
    "START_TIMEOUT_S",
    "ServerError",
    "SyncStream",
    "TailRow",
    "from_status",
    "new_task",
    "no_daemon",
    "parse_filters",
    "parse_where",
    "probe",
    "translate",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (keeps ``import`` cheap)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
