"""Events' personal fields encrypted at rest under their owner's data key (AES-256-GCM).

Which fields are personal is the domain's to say (`DomainEvent.PERSONAL`); they leave the
event's data and travel as one sealed value, `$personal`, with the event's identity as
associated data, so a sealed value copied into another event does not open. Everything the
server must route, filter or aggregate on stays in clear (ids, times, types, the mood word,
intensity, privacy). Once the owner's key is destroyed, the fields read as the domain's
"erased" values, in every process and from every copy of the log.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag

from hugmood.domain.common import PersonalData
from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.privacy.keys.datakeys import DataKey, DataKeyStore
from hugmood.privacy.keys.errors import SealedDataUnreadable

SEALED = "$personal"
"""The stored key holding an event's encrypted personal fields."""
NONCE_BYTES = 12
ERASURE_EVENT = "UserErased"


class PersonalDataCipher:
    """The `EventCipher` the event store's mapper uses."""

    def __init__(self, keys: DataKeyStore, personal: Mapping[str, PersonalData]) -> None:
        self._keys = keys
        self._personal = personal

    async def seal(self, events: Sequence[NewEvent]) -> list[NewEvent]:
        sealed = []
        for event in events:
            spec = self._personal.get(event.event_type)
            if spec is None or not any(k in event.data for k in spec.erased):
                sealed.append(event)
                continue
            owner = _owner(spec, event.data, event.user_id, event.event_type)
            key = self._keys.cached(owner) or await self._keys.for_writing(owner)
            personal: dict[str, Any] = {}
            clear: dict[str, Any] = {}
            for name, value in event.data.items():
                (personal if name in spec.erased else clear)[name] = value
            nonce = secrets.token_bytes(NONCE_BYTES)
            box = key.gcm.encrypt(
                nonce, orjson.dumps(personal), _aad(str(event.event_id), event.event_type, owner)
            )
            clear[SEALED] = base64.b64encode(nonce + box).decode()
            sealed.append(event.with_data(clear))
        return sealed

    async def open(self, events: Sequence[RecordedEvent]) -> list[RecordedEvent]:
        owners = {}
        for event in events:
            if event.event_type == ERASURE_EVENT and isinstance(event.data.get("userId"), str):
                # Whoever reads an erasure makes sure the key is gone: no cached copy outlives
                # it, and had the erasing process died before destroying it, this does.
                await self._keys.ensure_destroyed(event.data["userId"])
            spec = self._personal.get(event.event_type)
            if spec is not None and SEALED in event.data:
                owners[event.event_id] = _owner(spec, event.data, event.user_id, event.event_type)
        if not owners:
            return list(events)
        keys = await self._keys.for_reading(owners.values())
        opened = []
        for event in events:
            owner = owners.get(event.event_id)
            if owner is None:
                opened.append(event)
                continue
            spec = self._personal[event.event_type]
            clear = {k: v for k, v in event.data.items() if k != SEALED}
            key = keys.get(owner)
            if key is None:
                opened.append(event.with_data({**clear, **spec.erased}))
                continue
            personal = _decrypt(key, event, owner)
            opened.append(event.with_data({**clear, **personal}))
        return opened


def _owner(spec: PersonalData, data: Mapping[str, Any], user_id: str | None, kind: str) -> str:
    owner = data.get(spec.owner) if spec.owner else user_id
    if not isinstance(owner, str) or not owner:
        raise ValueError(f"a {kind} event with personal data must name its owner")
    return owner


def _aad(event_id: str, event_type: str, owner: str) -> bytes:
    return f"hugmood event\x00{event_id}\x00{event_type}\x00{owner}".encode()


def _decrypt(key: DataKey, event: RecordedEvent, owner: str) -> dict[str, Any]:
    try:
        raw = base64.b64decode(str(event.data[SEALED]), validate=True)
        plain = key.gcm.decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(str(event.event_id), event.event_type, owner)
        )
        personal = orjson.loads(plain)
    except (InvalidTag, binascii.Error, ValueError, orjson.JSONDecodeError) as e:
        raise SealedDataUnreadable(
            f"the personal fields of event {event.event_id} ({event.event_type}, position "
            f"{event.position}) do not decrypt under their owner's key: they were altered or "
            "moved from another event"
        ) from e
    if not isinstance(personal, dict):
        raise SealedDataUnreadable(f"the personal fields of event {event.event_id} are malformed")
    return personal
