"""Store: the backend's status, Timeplus schema (init, migrate), copying history into
Timeplus, and read-only SQL on the Timeplus backend."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from pulse.v1 import store_pb2, store_pb2_grpc

from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context, server_stream, unary
from pulsed.errors import FailedPrecondition, InvalidArgument, PulseError
from pulsed.store import schema
from pulsed.store.base import Store

T = TypeVar("T")
BACKENDS = ("local", "timeplus")
MAX_SQL_CHARS = 100_000


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


class StoreServicer(store_pb2_grpc.StoreServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.d = deps

    # -- helpers ---------------------------------------------------------------------------

    def _timeplus_store(self) -> Any:
        """The running TimeplusStore, or None on the local backend."""
        from pulsed.store.timeplus import TimeplusStore

        return self.d.store if isinstance(self.d.store, TimeplusStore) else None

    @contextlib.asynccontextmanager
    async def _admin(self) -> AsyncIterator[Any]:
        """A TimeplusAdmin for [store.timeplus]: the running store's, or a temporary one."""
        from pulsed.store.timeplus import TimeplusAdmin

        store = self._timeplus_store()
        if store is not None:
            yield store.admin
            return
        admin = TimeplusAdmin(self.d.cfg.store.timeplus)
        try:
            yield admin
        finally:
            await _off_loop(admin.http.close)

    @contextlib.asynccontextmanager
    async def _local(self) -> AsyncIterator[Store]:
        """The local store: the running one, or the data dir's opened for reading."""
        from pulsed.store.local import LocalStore

        if self.d.store.backend == "local":
            yield self.d.store
            return
        local = LocalStore(self.d.cfg.data_path)
        await local.open()
        try:
            yield local
        finally:
            await local.close()

    # -- RPCs ----------------------------------------------------------------------------

    @unary
    async def Status(
        self, request: store_pb2.StoreStatusRequest, context: Context
    ) -> store_pb2.StoreStatusResponse:
        store = self.d.store
        tp = self._timeplus_store()
        out = store_pb2.StoreStatusResponse(
            backend=store.backend,
            health=await store.health(),
            schema_version=await store.schema_version(),
            expected_schema_version=schema.SCHEMA_VERSION,
        )
        if tp is not None:
            out.location = tp.where
            out.spooled_rows = tp.spooled()
        else:
            out.location = str(getattr(store, "path", self.d.cfg.data_path))
        try:
            for name in schema.STREAMS:
                where = tp.names.of(name) if tp is not None else name
                out.streams.append(
                    store_pb2.StreamRows(name=name, rows=await store.count(name), location=where)
                )
        except PulseError as e:
            del out.streams[:]
            out.counts_problem = e.message
        return out

    @unary
    async def Init(
        self, request: store_pb2.StoreInitRequest, context: Context
    ) -> store_pb2.StoreInitResponse:
        tp = self._timeplus_store()
        if tp is not None:
            statements = await tp.init()
            where = tp.where
        else:
            async with self._admin() as admin:
                statements = await _off_loop(admin.init)
                where = admin.where
        return store_pb2.StoreInitResponse(
            location=where, schema_version=schema.SCHEMA_VERSION, statements=statements
        )

    @unary
    async def Migrate(
        self, request: store_pb2.StoreMigrateRequest, context: Context
    ) -> store_pb2.StoreMigrateResponse:
        tp = self._timeplus_store()
        if tp is not None:
            before, statements = await tp.migrate()
            where = tp.where
        else:
            async with self._admin() as admin:
                before, statements = await _off_loop(admin.migrate)
                where = admin.where
        return store_pb2.StoreMigrateResponse(
            location=where,
            from_version=before,
            to_version=schema.SCHEMA_VERSION,
            statements=statements,
        )

    @server_stream
    async def Copy(
        self, request: store_pb2.StoreCopyRequest, context: Context
    ) -> AsyncIterator[store_pb2.StoreCopyProgress]:
        from pulsed.store.timeplus import copy_rows

        src, dst = getattr(request, "from") or "local", request.to or "timeplus"
        for which in (src, dst):
            if which not in BACKENDS:
                raise InvalidArgument(f"unknown backend {which!r} (backends: local, timeplus)")
        if (src, dst) != ("local", "timeplus"):
            raise InvalidArgument(
                f"copying from {src} to {dst} is not supported; use --from local --to timeplus"
            )
        size = request.batch_size or 1000
        async with self._local() as local, self._admin() as admin:
            progress = copy_rows(local, admin, list(request.streams), size, _off_loop)
            async with contextlib.aclosing(progress) as steps:
                async for p in steps:
                    yield store_pb2.StoreCopyProgress(**p)

    @server_stream
    async def Sql(
        self, request: store_pb2.SqlRequest, context: Context
    ) -> AsyncIterator[store_pb2.SqlResponse]:
        tp = self._timeplus_store()
        if tp is None:
            raise FailedPrecondition(
                "SQL runs on the Timeplus backend only; this daemon uses the local store "
                '(set [store] backend = "timeplus", or query with `pulsectl streams query`)'
            )
        if len(request.sql) > MAX_SQL_CHARS:
            raise InvalidArgument(f"the SQL is longer than {MAX_SQL_CHARS} characters")
        header = False
        async with contextlib.aclosing(tp.sql(request.sql, request.max_rows)) as results:
            async for columns, types, rows in results:
                msg = store_pb2.SqlResponse(
                    rows=[json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows]
                )
                if not header and columns:
                    msg.columns.extend(columns)
                    msg.types.extend(types)
                    header = True
                elif not rows:
                    continue
                yield msg

    @unary
    async def Backup(
        self, request: store_pb2.StoreBackupRequest, context: Context
    ) -> store_pb2.StoreBackupResponse:
        from pulsed.store.local import LocalStore

        if not isinstance(self.d.store, LocalStore):
            raise FailedPrecondition(
                "store backup copies the local (SQLite) store; this daemon uses Timeplus, "
                "whose data is backed up with Timeplus' own tools"
            )
        info = await self.d.store.backup(request.path, request.overwrite)
        return store_pb2.StoreBackupResponse(
            path=info.path,
            bytes=info.bytes,
            streams=[store_pb2.StreamRows(name=k, rows=v) for k, v in info.rows.items()],
            seconds=info.seconds,
        )
