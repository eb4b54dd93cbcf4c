"""The daemon's Unix socket: bind it private, notice when it disappears, bind it again.

A socket file deleted from under a running daemon (``rm``, a tmp cleaner, a removed
runtime dir) leaves the daemon serving an inode nobody can reach. ``Listeners`` checks
every ``[server] socket_check_s`` seconds that the path still holds the inode it bound; when it
does not, it binds the path again. grpc.aio cannot add a port to a started server, so a
re-bind starts a second ``grpc.aio`` server with the same servicers (built by the same
factory); connections made before keep working on the first one until the daemon stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket as socketlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from pulsed.errors import FailedPrecondition

log = logging.getLogger("pulsed.server")

MAX_SOCKET_PATH_BYTES = 100


def prepare_socket_dir(sock: Path) -> None:
    """Create the socket's directory private (0700) if missing; refuse a path too long
    for a Unix socket.

    Raises:
        FailedPrecondition: the path cannot hold a socket.
    """
    if len(str(sock).encode()) > MAX_SOCKET_PATH_BYTES:
        raise FailedPrecondition(
            f"socket path {sock} is too long for a Unix socket (over {MAX_SOCKET_PATH_BYTES} bytes)"
        )
    if not sock.parent.exists():
        sock.parent.mkdir(parents=True, mode=0o700)
    if sock.exists() and not sock.is_socket():
        raise FailedPrecondition(f"{sock} exists and is not a socket; refusing to replace it")


def _answers(path: Path) -> bool:
    """Whether something accepts connections on the Unix socket at ``path``."""
    sock = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    sock.settimeout(1.0)
    try:
        sock.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        sock.close()


class Listeners:
    """The gRPC servers listening on one socket path (usually one; one more per re-bind).

    Args:
        path: the socket path.
        build: makes a ``grpc.aio.Server`` with every servicer added and no port yet.
    """

    def __init__(self, path: Path, build: Callable[[], grpc.aio.Server]) -> None:
        self.path = path
        self._build = build
        self._servers: list[grpc.aio.Server] = []
        self._bound: tuple[int, int] | None = None
        self._reported_foreign = False

    async def bind(self) -> None:
        """Start a new server on the path: private (0600), replacing a stale socket file
        (the caller holds the socket lock, so no live daemon owns one).

        Raises:
            FailedPrecondition: the path cannot hold a socket.
            RuntimeError: grpc could not bind it.
        """
        prepare_socket_dir(self.path)
        server = self._build()
        self._servers.append(server)  # stopped by close() even if the bind fails
        old_umask = os.umask(0o177)
        try:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            server.add_insecure_port(f"unix:{self.path}")
            await server.start()
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        st = os.stat(self.path)
        self._bound = (st.st_dev, st.st_ino)
        self._reported_foreign = False

    def lost(self) -> str:
        """Why the path no longer leads to us ("" when it does)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "the socket file is gone"
        except OSError as err:
            return f"the socket file cannot be checked: {err.strerror}"
        if (st.st_dev, st.st_ino) == self._bound:
            return ""
        if self.path.is_socket() and not _answers(self.path):
            return "the socket file was replaced by a dead one"
        if not self._reported_foreign:
            self._reported_foreign = True
            log.warning("%s was replaced by something else; leaving it alone", self.path)
        return ""

    async def watch(
        self,
        stop: asyncio.Event,
        on_recreated: Callable[[dict[str, Any]], Awaitable[None]],
        interval: float,
    ) -> None:
        """Until ``stop`` is set, check the socket every ``interval`` seconds and bind it
        again when it was lost; ``on_recreated`` is told each time (with the reason)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            if stop.is_set():
                return
            reason = self.lost()
            if not reason:
                continue
            try:
                await self.bind()
            except (OSError, RuntimeError, FailedPrecondition) as err:
                log.error("cannot re-create the socket %s (%s): %s", self.path, reason, err)
                continue
            log.warning("%s; re-created %s", reason, self.path)
            try:
                await on_recreated({"socket": str(self.path), "reason": reason})
            except Exception:  # the socket is back; a failed record must not end the watch
                log.exception("could not record the re-created socket")

    async def stop(self, grace: float | None) -> None:
        """Stop every server, letting running calls finish for ``grace`` seconds."""
        await asyncio.gather(*(server.stop(grace) for server in self._servers))

    async def close(self) -> None:
        """Stop every server now (idempotent); call it while the event loop still runs,
        or grpc schedules the shutdown on a closed loop when the server is collected."""
        await self.stop(None)
        self._servers.clear()
