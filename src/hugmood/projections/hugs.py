"""Hugs read model: every hug with its status, for inboxes, sent lists and counts."""

from __future__ import annotations

import orjson

from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.sql.database import Statement


class HugsProjection:
    name: str = "hugs"
    tables: tuple[str, ...] = ("rm_hugs", "rm_hug_settings")

    def statements(self, event: RecordedEvent) -> list[Statement]:
        d, at = event.data, to_epoch_ms(event.timestamp)
        match event.event_type:
            case "HugSent":
                return [
                    (
                        "INSERT INTO rm_hugs (hug_id, sender_id, recipient_id, hug_type, message,"
                        " muted, status, sent_at_ms) VALUES ($1, $2, $3, $4, $5, $6, 'sent', $7)"
                        " ON CONFLICT (hug_id) DO NOTHING",
                        (
                            d["hugId"],
                            d["senderId"],
                            d["recipientId"],
                            d["hugType"],
                            d["message"],
                            int(d["muted"]),
                            at,
                        ),
                    )
                ]
            case "HugDelivered":
                return [
                    (
                        "UPDATE rm_hugs SET status = 'delivered', delivered_at_ms = $2"
                        " WHERE hug_id = $1 AND status = 'sent'",
                        (d["hugId"], at),
                    )
                ]
            case "HugSeen":
                return [
                    (
                        "UPDATE rm_hugs SET status = 'seen', seen_at_ms = $2,"
                        " delivered_at_ms = COALESCE(delivered_at_ms, $2) WHERE hug_id = $1",
                        (d["hugId"], at),
                    )
                ]
            case "HugWithdrawn":
                return [
                    (
                        "UPDATE rm_hugs SET status = 'withdrawn', withdrawn_at_ms = $2"
                        " WHERE hug_id = $1",
                        (d["hugId"], at),
                    )
                ]
            case "HugSettingsChanged":
                return [
                    (
                        "INSERT INTO rm_hug_settings (user_id, accepted_types, muted_ids)"
                        " VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET"
                        " accepted_types = excluded.accepted_types, muted_ids = excluded.muted_ids",
                        (
                            d["userId"],
                            orjson.dumps(d["acceptedTypes"]).decode(),
                            orjson.dumps(d["mutedIds"]).decode(),
                        ),
                    )
                ]
        return []
