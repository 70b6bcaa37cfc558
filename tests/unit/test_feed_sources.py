"""A feed that also hears from other regions listens on two hubs: its own (what this
process's log follower announces) and the shared one (where another region's news reaches
one process of this region). Both ways of running a feed hear both, and stop hearing both."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from hugmood.entrypoints.graphql.feeds import Feed, listen_to, subscribed
from hugmood.realtime.hub import Message
from hugmood.realtime.memory import InMemoryRealtimeHub


def feed_on(local: InMemoryRealtimeHub, shared: InMemoryRealtimeHub) -> Feed:
    context: Any = SimpleNamespace(core=SimpleNamespace(presence=SimpleNamespace(hub=shared)))
    return Feed(context, "ann", local, ["here:ann"], abroad=["abroad:ann"])


async def test_listening_hears_both_hubs_until_closed() -> None:
    local, shared = InMemoryRealtimeHub(), InMemoryRealtimeHub()
    heard: list[tuple[str, Message]] = []
    listening = await listen_to(feed_on(local, shared), lambda c, m: heard.append((c, m)))
    await local.publish("here:ann", {"entryId": "1"})
    await shared.publish("abroad:ann", {"entryId": "2"})
    await shared.publish("abroad:bob", {"entryId": "3"})  # someone else's
    await asyncio.sleep(0)
    assert heard == [("here:ann", {"entryId": "1"}), ("abroad:ann", {"entryId": "2"})]
    await listening.close()
    await local.publish("here:ann", {"entryId": "4"})
    await shared.publish("abroad:ann", {"entryId": "5"})
    await asyncio.sleep(0)
    assert len(heard) == 2


async def test_subscribing_hears_both_hubs_in_order() -> None:
    local, shared = InMemoryRealtimeHub(), InMemoryRealtimeHub()
    async with subscribed(feed_on(local, shared)) as live:
        await shared.publish("abroad:ann", {"entryId": "a"})
        await local.publish("here:ann", {"entryId": "b"})
        got = [await asyncio.wait_for(anext(live), 2) for _ in range(2)]
    assert got == [("abroad:ann", {"entryId": "a"}), ("here:ann", {"entryId": "b"})]
