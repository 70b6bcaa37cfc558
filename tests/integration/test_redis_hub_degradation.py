"""Degradation: a Redis hub outlives its Redis.

Each test starts a private `redis-server` on a free port, connects hubs as two server
processes would, kills Redis mid-test and starts it again on the same port. While Redis is
gone a process keeps delivering among its own subscribers and keeps its own devices'
presence; when Redis returns the hubs reconnect by themselves and share again.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from hugmood.realtime.hub import Presence, PresenceStatus, RealtimeHub
from hugmood.realtime.redis_hub import RedisRealtimeHub
from tests.conftest import IN_CI, unique
from tests.contracts.test_realtime_hub import FakeClock, eventually, receive

ONLINE, OFFLINE = PresenceStatus.ONLINE, PresenceStatus.OFFLINE
START_DEADLINE_S = 5.0
RECONNECT_DEADLINE_S = 10.0


class RedisProcess:
    """A throw-away redis-server owned by one test."""

    def __init__(self, executable: str, directory: Path) -> None:
        self.executable = executable
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        # No automatic snapshots or AOF; a test that wants data to survive calls `save()`,
        # and a restart loads that dump from the same directory.
        self.process = await asyncio.create_subprocess_exec(
            self.executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await eventually(self._answers, True, START_DEADLINE_S)

    async def save(self) -> None:
        assert await self._command(b"SAVE") == b"+OK\r\n"

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await asyncio.wait_for(self.process.wait(), START_DEADLINE_S)
        self.process = None

    async def _answers(self) -> bool:
        if self.process is not None and self.process.returncode is not None:
            pytest.fail(f"redis-server exited with {self.process.returncode}")
        try:
            return await self._command(b"PING") == b"+PONG\r\n"
        except OSError:
            return False

    async def _command(self, command: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(command + b"\r\n")
            await writer.drain()
            return await asyncio.wait_for(reader.readline(), START_DEADLINE_S)
        finally:
            writer.close()
            await writer.wait_closed()


@pytest.fixture
def redis_executable() -> str:
    executable = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(executable).exists():
        message = "redis-server is not installed (apt-get install redis-server)"
        if IN_CI:
            pytest.fail(message + " (CI=true: service-backed tests must run)")
        pytest.skip(message)
    return executable


@pytest.fixture
async def redis(redis_executable: str, tmp_path: Path) -> AsyncIterator[RedisProcess]:
    server = RedisProcess(redis_executable, tmp_path)
    try:
        await server.start()
        yield server
    finally:
        await server.kill()


@pytest.fixture
async def hubs() -> AsyncIterator[list[RealtimeHub]]:
    """Hubs to close at the end, whatever happened (before the Redis fixture stops)."""
    opened: list[RealtimeHub] = []
    yield opened
    for hub in opened:
        await hub.close()


async def connect(
    redis: RedisProcess,
    prefix: str,
    opened: list[RealtimeHub],
    clock: Callable[[], float] = time.monotonic,
) -> RedisRealtimeHub:
    hub = await RedisRealtimeHub.connect(
        redis.url, prefix=prefix, clock=clock, timeout_s=1.0, reconnect_delay_s=(0.02, 0.2)
    )
    opened.append(hub)
    return hub


async def connected(hub: RedisRealtimeHub) -> bool:
    return hub.connected


async def test_delivery_and_presence_stay_local_while_redis_is_gone_and_share_again_after(
    redis: RedisProcess, hubs: list[RealtimeHub]
) -> None:
    prefix = unique("degrade")
    here, there = await connect(redis, prefix, hubs), await connect(redis, prefix, hubs)
    channel, user = unique("hugs"), unique("u")
    async with here.subscribe([channel]) as local, there.subscribe([channel]) as remote:
        await here.publish(channel, {"n": 1})
        assert await receive(remote) == (channel, {"n": 1})
        assert await receive(local) == (channel, {"n": 1})

        await redis.kill()
        await eventually(lambda: connected(here), False)
        await eventually(lambda: connected(there), False)

        # Own subscribers, old and new, still get this process's messages.
        async with here.subscribe([channel]) as joined_during_outage:
            await here.publish(channel, {"n": 2})
            assert await receive(local) == (channel, {"n": 2})
            assert await receive(joined_during_outage) == (channel, {"n": 2})
            # Own devices' presence is still kept.
            assert await here.heartbeat(user, "phone", ONLINE, "inbox", 30) == Presence(
                user, ONLINE, "inbox"
            )
            assert await here.presence([user]) == {user: Presence(user, ONLINE, "inbox")}

            await redis.start()
            await eventually(lambda: connected(here), True, RECONNECT_DEADLINE_S)
            await eventually(lambda: connected(there), True, RECONNECT_DEADLINE_S)

            # Subscriptions resumed on both sides, including the one made during the outage.
            await here.publish(channel, {"n": 3})
            assert await receive(remote) == (channel, {"n": 3})
            await there.publish(channel, {"n": 4})
            assert await receive(joined_during_outage) == (channel, {"n": 3})
            assert await receive(joined_during_outage) == (channel, {"n": 4})
            assert await receive(local) == (channel, {"n": 3})
            assert await receive(local) == (channel, {"n": 4})

    # The restarted Redis started empty; the device that beat during the outage is back in it.
    assert await there.presence([user]) == {user: Presence(user, ONLINE, "inbox")}


async def test_devices_that_left_during_the_outage_are_gone_from_redis_when_it_returns(
    redis: RedisProcess, hubs: list[RealtimeHub]
) -> None:
    clock = FakeClock()
    prefix = unique("degrade")
    here = await connect(redis, prefix, hubs, clock=clock)
    there = await connect(redis, prefix, hubs)
    leaving, vanishing = unique("leaving"), unique("vanishing")
    await here.heartbeat(leaving, "phone", ONLINE, "inbox", 30)
    await here.heartbeat(vanishing, "phone", ONLINE, "inbox", 30)
    await redis.save()  # so the restarted Redis still holds both devices

    await redis.kill()
    await eventually(lambda: connected(here), False)
    assert await here.disconnect(leaving, "phone") == Presence(leaving, OFFLINE, None)
    # The vanishing device stops beating; this process's own clock runs past its TTL.
    clock.now += 31
    assert await here.expire() == [Presence(vanishing, OFFLINE, None)]

    await redis.start()
    await eventually(lambda: connected(here), True, RECONNECT_DEADLINE_S)
    await eventually(lambda: connected(there), True, RECONNECT_DEADLINE_S)

    # Without the clean-up both would show online for their remaining 30 s in Redis, and the
    # vanishing one would be reported offline a second time when that ran out.
    assert await there.presence([leaving, vanishing]) == {
        leaving: Presence(leaving, OFFLINE, None),
        vanishing: Presence(vanishing, OFFLINE, None),
    }
