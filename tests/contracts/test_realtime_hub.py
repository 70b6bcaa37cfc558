"""The real-time hub contract, run against every backend (in-memory and Redis).

A `Backend` stands for one deployment: `peer()` is another server process sharing the same
state (the in-memory backend has one process, so its peer is the hub itself; the Redis
backend connects a new hub with the same key prefix), and `time_passes()` moves the hubs'
clock on (a fake clock for memory; for Redis, a probe device with that TTL is heartbeated
and awaited until Redis reports it gone, so no test sleeps for synchronisation).

Redis runs at HUGMOOD_TEST_REDIS_URL (default redis://127.0.0.1:6379), each test under a
key prefix of its own. Without Redis these tests skip, or fail under CI=true.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from hugmood.realtime.hub import (
    DeviceRefresh,
    Message,
    Presence,
    PresenceStatus,
    RealtimeHub,
    RealtimeUnavailable,
)
from hugmood.realtime.memory import InMemoryRealtimeHub
from hugmood.realtime.redis_hub import RedisRealtimeHub
from tests.conftest import IN_CI, unique

REDIS_URL = os.environ.get("HUGMOOD_TEST_REDIS_URL", "redis://127.0.0.1:6379")
DEADLINE_S = 5.0

ONLINE, AWAY, OFFLINE = PresenceStatus.ONLINE, PresenceStatus.AWAY, PresenceStatus.OFFLINE


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    name: str
    hub: RealtimeHub
    peer_factory: Callable[[], Awaitable[RealtimeHub]]
    clock: FakeClock | None = None
    ttl_s: float = 1.0
    """A heartbeat TTL long enough to outlast a test's own steps on a busy machine."""
    opened: list[RealtimeHub] = field(default_factory=list)

    async def peer(self) -> RealtimeHub:
        """Another server process sharing this deployment's state."""
        return await self.peer_factory()

    async def time_passes(self, seconds: float) -> None:
        """Return once at least `seconds` have passed on the hubs' clock."""
        if self.clock is not None:
            self.clock.now += seconds
            return
        probe = unique("probe")
        await self.hub.heartbeat(probe, "clock", ONLINE, None, seconds)
        await eventually(lambda: status_of(self.hub, probe), OFFLINE)


async def status_of(hub: RealtimeHub, user_id: str) -> PresenceStatus:
    return (await hub.presence([user_id]))[user_id].status


