"""A device's outbox and an edge that holds a hug while the region is away: `QUEUED` is done
(the hug is delivered when the region returns), `READ_ONLY` is "try again later", and a real
refusal is still kept as refused."""

from __future__ import annotations

import pytest

from hugmood.client import sync
from hugmood.client.errors import ApiError
from hugmood.client.records import OutboxItem


class Outbox:
    def __init__(self) -> None:
        self.done: list[str] = []
        self.refused: dict[str, str] = {}

    def mark_attempted(self, ids: list[str]) -> None:
        pass

    def settle(self, done: list[str], refused: dict[str, str]) -> None:
        self.done += done
        self.refused.update(refused)


class Edge:
    def __init__(self, answer: ApiError) -> None:
        self.answer = answer

    async def send_hug(self, to: str, hug_type: str, message: str | None, *, hug_id: str) -> None:
        raise self.answer


HUG = OutboxItem(1, "hug-1", "hug", 0, None, b'{"to": "ben", "hugType": "WARM"}')


async def test_a_hug_held_by_the_edge_leaves_the_outbox_as_sent() -> None:
    outbox, report = Outbox(), sync.SyncReport()
    await sync._send_hug(outbox, Edge(ApiError("QUEUED", "held")), HUG, report)  # type: ignore[arg-type]
    assert outbox.done == ["hug-1"] and report.hugs_sent == 1 and not report.refused


async def test_read_only_is_tried_again_later_and_a_refusal_is_kept() -> None:
    outbox, report = Outbox(), sync.SyncReport()
    with pytest.raises(ApiError):
        await sync._send_hug(outbox, Edge(ApiError("READ_ONLY", "away")), HUG, report)  # type: ignore[arg-type]
    assert outbox.done == [] and outbox.refused == {}
    await sync._send_hug(outbox, Edge(ApiError("FORBIDDEN", "not friends")), HUG, report)  # type: ignore[arg-type]
    assert "hug-1" in outbox.refused
