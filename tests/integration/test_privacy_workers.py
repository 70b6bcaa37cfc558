"""Worker pools for proof checks and ciphertext sums come with their processes running, so no
request on the event loop ever waits for a process to start."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from hugmood.privacy.workers import BACKGROUND_NICENESS, open_pool


async def test_a_pool_is_handed_over_with_its_workers_running() -> None:
    pool = await open_pool(2)
    try:
        # Started already: a submit from here (the event loop) spawns nothing.
        assert len(pool._processes) == 2
        pid = await asyncio.get_running_loop().run_in_executor(pool, os.getpid)
        assert pid in pool._processes and pid != os.getpid()
        # Background work: the server's own requests win a busy machine's CPU.
        niceness = await asyncio.get_running_loop().run_in_executor(pool, os.nice, 0)
        assert niceness == min(os.nice(0) + BACKGROUND_NICENESS, 19)
    finally:
        pool.shutdown(wait=True)


async def test_workers_that_cannot_start_are_reported_not_left_running() -> None:
    with pytest.raises(BrokenProcessPool):
        await open_pool(1, initializer=int, initargs=("not a number",))
