"""A person's devices and their end-to-end notes in the application (`domain.devices`).

Every function acts for `user_id`, the signed-in person, on that person's own streams only:
no argument can reach another person's devices, keyring or notes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import devices as dv
from hugmood.domain.common import DomainEvent, canonical_id
from hugmood.domain.errors import NotFound, ValidationFailed
from hugmood.domain.moods import mood_stream
from hugmood.ids import UserId

MAX_NOTES_PAGE = 500
_NOTE_IDS = uuid.UUID("5b0f3f55-4f4e-4d5c-9a43-2c1e7b7d8a10")


def _now_ms(deps: Dependencies) -> int:
    return int(deps.clock.now().timestamp() * 1000)


async def devices_of(deps: Dependencies, user_id: UserId) -> dv.Devices:
    return (
        await load(deps.store, dv.devices_stream(user_id), dv.Devices(), dv.evolve_devices)
    ).state


async def _decide(
    deps: Dependencies,
    context: CommandContext,
    user_id: UserId,
    decide: Callable[[dv.Devices], list[DomainEvent]],
) -> None:
    await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=dv.devices_stream(user_id),
        initial=dv.Devices(),
        evolve=dv.evolve_devices,
        decide=decide,
        user_id=user_id,
        context=context,
    )


async def register_device(
    deps: Dependencies,
    context: CommandContext,
    *,
    user_id: UserId,
    device_id: str,
    public_key: object,
) -> dv.DeviceRecord:
    device_id = dv.device_id_of(device_id)
    now = _now_ms(deps)
    await _decide(
        deps, context, user_id, lambda s: dv.decide_register(s, user_id, device_id, public_key, now)
    )
    return (await devices_of(deps, user_id)).devices[device_id]


async def request_link(
    deps: Dependencies,
    context: CommandContext,
    *,
    user_id: UserId,
    device_id: str,
    pairing_id: str,
    proof: object,
) -> None:
    device_id, pairing_id = dv.device_id_of(device_id), dv.pairing_id_of(pairing_id)
    now = _now_ms(deps)
    await _decide(
        deps,
        context,
        user_id,
        lambda s: dv.decide_request_link(s, user_id, device_id, pairing_id, proof, now),
    )


@dataclass(frozen=True, slots=True)
class OpenLinkRequest:
    device_id: str
    public_key: str
    proof: str
    requested_at_ms: int


async def link_request(
    deps: Dependencies, *, user_id: UserId, pairing_id: str
) -> OpenLinkRequest | None:
    """The open request under `pairing_id`, for the old device to check against its phrase."""
    state = await devices_of(deps, user_id)
    request = dv.open_request(state, dv.pairing_id_of(pairing_id), _now_ms(deps))
    if request is None:
        return None
    key = state.devices[request.device_id].public_key
    return OpenLinkRequest(request.device_id, key, request.proof, request.at_ms)


async def create_keyring(
    deps: Dependencies, context: CommandContext, *, user_id: UserId, wrap: dv.WrapInput
) -> None:
    await _decide(
        deps, context, user_id, lambda s: dv.decide_first_keyring(s, user_id, wrap.device_id, wrap)
    )


async def answer_link(
    deps: Dependencies,
    context: CommandContext,
    *,
    user_id: UserId,
    by_device_id: str,
    pairing_id: str,
    version: int,
    wrap: dv.WrapInput,
    proof: object,
    others: list[dv.WrapInput],
) -> None:
    by_device_id, pairing_id = dv.device_id_of(by_device_id), dv.pairing_id_of(pairing_id)
    if len(others) > dv.MAX_DEVICES:
        raise ValidationFailed(f"at most {dv.MAX_DEVICES} wraps", field="others")
    now = _now_ms(deps)
    await _decide(
        deps,
        context,
        user_id,
        lambda s: dv.decide_answer_link(
            s, user_id, by_device_id, pairing_id, version, wrap, proof, now, others
        ),
    )


async def unlink_device(
    deps: Dependencies,
    context: CommandContext,
    *,
    user_id: UserId,
    by_device_id: str,
    device_id: str,
    version: int,
    wraps: list[dv.WrapInput],
) -> None:
    by_device_id, device_id = dv.device_id_of(by_device_id), dv.device_id_of(device_id)
    if len(wraps) > dv.MAX_DEVICES:
        raise ValidationFailed(f"at most {dv.MAX_DEVICES} wraps", field="wraps")
    await _decide(
        deps,
        context,
        user_id,
        lambda s: dv.decide_unlink(s, user_id, by_device_id, device_id, version, wraps),
    )


async def seal_note(
    deps: Dependencies,
    context: CommandContext,
    *,
    user_id: UserId,
    entry_id: str,
    ciphertext: object,
) -> None:
    """Keep the sealed note of one of the person's own check-ins (the latest one wins)."""
    entry_id = canonical_id(entry_id, field="entryId")
    sealed = dv.sealed_note(ciphertext)
    recorded = await deps.store.read_stream(mood_stream(entry_id))
    if not recorded or recorded[0].user_id != user_id:
        raise NotFound("no check-in of yours has that id; sync it first", field="entryId")
    event = dv.NoteSealed(user_id, entry_id, sealed)
    digest = hashlib.sha256(f"{entry_id}:{sealed}".encode()).hexdigest()
    new = to_new_event(
        event,
        user_id=user_id,
        context=context,
        now=deps.clock.now(),
        event_id=uuid.uuid5(_NOTE_IDS, digest),  # an identical retry is stored once
    )
    await deps.store.append(dv.notes_stream(user_id), [new])


@dataclass(frozen=True, slots=True)
class SealedNotes:
    notes: list[tuple[str, str]]
    """(entry id, ciphertext), in the order they were sealed; a later one replaces earlier."""
    cursor: int
    has_more: bool


async def sealed_notes(
    deps: Dependencies, *, user_id: UserId, after: int, limit: int
) -> SealedNotes:
    if after < 0:
        raise ValidationFailed("after must be 0 or a cursor from before", field="after")
    if not 1 <= limit <= MAX_NOTES_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_NOTES_PAGE}", field="limit")
    recorded = await deps.store.read_stream(dv.notes_stream(user_id), from_version=after + 1)
    page = recorded[:limit]
    notes = [(str(e.data["entryId"]), str(e.data["ciphertext"])) for e in page]
    cursor = page[-1].stream_version if page else after
    return SealedNotes(notes, cursor, len(recorded) > limit)
