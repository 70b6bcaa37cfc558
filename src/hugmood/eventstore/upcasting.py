"""Upcasters: registered functions that upgrade old versions of an event's data on read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from hugmood.eventstore.envelope import RecordedEvent

EventData = Mapping[str, Any]
Upcaster = Callable[[EventData], EventData]


class Upcasters:
    """A registry of `(event_type, from_version) -> function` that yields version+1 data."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        key = (event_type, from_version)
        if key in self._steps:
            raise ValueError(f"an upcaster for {event_type} v{from_version} is already registered")
        self._steps[key] = upcaster

    def upcast(self, event: RecordedEvent) -> RecordedEvent:
        """Apply every registered step from the event's version upward, one version at a time."""
        data, version = event.data, event.version
        while (step := self._steps.get((event.event_type, version))) is not None:
            data = step(data)
            version += 1
        if version == event.version:
            return event
        return replace(event, data=data, version=version)


NO_UPCASTERS = Upcasters()
