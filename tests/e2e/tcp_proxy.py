"""A TCP proxy of the test's own in front of a service (the machine's PostgreSQL): stopping it
closes every connection through it and refuses new ones, a real network fault for whoever
uses it, without touching the shared server; starting it again on the same port heals it."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from tests.e2e.server import free_port


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Listen (again) on `port` and forward every connection to the target."""
        if self._thread is not None:
            raise RuntimeError("the proxy is already running")
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._client, "127.0.0.1", self.port)
            )
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="tcp proxy", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise AssertionError("the TCP proxy did not start")

    def stop(self) -> None:
        """Refuse new connections and cut every open one (both ways) at once."""
        if self._loop is None or self._thread is None:
            return
        loop = self._loop

        async def cut() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        asyncio.run_coroutine_threadsafe(cut(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        loop.close()
        self._loop = self._thread = self._server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()
