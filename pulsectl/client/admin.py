"""The Store and Channels calls of the client library, as mixins of the async core
(``AdminCalls`` → ``AsyncPulseClient``) and of the sync client (``SyncAdminCalls`` →
``PulseClient``); same names, arguments and results in both. Their message modules are
imported on first use: most runs of pulsectl never need them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pulsectl.client.mixins import CoreLike, SyncLike

if TYPE_CHECKING:
    from pulse.v1 import channels_pb2, channels_pb2_grpc, store_pb2, store_pb2_grpc

    from pulsectl.client.sync import SyncStream


class AdminCore(CoreLike, Protocol):
    """The async core as these calls see it."""

    @property
    def _store(self) -> store_pb2_grpc.StoreAsyncStub: ...

    @property
    def _channels(self) -> channels_pb2_grpc.ChannelsAsyncStub: ...

    def _stream(
        self, method: Any, request: Any, *, droppable: bool = True
    ) -> AsyncIterator[Any]: ...


class AdminSync(SyncLike, Protocol):
    """The sync client as these calls see it."""

    def _stream(self, messages: AsyncIterator[Any]) -> SyncStream[Any]: ...


class AdminCalls:
    """Store and Channels on the async core."""

    # -- Store --------------------------------------------------------------------------

    async def store_status(self: AdminCore) -> store_pb2.StoreStatusResponse:
        """Store.Status: backend, health, schema version, rows per stream."""
        from pulse.v1 import store_pb2

        result: store_pb2.StoreStatusResponse = await self._unary(
            self._store.Status, store_pb2.StoreStatusRequest()
        )
        return result

    async def store_init(self: AdminCore) -> store_pb2.StoreInitResponse:
        """Store.Init: create Pulse's streams in Timeplus (safe to repeat)."""
        from pulse.v1 import store_pb2

        result: store_pb2.StoreInitResponse = await self._unary(
            self._store.Init, store_pb2.StoreInitRequest()
        )
        return result

    async def store_migrate(self: AdminCore) -> store_pb2.StoreMigrateResponse:
        """Store.Migrate: bring the streams in Timeplus to this version's schema."""
        from pulse.v1 import store_pb2

        result: store_pb2.StoreMigrateResponse = await self._unary(
            self._store.Migrate, store_pb2.StoreMigrateRequest()
        )
        return result

    def store_copy(
        self: AdminCore, source: str, target: str, streams: Sequence[str] = (), batch_size: int = 0
    ) -> AsyncIterator[store_pb2.StoreCopyProgress]:
        """Store.Copy from backend ``source`` to ``target``: progress messages until every
        stream (or those in ``streams``) is copied, ``batch_size`` rows per insert."""
        from pulse.v1 import store_pb2

        request = store_pb2.StoreCopyRequest(to=target, streams=streams, batch_size=batch_size)
        setattr(request, "from", source)  # noqa: B010 - `from` is a Python keyword
        return self._stream(lambda: self._store.Copy, request, droppable=False)

    def sql(self: AdminCore, text: str, max_rows: int = 0) -> AsyncIterator[store_pb2.SqlResponse]:
        """Store.Sql: read-only SQL on Timeplus; the columns first, then rows (JSON
        arrays) as they arrive, at most ``max_rows`` (0: no limit)."""
        from pulse.v1 import store_pb2

        request = store_pb2.SqlRequest(sql=text, max_rows=max_rows)
        return self._stream(lambda: self._store.Sql, request, droppable=False)

    # -- Channels -----------------------------------------------------------------------

    async def list_channels(self: AdminCore) -> channels_pb2.ListChannelsResponse:
        """Channels.List: every channel with its state and outbox."""
        from pulse.v1 import channels_pb2

        result: channels_pb2.ListChannelsResponse = await self._unary(
            self._channels.List, channels_pb2.ListChannelsRequest()
        )
        return result

    async def channel_status(self: AdminCore, name: str = "") -> channels_pb2.ChannelStatusResponse:
        """Channels.Status of one channel ("": all), with its failed deliveries."""
        from pulse.v1 import channels_pb2

        result: channels_pb2.ChannelStatusResponse = await self._unary(
            self._channels.Status, channels_pb2.ChannelStatusRequest(name=name)
        )
        return result

    async def approve_pairing(self: AdminCore, code: str) -> channels_pb2.ApprovePairingResponse:
        """Channels.ApprovePairing: admit the person who received pairing ``code``."""
        from pulse.v1 import channels_pb2

        request = channels_pb2.ApprovePairingRequest(code=code)
        result: channels_pb2.ApprovePairingResponse = await self._unary(
            self._channels.ApprovePairing, request
        )
        return result


class SyncAdminCalls:
    """Store and Channels on the sync client (see ``AdminCalls``)."""

    # -- Store --------------------------------------------------------------------------

    def store_status(self: AdminSync) -> store_pb2.StoreStatusResponse:
        """Store.Status."""
        return self._run(self._core.store_status())

    def store_init(self: AdminSync) -> store_pb2.StoreInitResponse:
        """Store.Init."""
        return self._run(self._core.store_init())

    def store_migrate(self: AdminSync) -> store_pb2.StoreMigrateResponse:
        """Store.Migrate."""
        return self._run(self._core.store_migrate())

    def store_copy(
        self: AdminSync, source: str, target: str, streams: Sequence[str] = (), batch_size: int = 0
    ) -> SyncStream[store_pb2.StoreCopyProgress]:
        """Store.Copy: progress messages until every stream is copied."""
        return self._stream(self._core.store_copy(source, target, streams, batch_size))

    def sql(self: AdminSync, text: str, max_rows: int = 0) -> SyncStream[store_pb2.SqlResponse]:
        """Store.Sql: the columns first, then rows as they arrive."""
        return self._stream(self._core.sql(text, max_rows))

    # -- Channels -----------------------------------------------------------------------

    def list_channels(self: AdminSync) -> channels_pb2.ListChannelsResponse:
        """Channels.List."""
        return self._run(self._core.list_channels())

    def channel_status(self: AdminSync, name: str = "") -> channels_pb2.ChannelStatusResponse:
        """Channels.Status of one channel ("": all)."""
        return self._run(self._core.channel_status(name))

    def approve_pairing(self: AdminSync, code: str) -> channels_pb2.ApprovePairingResponse:
        """Channels.ApprovePairing."""
        return self._run(self._core.approve_pairing(code))
