"""The bus's settings and the relay's subjects: what an operator configures and what a
consumer subscribes to."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from hugmood.config import ConfigError, Settings
from hugmood.eventstore.envelope import RecordedEvent
from hugmood.messaging.relay import event_message, event_subject


def recorded(stream_id: str, event_type: str, metadata: dict[str, str]) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(),
        event_type=event_type,
        version=1,
        timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        user_id="u1",
        data={"x": 1},
        metadata=metadata,
        stream_id=stream_id,
        stream_version=1,
        position=42,
    )


def test_nats_is_off_unless_a_url_is_given() -> None:
    settings = Settings.from_env({})

    assert settings.nats_url == ""
    assert (settings.nats_storage, settings.nats_replicas) == ("file", 1)


def test_nats_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "HUGMOOD_NATS_URL": "nats://10.0.0.5:4222",
            "HUGMOOD_NATS_REPLICAS": "3",
            "HUGMOOD_NATS_MAX_AGE_S": "3600",
            "HUGMOOD_NATS_DUPLICATE_WINDOW_S": "300",
            "HUGMOOD_RELAY_LEASE_TTL_S": "10",
        }
    )

    assert settings.nats_replicas == 3 and settings.nats_max_age_s == 3600
    assert settings.nats_duplicate_window_s == 300 and settings.relay_lease_ttl_s == 10


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("HUGMOOD_NATS_URL", "http://localhost:4222", "HUGMOOD_NATS_URL"),
        ("HUGMOOD_NATS_STORAGE", "disk", "HUGMOOD_NATS_STORAGE"),
        ("HUGMOOD_NATS_REPLICAS", "2", "HUGMOOD_NATS_REPLICAS"),
        ("HUGMOOD_NATS_STREAM", "events.all", "HUGMOOD_NATS_STREAM"),
        ("HUGMOOD_NATS_SUBJECT_PREFIX", "hug mood", "HUGMOOD_NATS_SUBJECT_PREFIX"),
        ("HUGMOOD_NATS_DUPLICATE_WINDOW_S", "0", "HUGMOOD_NATS_DUPLICATE_WINDOW_S"),
        ("HUGMOOD_NATS_MAX_AGE_S", "60", "HUGMOOD_NATS_DUPLICATE_WINDOW_S"),
        ("HUGMOOD_RELAY_LEASE_TTL_S", "0.2", "HUGMOOD_RELAY_LEASE_TTL_S"),
    ],
)
def test_a_bad_nats_setting_is_refused_by_name(variable: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Settings.from_env({variable: value})


def test_an_event_is_published_under_its_region_stream_category_and_type() -> None:
    event = recorded("boardDoc-b1", "BoardContentUpdated", {})

    assert event_subject("hugmood", "eu-west", event) == (
        "hugmood.eu-west.events.boardDoc.BoardContentUpdated"
    )


def test_characters_that_are_not_allowed_in_a_subject_token_are_replaced() -> None:
    event = recorded("odd.stream-1", "Some Type*", {})

    assert event_subject("hm", "us.east", event) == "hm.us_east.events.odd_stream.Some_Type_"


def test_the_message_carries_the_event_id_position_and_trace() -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    event = recorded("mood-m1", "MoodRecorded", {"traceparent": traceparent})

    message = event_message("hugmood", "eu-west", event)

    assert message.msg_id == str(event.event_id)
    assert message.headers == {"Hugmood-Position": "42", "traceparent": traceparent}


def test_an_event_without_a_trace_has_no_traceparent_header() -> None:
    message = event_message("hugmood", "eu-west", recorded("user-u1", "UserRegistered", {}))

    assert "traceparent" not in message.headers
