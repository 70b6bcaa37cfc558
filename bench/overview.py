"""The profile overview (issue 14): `profileOverview` (seven parts gathered at once) against
the same parts asked one after another as separate GraphQL queries, and against the slowest
of those single queries, on a real server (SQLite, the embedded default) with a person who has
a year of check-ins, friends and friends of friends. Parallel should come close to the
slowest single part.

Run: `.venv/bin/python bench/overview.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import (
    HttpConnection,
    emit_latencies,
    graphql,
    hugmood_server,
    machine_params,
    percentile,
    register_and_log_in,
    run,
)

PASSWORD = "a good password for the bench"  # noqa: S105 (a throwaway bench account)
OVERVIEW = """query($h: String) { profileOverview(handle: $h) {
  profile { handle } moodSeries { buckets { count } }
  connections { friendCount mutualFriends peopleYouMayKnow { mutualFriends } }
  sharedBoards { title } activity { presence recentMoods { id } }
  insights { id } similarMinds unavailable } }"""
PARTS = {
    "profile": "query($h: String!) { user(handle: $h, recent: 0) { profile { handle } } }",
    "moodSeries": """query($h: String!, $f: DateTime!, $t: DateTime!) {
      moodHistory(handle: $h, from: $f, to: $t, aggregation: DAY) { buckets { count } } }""",
    "connections": "{ peopleYouMayKnow(limit: 5) { mutualFriends } }",
    "friends": "{ connections { profile { handle } } }",
    "activity": "query($h: String!) { user(handle: $h, recent: 5) { recentMoods { id } } }",
    "presence": "{ friendsPresence { status } }",
    "insights": "{ insights { id } }",
}


async def setup(port: int, days: int) -> tuple[str, str]:
    conn = await HttpConnection.open(port)
    me = f"ov{uuid.uuid4().hex[:8]}"
    token = await register_and_log_in(conn, me, PASSWORD)
    start = datetime.now(UTC) - timedelta(days=days)
    for first in range(0, days, 100):
        entries = [
            {
                "id": str(uuid.uuid4()),
                "moodType": "calm" if n % 3 else "happy",
                "intensity": 0.3 + (n % 5) / 10,
                "contextFactors": {"tags": ["walk"] if n % 2 else []},
                "recordedAt": (start + timedelta(days=n, hours=9)).isoformat(),
            }
            for n in range(first, min(days, first + 100))
        ]
        await graphql(
            conn,
            "mutation($e: [RecordMoodInput!]!) { recordMoods(entries: $e) { status } }",
            {"e": entries},
            token,
        )
    for n in range(10):  # friends, each with a friend of their own
        friend = f"f{n}{uuid.uuid4().hex[:6]}"
        other = f"g{n}{uuid.uuid4().hex[:6]}"
        friend_token = await register_and_log_in(conn, friend, PASSWORD)
        other_token = await register_and_log_in(conn, other, PASSWORD)
        for asker, asker_token, accepter, accepter_token in (
            (me, token, friend, friend_token),
            (friend, friend_token, other, other_token),
        ):
            await graphql(
                conn,
                "mutation($h: String!) { requestFriendship(handle: $h) { status } }",
                {"h": accepter},
                asker_token,
            )
            await graphql(
                conn,
                "mutation($h: String!) { acceptFriendship(handle: $h) { status } }",
                {"h": asker},
                accepter_token,
            )
    conn.close()
    return me, token


async def main(quick: bool) -> None:
    days, rounds = (120, 50) if quick else (365, 200)
    with tempfile.TemporaryDirectory() as folder:
        server = hugmood_server(Path(folder), Path(folder) / "server.log")
        with server:
            await server.wait_ready()
            me, token = await setup(server.port, days)
            conn = await HttpConnection.open(server.port)
            end = datetime.now(UTC) + timedelta(days=1)
            variables = {"h": me, "f": (end - timedelta(days=31)).isoformat(), "t": end.isoformat()}
            together: list[float] = []
            one_by_one: list[float] = []
            per_part: dict[str, list[float]] = {name: [] for name in PARTS}
            for _ in range(5):  # warm up
                await graphql(conn, OVERVIEW, {"h": me}, token)
            for _ in range(rounds):
                started = time.perf_counter()
                data = await graphql(conn, OVERVIEW, {"h": me}, token)
                together.append(time.perf_counter() - started)
                assert data["profileOverview"]["unavailable"] == [], data
                total = 0.0
                for name, query in PARTS.items():
                    wanted = {k: v for k, v in variables.items() if f"${k}" in query}
                    started = time.perf_counter()
                    await graphql(conn, query, wanted, token)
                    took = time.perf_counter() - started
                    per_part[name].append(took)
                    total += took
                one_by_one.append(total)
            conn.close()
    slowest = max(per_part, key=lambda name: percentile(per_part[name], 50))
    params = {
        "days_of_check_ins": days,
        "friends": 10,
        "rounds": rounds,
        "backend": "SQLite (embedded default), one server process",
        "parts_one_by_one": list(PARTS),
        **machine_params(),
    }
    emit_latencies(
        "overview.vs_one_by_one",
        together,
        "the parts as separate queries, one after another",
        one_by_one,
        params,
    )
    emit_latencies(
        "overview.vs_slowest_part",
        together,
        f"the slowest single part alone ({slowest})",
        per_part[slowest],
        params,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="120 days, 50 rounds")
    run(main(parser.parse_args().quick))
