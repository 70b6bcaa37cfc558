"""Group commit: what queues while a flush is in flight is written together, in order."""

from __future__ import annotations

import asyncio

import pytest

from hugmood.eventstore.group_commit import GroupCommit

DEADLINE_S = 10.0


class RecordingFlush:
    """A flush that records each group and holds the first one until released."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, requests: list[str]) -> list[str | Exception]:
        self.groups.append(requests)
        self.started.set()
        await self.release.wait()
        return [ValueError(r) if r.startswith("bad") else r.upper() for r in requests]


async def submit_all(
    commits: GroupCommit[str, str], requests: list[str]
) -> list[asyncio.Task[str]]:
    """Submit each request from its own task; return once all of them are queued."""
    started = 0
    all_started = asyncio.Event()

    async def submit(request: str) -> str:
        nonlocal started
        started += 1
        if started == len(requests):
            all_started.set()
        # `submit` queues the request before it first suspends, so by the time the waiter
        # below resumes, every request is in the queue.
        return await commits.submit(request)

    tasks = [asyncio.create_task(submit(r)) for r in requests]
    await asyncio.wait_for(all_started.wait(), DEADLINE_S)
    return tasks


async def test_requests_queued_during_a_flush_share_the_next_one() -> None:
    flush = RecordingFlush()
    commits: GroupCommit[str, str] = GroupCommit(flush)
    first = asyncio.create_task(commits.submit("a"))
    await asyncio.wait_for(flush.started.wait(), DEADLINE_S)
    queued = await submit_all(commits, ["b", "bad-c", "d"])
    flush.release.set()

    assert await asyncio.wait_for(first, DEADLINE_S) == "A"
    assert await queued[0] == "B"
    with pytest.raises(ValueError, match="bad-c"):
        await queued[1]
    assert await queued[2] == "D"
    assert flush.groups == [["a"], ["b", "bad-c", "d"]]


async def test_a_request_cancelled_before_its_turn_is_not_written() -> None:
    flush = RecordingFlush()
    commits: GroupCommit[str, str] = GroupCommit(flush)
    first = asyncio.create_task(commits.submit("a"))
    await asyncio.wait_for(flush.started.wait(), DEADLINE_S)
    abandoned, kept = await submit_all(commits, ["b", "c"])
    abandoned.cancel()
    flush.release.set()

    assert await asyncio.wait_for(kept, DEADLINE_S) == "C"
    await first
    assert flush.groups == [["a"], ["c"]]
    await commits.drain()


async def test_a_failing_flush_fails_every_request_of_its_group() -> None:
    async def broken(requests: list[str]) -> list[str | Exception]:
        raise ConnectionError("disk gone")

    commits: GroupCommit[str, str] = GroupCommit(broken)
    outcomes = await asyncio.gather(
        commits.submit("a"), commits.submit("b"), return_exceptions=True
    )

    assert [type(o) for o in outcomes] == [ConnectionError, ConnectionError]
