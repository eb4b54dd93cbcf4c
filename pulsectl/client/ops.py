"""Everyday-operations calls, mixed into ``AsyncPulseClient``: stopping the daemon and
backing up its store (core.py holds the rest)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import grpc.aio
    from pulse.v1 import store_pb2, system_pb2

Q = TypeVar("Q")
R = TypeVar("R")


class OpsCalls:
    """``stop`` (System.Stop) and ``store_backup`` (Store.Backup)."""

    if TYPE_CHECKING:

        @property
        def channel(self) -> grpc.aio.Channel: ...

        async def _unary(
            self, method: grpc.aio.UnaryUnaryMultiCallable[Q, R], request: Q, timeout: float = 0
        ) -> R: ...

    async def stop(self) -> system_pb2.StopResponse:
        """System.Stop: the daemon answers, then stops gracefully."""
        from pulse.v1 import system_pb2, system_pb2_grpc

        stub = system_pb2_grpc.SystemStub(self.channel)
        return await self._unary(stub.Stop, system_pb2.StopRequest())

    async def store_backup(
        self, path: str, overwrite: bool = False
    ) -> store_pb2.StoreBackupResponse:
        """Store.Backup to ``path`` (absolute, on the daemon's machine)."""
        from pulse.v1 import store_pb2, store_pb2_grpc

        stub = store_pb2_grpc.StoreStub(self.channel)
        request = store_pb2.StoreBackupRequest(path=path, overwrite=overwrite)
        return await self._unary(stub.Backup, request, 600)