async def eventually(
    probe: Callable[[], Awaitable[object]], expected: object, timeout_s: float = DEADLINE_S
) -> None:
    """Wait until `probe()` returns `expected`, failing after `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (value := await probe()) != expected:
        if loop.time() > deadline:
            pytest.fail(f"still {value!r} after {timeout_s} s, expected {expected!r}")
        await asyncio.sleep(0.01)


async def receive(subscription: AsyncIterator[tuple[str, Message]]) -> tuple[str, Message]:
    return await asyncio.wait_for(anext(subscription), DEADLINE_S)


async def redis_backend() -> AsyncIterator[Backend]:
    prefix = unique("test")
    opened: list[RealtimeHub] = []

    async def connect() -> RealtimeHub:
        hub = await RedisRealtimeHub.connect(REDIS_URL, prefix=prefix)
        opened.append(hub)
        return hub

    try:
        first = await connect()
    except RealtimeUnavailable as e:
        message = str(e)  # names the URL and the cause
        if IN_CI:
            pytest.fail(message + " (CI=true: service-backed tests must run)")
        pytest.skip(message)
    yield Backend("redis", first, connect, opened=opened)
    for hub in opened:
        await hub.close()
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"hm:{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "redis":
        async for each in redis_backend():
            yield each
        return
    clock = FakeClock()
    hub = InMemoryRealtimeHub(clock=clock)

    async def same_process() -> RealtimeHub:
        return hub

    yield Backend("memory", hub, same_process, clock=clock)
    await hub.close()


# -- fan-out -------------------------------------------------------------------------------


async def test_publish_reaches_every_subscriber_of_the_channel_and_no_other(
    backend: Backend,
) -> None:
    here, there = backend.hub, await backend.peer()
    hugs, other = unique("hugs"), unique("other")
    async with (
        here.subscribe([hugs]) as local,
        there.subscribe([hugs]) as remote,
        there.subscribe([other]) as elsewhere,
    ):
        await here.publish(hugs, {"hug": "warm"})
        await here.publish(other, {"marker": True})

        assert await receive(local) == (hugs, {"hug": "warm"})
        assert await receive(remote) == (hugs, {"hug": "warm"})
        # Per channel order: had the hug leaked to `other`, it would come before the marker.
        assert await receive(elsewhere) == (other, {"marker": True})


async def test_messages_arrive_in_publish_order_per_channel(backend: Backend) -> None:
    here, there = backend.hub, await backend.peer()
    channel = unique("board")
    async with here.subscribe([channel]) as local, there.subscribe([channel]) as remote:
        for n in range(50):
            await here.publish(channel, {"n": n})

        assert [(await receive(local))[1]["n"] for _ in range(50)] == list(range(50))
        assert [(await receive(remote))[1]["n"] for _ in range(50)] == list(range(50))
        # Published from the other process, the end marker travels behind anything still on
        # its way here (such as a copy of our own messages coming back): none may come first.
        await there.publish(channel, {"n": "end"})
        assert await receive(local) == (channel, {"n": "end"})
        assert await receive(remote) == (channel, {"n": "end"})


async def test_one_subscription_receives_each_of_its_channels(backend: Backend) -> None:
    here, there = backend.hub, await backend.peer()
    first, second = unique("a"), unique("b")
    async with there.subscribe([first, second]) as both:
        await here.publish(first, {"n": 1})
        await here.publish(second, {"n": 2})

        received = sorted([await receive(both), await receive(both)])
    assert received == sorted([(first, {"n": 1}), (second, {"n": 2})])


async def test_a_subscriber_gets_only_messages_published_after_it_subscribed(
    backend: Backend,
) -> None:
    here, there = backend.hub, await backend.peer()
    channel = unique("presence")
    # An earlier subscriber keeps the channel subscribed on `there`, so messages published
    # before the late subscriber joins may still be travelling towards that process.
    async with there.subscribe([channel]) as early:
        await here.publish(channel, {"n": 1})
        async with there.subscribe([channel]) as late, here.subscribe([channel]) as late_local:
            await here.publish(channel, {"n": 2})

            assert await receive(late) == (channel, {"n": 2})
            assert await receive(late_local) == (channel, {"n": 2})
        assert await receive(early) == (channel, {"n": 1})
        assert await receive(early) == (channel, {"n": 2})


async def test_leaving_the_subscription_stops_delivery(backend: Backend) -> None:
    here, there = backend.hub, await backend.peer()
    channel = unique("hugs")
    async with there.subscribe([channel]) as staying:
        async with there.subscribe([channel]) as leaving:
            await here.publish(channel, {"n": 1})
            assert await receive(leaving) == (channel, {"n": 1})
        await here.publish(channel, {"n": 2})

        assert await receive(staying) == (channel, {"n": 1})
        assert await receive(staying) == (channel, {"n": 2})
        assert [item async for item in leaving] == []


async def test_listeners_are_called_in_order_until_they_close(backend: Backend) -> None:
    here, there = backend.hub, await backend.peer()
    channel, other = unique("hugs"), unique("other")
    heard: list[tuple[str, Message]] = []
    marker: list[tuple[str, Message]] = []
    listening = await there.listen([channel, other], lambda c, m: heard.append((c, m)))
    done = await there.listen([other], lambda c, m: marker.append((c, m)))
    for n in range(20):
        await here.publish(channel, {"n": n})
    await here.publish(other, {"n": "end"})
    await eventually(lambda: _length(marker), 1)

    assert heard == [(channel, {"n": n}) for n in range(20)] + [(other, {"n": "end"})]
    await listening.close()
    await listening.close()  # idempotent
    await here.publish(other, {"n": "after"})
    await eventually(lambda: _length(marker), 2)
    assert len(heard) == 21
    await done.close()


async def test_a_failing_listener_does_not_stop_the_others(backend: Backend) -> None:
    hub, channel = backend.hub, unique("hugs")
    heard: list[Message] = []

    def broken(channel: str, message: Message) -> None:
        raise RuntimeError("listener bug")

    first = await hub.listen([channel], broken)
    second = await hub.listen([channel], lambda c, m: heard.append(m))
    await hub.publish(channel, {"n": 1})
    await eventually(lambda: _length(heard), 1)
    await first.close()
    await second.close()


async def _length(items: Sequence[object]) -> int:
    return len(items)


async def test_subscribe_refuses_a_bare_string(backend: Backend) -> None:
    with pytest.raises(TypeError):
        async with backend.hub.subscribe("hugs"):
            pass


# -- presence ------------------------------------------------------------------------------


async def test_users_never_seen_are_offline(backend: Backend) -> None:
    nobody = unique("nobody")

    assert await backend.hub.presence([nobody]) == {nobody: Presence(nobody, OFFLINE, None)}


async def test_online_beats_away_and_the_freshest_online_device_gives_the_view(
    backend: Backend,
) -> None:
    hub, user, ttl = backend.hub, unique("u"), backend.ttl_s

    assert await hub.heartbeat(user, "phone", AWAY, "inbox", ttl) == Presence(user, AWAY, "inbox")
    assert await hub.heartbeat(user, "laptop", ONLINE, "board:1", ttl) == Presence(
        user, ONLINE, "board:1"
    )
    assert await hub.heartbeat(user, "tablet", ONLINE, "friends", ttl) == Presence(
        user, ONLINE, "friends"
    )
    # A refresh makes the laptop the freshest online device again; the newer away
    # heartbeat from the phone does not take the view.
    await hub.heartbeat(user, "laptop", ONLINE, "board:2", ttl)
    assert await hub.heartbeat(user, "phone", AWAY, "settings", ttl) == Presence(
        user, ONLINE, "board:2"
    )


async def test_a_user_whose_devices_are_all_away_is_away(backend: Backend) -> None:
    hub, user, ttl = backend.hub, unique("u"), backend.ttl_s
    await hub.heartbeat(user, "phone", AWAY, "inbox", ttl)
    await hub.heartbeat(user, "laptop", ONLINE, "board", ttl)

    assert await hub.heartbeat(user, "laptop", AWAY, None, ttl) == Presence(user, AWAY, None)


async def test_the_last_device_leaving_makes_the_user_offline(backend: Backend) -> None:
    hub, user, ttl = backend.hub, unique("u"), backend.ttl_s
    await hub.heartbeat(user, "phone", ONLINE, "inbox", ttl)
    await hub.heartbeat(user, "laptop", AWAY, "board", ttl)

    assert await hub.disconnect(user, "phone") == Presence(user, AWAY, "board")
    assert await hub.disconnect(user, "laptop") == Presence(user, OFFLINE, None)
    assert await hub.disconnect(user, "laptop") == Presence(user, OFFLINE, None)
    assert await hub.expire() == []


async def test_two_processes_see_the_same_presence(backend: Backend) -> None:
    here, there, user, ttl = backend.hub, await backend.peer(), unique("u"), backend.ttl_s
    await here.heartbeat(user, "phone", AWAY, "inbox", ttl)
    await there.heartbeat(user, "laptop", ONLINE, "board", ttl)

    expected = {user: Presence(user, ONLINE, "board")}
    assert await here.presence([user]) == expected
    assert await there.presence([user]) == expected


async def test_a_heartbeat_says_online_or_away_for_a_positive_time(backend: Backend) -> None:
    with pytest.raises(ValueError, match="disconnect"):
        await backend.hub.heartbeat(unique("u"), "phone", OFFLINE, None, 10)
    with pytest.raises(ValueError, match="ttl_s"):
        await backend.hub.heartbeat(unique("u"), "phone", ONLINE, None, 0)


async def test_a_device_whose_heartbeats_stop_goes_offline_and_is_reported_once(
    backend: Backend,
) -> None:
    here, there, user = backend.hub, await backend.peer(), unique("u")
    await here.heartbeat(user, "phone", ONLINE, "inbox", 0.3)

    await backend.time_passes(0.3)

    assert await status_of(there, user) is OFFLINE
    # Every process runs expire(); the change must reach friends once, not once per process.
    reports = [p for batch in await asyncio.gather(here.expire(), there.expire()) for p in batch]
    assert [p for p in reports if p.user_id == user] == [Presence(user, OFFLINE, None)]
    assert [p for p in await here.expire() if p.user_id == user] == []


async def test_a_device_expiring_reports_what_the_other_devices_leave(backend: Backend) -> None:
    hub, user = backend.hub, unique("u")
    await hub.heartbeat(user, "laptop", AWAY, "board", 30)
    await hub.heartbeat(user, "phone", ONLINE, "inbox", 0.3)

    await backend.time_passes(0.3)

    assert [p for p in await hub.expire() if p.user_id == user] == [Presence(user, AWAY, "board")]


async def test_an_expiring_device_that_changes_nothing_is_not_reported(backend: Backend) -> None:
    hub, user = backend.hub, unique("u")
    await hub.heartbeat(user, "phone", ONLINE, "inbox", 0.3)
    await hub.heartbeat(user, "laptop", ONLINE, "inbox", 30)

    await backend.time_passes(0.3)

    assert await status_of(hub, user) is ONLINE
    assert [p for p in await hub.expire() if p.user_id == user] == []


async def test_heartbeats_keep_a_device_alive_past_its_first_ttl(backend: Backend) -> None:
    hub, user, ttl = backend.hub, unique("u"), backend.ttl_s
    await hub.heartbeat(user, "phone", ONLINE, "inbox", ttl)
    await backend.time_passes(ttl * 0.6)
    await hub.heartbeat(user, "phone", ONLINE, "inbox", ttl)

    await backend.time_passes(ttl * 0.6)

    assert await status_of(hub, user) is ONLINE
    assert [p for p in await hub.expire() if p.user_id == user] == []


async def test_refresh_extends_live_devices_and_reports_the_rest(backend: Backend) -> None:
    hub, there, ttl = backend.hub, await backend.peer(), backend.ttl_s
    user, gone = unique("u"), unique("g")
    await hub.heartbeat(user, "laptop", ONLINE, "feed", ttl)
    await hub.heartbeat(user, "phone", ONLINE, "boards", ttl)
    devices = [
        DeviceRefresh(user, "phone", ONLINE, "boards"),
        DeviceRefresh(gone, "tablet", AWAY, None),
        DeviceRefresh(user, "laptop", ONLINE, "feed"),
    ]
    await backend.time_passes(ttl * 0.6)

    assert await hub.refresh(devices, ttl) == [1]
    # The laptop refreshed last, but the order is kept: the phone's view still wins, and
    # the other process sees the same.
    assert (await there.presence([user]))[user] == Presence(user, ONLINE, "boards")
    await backend.time_passes(ttl * 0.6)
    assert await status_of(hub, user) is ONLINE
    assert [p for p in await hub.expire() if p.user_id == user] == []
    assert await status_of(hub, gone) is OFFLINE


async def test_refresh_does_not_bring_back_an_expired_device(backend: Backend) -> None:
    hub, user, ttl = backend.hub, unique("u"), backend.ttl_s
    await hub.heartbeat(user, "phone", ONLINE, None, ttl)
    await backend.time_passes(ttl * 1.2)

    assert await hub.refresh([DeviceRefresh(user, "phone", ONLINE, None)], ttl) == [0]
    assert await status_of(hub, user) is OFFLINE


# -- lifecycle -----------------------------------------------------------------------------


async def test_closing_ends_subscriptions_and_refuses_further_calls(backend: Backend) -> None:
    hub = await backend.peer() if backend.name == "redis" else backend.hub
    async with hub.subscribe([unique("hugs")]) as subscription:
        await hub.close()

        assert [item async for item in subscription] == []
    with pytest.raises(RealtimeUnavailable):
        await hub.publish("hugs", {})
    with pytest.raises(RealtimeUnavailable):
        await hub.presence(["someone"])
