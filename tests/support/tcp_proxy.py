"""A loopback TCP proxy that can turn into a silent blackhole (RELIABILITY T3), on its own thread.

``blackhole()`` stops relaying in both directions without closing anything: bytes are read and dropped, no
FIN or RST reaches either side, new connections are accepted and then ignored — what a dead route looks
like. ``heal()`` relays again for new connections and closes the blackholed ones. ``cut()`` resets the
connections being relayed (a fast, noisy failure, for schedules of many faults).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

__all__ = ["BlackholeProxy"]


class BlackholeProxy:
    """``with BlackholeProxy(target_host, target_port) as proxy:`` listen on ``127.0.0.1:proxy.port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="blackhole-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._holed = False
        self._zombies: list[asyncio.StreamWriter] = []
        self._live: set[asyncio.StreamWriter] = set()
        self.port = 0

    def __enter__(self) -> BlackholeProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            self._close_zombies()

        self._call(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        if pending:
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def blackhole(self) -> None:
        async def hole() -> None:
            self._holed = True

        self._call(hole())

    def heal(self) -> None:
        async def heal() -> None:
            self._holed = False
            self._close_zombies()

        self._call(heal())

    def cut(self) -> None:
        """Reset every relayed connection at once (both sides see the connection drop), as a crashed
        middlebox or a restarted load balancer does; new connections are relayed as before."""

        async def cut() -> None:
            for writer in list(self._live):
                writer.transport.abort()
            self._live.clear()

        self._call(cut())

    def _call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def _close_zombies(self) -> None:
        for writer in self._zombies:
            writer.transport.abort()
        self._zombies.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._holed:
            self._zombies.append(client_writer)
            await self._swallow(client_reader)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.transport.abort()
            return
        self._live |= {client_writer, upstream_writer}
        await asyncio.gather(
            self._relay(client_reader, upstream_writer, client_writer),
            self._relay(upstream_reader, client_writer, upstream_writer),
        )
        self._live -= {client_writer, upstream_writer}

    async def _relay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, source_writer: asyncio.StreamWriter
    ) -> None:
        """Copy until EOF; while blackholed, swallow instead and propagate nothing (no FIN, no RST)."""
        try:
            while True:
                data = await reader.read(65536)
                if self._holed:
                    for w in (writer, source_writer):
                        if w not in self._zombies:
                            self._zombies.append(w)
                    if not data:  # a dead route: the peer's close never arrives on the other side
                        while self._holed:
                            await asyncio.sleep(0.1)
                        break
                    continue
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            if not self._holed:
                with contextlib.suppress(OSError):
                    writer.close()

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError):
            while await reader.read(65536):
                pass
