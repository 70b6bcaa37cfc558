"""Process pools for the privacy paths' CPU work (proof checks, sums on ciphertexts), whose
worker processes are started in a thread, never by a submit on the event loop.

The first task submitted to a `forkserver` pool starts the fork server and a worker, and the
submitting thread waits for both (measured: 80–100 ms here). Submitted from the event loop,
that wait stalls every other request once per pool, and again whenever a dead worker is
replaced; `open_pool` pays it in a thread and hands back a pool whose workers are running.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

BACKGROUND_NICENESS = 10
"""How much lower the workers' CPU priority is than the server's: a proof check (~1.5 s of CPU)
yields to the requests of the process that started it instead of sharing a busy machine's
cores evenly with them."""


def _pid() -> int:
    return os.getpid()


def _background_worker(initializer: Callable[..., object] | None, *initargs: Any) -> None:
    os.nice(BACKGROUND_NICENESS)
    if initializer is not None:
        initializer(*initargs)


def start_pool(
    workers: int,
    *,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A forkserver pool with its `workers` processes started (blocks the calling thread),
    each at BACKGROUND_NICENESS below the caller's CPU priority.

    forkserver, not fork: the server has threads (the SQLite writer, uvloop), and forking a
    threaded process can copy a held lock into the child. A worker whose initialiser fails
    breaks the pool: `BrokenProcessPool` is raised here, and the pool is shut down.
    """
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_background_worker,
        initargs=(initializer, *initargs),
    )
    try:
        # Each submit while no worker is idle starts one more, up to `workers`.
        for started in [pool.submit(_pid) for _ in range(workers)]:
            started.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool


def _shut_down_when_started(started: asyncio.Future[ProcessPoolExecutor]) -> None:
    if not started.cancelled() and started.exception() is None:
        started.result().shutdown(wait=False, cancel_futures=True)


async def open_pool(
    workers: int,
    *,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """`start_pool` in a thread; if the caller is cancelled meanwhile, the pool is shut down
    once started instead of being left running with nobody to stop it."""
    loop = asyncio.get_running_loop()
    started: asyncio.Future[ProcessPoolExecutor] = loop.run_in_executor(
        None, lambda: start_pool(workers, initializer=initializer, initargs=initargs)
    )
    try:
        return await asyncio.shield(started)
    except asyncio.CancelledError:
        started.add_done_callback(_shut_down_when_started)
        raise
