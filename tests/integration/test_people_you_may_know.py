"""People you may know: friends of friends at depth two, ranked by mutual friends, on every
backend; never a friend, a pending request either way, or a block either way."""

from __future__ import annotations

from hugmood.application.queries.social import people_you_may_know
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain import social as sc
from tests.conftest import unique


async def people(core: HugMood, *names: str) -> dict[str, str]:
    ids = {}
    for name in names:
        handle = unique(name)
        await core.bus.handle(idm.RegisterUser(handle, name.title(), "a good password", "eu-west"))
        ids[name] = idm.user_id_for(handle)
    return ids


async def befriend(core: HugMood, a: str, b: str) -> None:
    await core.bus.handle(sc.RequestFriendship(a, b))
    await core.bus.handle(sc.AcceptFriendship(b, a))


async def suggested(core: HugMood, user: str, limit: int = 10) -> list[tuple[str, int]]:
    found = await people_you_may_know(core.readmodels, user, limit)
    return [(s.account.display_name, s.mutual_friends) for s in found]


async def test_friends_of_friends_ranked_by_mutual_friends_without_friends_requests_or_blocks(
    settings: Settings,
) -> None:
    async with open_hugmood(settings) as core:
        p = await people(core, "ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal", "ivy")
        for a, b in [
            ("ann", "ben"), ("ann", "cat"),  # ann's friends
            ("ben", "dan"), ("cat", "dan"),  # dan: two in common
            ("ben", "eve"),  # eve: one
            ("ben", "fay"),  # fay blocked ann
            ("ben", "gus"),  # gus has a request pending with ann
            ("ben", "hal"), ("cat", "hal"),  # hal: ann blocked hal
            ("dan", "ivy"),  # ivy is at depth three
        ]:  # fmt: skip
            await befriend(core, p[a], p[b])
        await core.bus.handle(sc.BlockUser(p["fay"], p["ann"]))
        await core.bus.handle(sc.RequestFriendship(p["gus"], p["ann"]))
        await core.bus.handle(sc.BlockUser(p["ann"], p["hal"]))

        assert await suggested(core, p["ann"]) == [("Dan", 2), ("Eve", 1)]
        assert await suggested(core, p["ann"], limit=1) == [("Dan", 2)]

        await befriend(core, p["ann"], p["dan"])  # a suggestion taken: no longer suggested
        assert sorted(await suggested(core, p["ann"])) == [("Eve", 1), ("Ivy", 1)]  # a tie
        assert ("Ann", 1) not in await suggested(core, p["fay"]), "fay blocked ann"
