"""A thin synchronous façade over the async SDK, for scripts and notebooks.

It runs the async client on an event loop of its own in a background thread, so it works
where a loop is already running (Jupyter) as well as in plain scripts:

    hm = HugMoodClient("http://127.0.0.1:8000")
    hm.login("alice", "hugmood-demo")
    hm.record_mood("calm", 0.7, note="Tea on the balcony")
    for hug in hm.hugs(limit=1):
        print(hug["sender"]["handle"])
    hm.close()
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from hugmood.client.api import JSON, AsyncHugMoodClient, EntryResult, MoodChanges, Session
from hugmood.private_files import PRIVATE_FILE

T = TypeVar("T")


class HugMoodClient:
    """The SDK's blocking twin: the same calls as `AsyncHugMoodClient`, without `await`."""

    def __init__(
        self, server_url: str, *, token: str | None = None, device_id: str | None = None
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.aio = self._run(_make(server_url, token, device_id))
        """The async client underneath (its calls must run on this façade's loop)."""

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        self._run(self.aio.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> HugMoodClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def token(self) -> str | None:
        return self.aio.token

    def register(self, handle: str, display_name: str, password: str) -> JSON:
        return self._run(self.aio.register(handle, display_name, password))

    def login(self, handle: str, password: str) -> Session:
        return self._run(self.aio.login(handle, password))

    def logout(self) -> None:
        self._run(self.aio.logout())

    def me(self) -> JSON:
        return self._run(self.aio.me())

    def record_mood(self, mood_type: str, intensity: float, **kwargs: Any) -> JSON:
        return self._run(self.aio.record_mood(mood_type, intensity, **kwargs))

    def record_moods(self, entries: list[JSON]) -> list[EntryResult]:
        return self._run(self.aio.record_moods(entries))

    def mood_changes(self, after: str | None = None, limit: int = 500) -> MoodChanges:
        return self._run(self.aio.mood_changes(after, limit))

    def mood_history(self, start: datetime, end: datetime) -> list[JSON]:
        return self._run(self.aio.mood_history(start, end))

    def friends(self, status: str = "FRIENDS") -> list[JSON]:
        return self._run(self.aio.friends(status))

    def change_friendship(self, action: str, handle: str) -> str:
        return self._run(self.aio.change_friendship(action, handle))

    def send_hug(self, to: str, hug_type: str, message: str | None = None) -> JSON:
        return self._run(self.aio.send_hug(to, hug_type, message))

    def inbox(self, limit: int = 20) -> list[JSON]:
        return self._run(self.aio.inbox(limit))

    def boards(self, include_archived: bool = False) -> list[JSON]:
        return self._run(self.aio.boards(include_archived))

    def board_snapshot(self, board_id: str) -> JSON:
        return self._run(self.aio.board_snapshot(board_id))

    def export_to(self, path: Path, fmt: str = "json") -> int:
        """Save everything the server keeps about you (`GET /me/export`, `json` or `csv`) to
        `path` (created 0600) as it streams in; the number of bytes written."""
        return self._run(_save(self.aio.export(fmt), path))

    def hugs(self, limit: int | None = None) -> Iterator[JSON]:
        """Hugs as they arrive (blocking); stops after `limit` if given."""
        return self._iterate(self.aio.hugs(), limit)

    def presence(self, limit: int | None = None) -> Iterator[JSON]:
        return self._iterate(self.aio.presence(), limit)

    def _iterate(self, stream: AsyncIterator[JSON], limit: int | None) -> Iterator[JSON]:
        count = 0
        try:
            while limit is None or count < limit:
                try:
                    yield self._run(_next(stream))
                except StopAsyncIteration:
                    return
                count += 1
        finally:
            self._run(_close(stream))


async def _make(server_url: str, token: str | None, device_id: str | None) -> AsyncHugMoodClient:
    return AsyncHugMoodClient(server_url, token=token, device_id=device_id)


async def _save(chunks: AsyncIterator[bytes], path: Path) -> int:
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(file.fileno(), PRIVATE_FILE)
        async for chunk in chunks:
            file.write(chunk)
            written += len(chunk)
    return written


async def _next(stream: AsyncIterator[JSON]) -> JSON:
    return await anext(stream)


async def _close(stream: AsyncIterator[JSON]) -> None:
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()
