"""A person's own devices and the notes they share end to end (docs/decisions/0021).

Each device registers an X25519 public key. The notes keyring (every notes key the person
has had, newest last) is only ever on the server wrapped for one device at a time: sealed
to that device's public key by another of the person's devices. A new device is linked by
answering its link request, which names a pairing id derived from a phrase the person read
off an old device; a device is unlinked by rotating the keyring for those that remain. The
server checks shapes and the order of things, never a key: it holds none that opens a note.

Everything lives on one stream a person (`devices-<userId>`), appended with the version
last seen, so two devices that rotate at once cannot both win. Sealed notes live on a second
stream (`notes-<userId>`) whose version is the devices' download cursor.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Conflict, NotFound, ValidationFailed
from hugmood.ids import EntryId, UserId

PUBLIC_KEY_BYTES = 32
"""An X25519 public key (RFC 7748)."""
PROOF_BYTES = 32
"""An HMAC-SHA256 made with the pairing phrase's key."""
MAX_WRAPPED_BYTES = 16_384
"""A wrapped keyring: nonce, the keyring (32 bytes a key, ~50 keys fit) and the GCM tag."""
MIN_WRAPPED_BYTES = 12 + 16
MAX_SEALED_NOTE_BYTES = 8_192
"""A note is at most 1,000 characters (4,000 bytes of UTF-8) plus the header and the tag."""
MIN_SEALED_NOTE_BYTES = 1 + 4 + 12 + 16
MAX_DEVICES = 20
LINK_REQUEST_TTL_MS = 10 * 60 * 1000
"""How long a link request may be answered: a pairing phrase is for one sitting."""
_DEVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_PAIRING_ID = re.compile(r"^[0-9a-f]{32}$")


def devices_stream(user_id: UserId) -> str:
    return f"devices-{user_id}"


def notes_stream(user_id: UserId) -> str:
    return f"notes-{user_id}"


def device_id_of(value: object) -> str:
    if not isinstance(value, str) or not _DEVICE_ID.match(value):
        raise ValidationFailed(
            "deviceId must be 1-100 letters, digits or . _ : -", field="deviceId"
        )
    return value


def pairing_id_of(value: object) -> str:
    if not isinstance(value, str) or not _PAIRING_ID.match(value):
        raise ValidationFailed("pairingId must be 32 lower-case hex digits", field="pairingId")
    return value


def base64_of(value: object, field: str, *, low: int, high: int) -> str:
    """`value` if it is standard base64 of `low`..`high` bytes (the canonical spelling)."""
    if not isinstance(value, str) or len(value) > (high + 2) // 3 * 4:
        raise ValidationFailed(f"{field} must be base64 of at most {high} bytes", field=field)
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(f"{field} must be standard base64", field=field) from None
    if not low <= len(raw) <= high:
        raise ValidationFailed(
            f"{field} must be {low} bytes"
            if low == high
            else f"{field} must be {low}-{high} bytes",
            field=field,
        )
    return base64.b64encode(raw).decode()


# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceKeyRegistered(DomainEvent):
    EVENT_TYPE = "DeviceKeyRegistered"

    user_id: UserId
    device_id: str
    public_key: str
    """Base64 of the device's X25519 public key."""
    at_ms: int


@dataclass(frozen=True, slots=True)
class DeviceLinkRequested(DomainEvent):
    EVENT_TYPE = "DeviceLinkRequested"

    user_id: UserId
    device_id: str
    pairing_id: str
    proof: str
    """HMAC with the phrase's key over the request: the old device checks it (not the server)."""
    at_ms: int


@dataclass(frozen=True, slots=True)
class NotesKeyringWrapped(DomainEvent):
    """The keyring at `version`, sealed to one device by another (or by itself, the first)."""

    EVENT_TYPE = "NotesKeyringWrapped"

    user_id: UserId
    device_id: str
    version: int
    ephemeral_key: str
    wrapped: str
    by_device_id: str
    pairing_id: str | None = None
    proof: str | None = None
    """For a link answer: HMAC with the phrase's key, checked by the new device."""


@dataclass(frozen=True, slots=True)
class DeviceUnlinked(DomainEvent):
    """A device is out: the keyring moved to `version` for every device that remains."""

    EVENT_TYPE = "DeviceUnlinked"

    user_id: UserId
    device_id: str
    version: int
    by_device_id: str


@dataclass(frozen=True, slots=True)
class NoteSealed(DomainEvent):
    EVENT_TYPE = "NoteSealed"

    user_id: UserId
    entry_id: EntryId
    ciphertext: str
    """Base64: format byte, keyring version, nonce, AES-256-GCM of the note."""


DEVICE_EVENTS: tuple[type[DomainEvent], ...] = (
    DeviceKeyRegistered,
    DeviceLinkRequested,
    NotesKeyringWrapped,
    DeviceUnlinked,
    NoteSealed,
)


# --- state -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Wrap:
    version: int
    ephemeral_key: str
    wrapped: str
    by_device_id: str
    proof: str | None


@dataclass(frozen=True, slots=True)
class LinkRequest:
    device_id: str
    proof: str
    at_ms: int
    answered: bool = False


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    device_id: str
    public_key: str
    registered_at_ms: int
    unlinked: bool = False


@dataclass(frozen=True, slots=True)
class Devices:
    devices: dict[str, DeviceRecord] = field(default_factory=dict)
    version: int = 0
    """The keyring's current version (0: no keyring yet)."""
    wraps: dict[str, Wrap] = field(default_factory=dict)
    """The current version's wrap for each linked device."""
    requests: dict[str, LinkRequest] = field(default_factory=dict)

    @property
    def linked(self) -> list[str]:
        return sorted(self.wraps)


def evolve_devices(state: Devices, event: DomainEvent) -> Devices:
    if isinstance(event, DeviceKeyRegistered):
        record = DeviceRecord(event.device_id, event.public_key, event.at_ms)
        return replace(state, devices={**state.devices, event.device_id: record})
    if isinstance(event, DeviceLinkRequested):
        request = LinkRequest(event.device_id, event.proof, event.at_ms)
        return replace(state, requests={**state.requests, event.pairing_id: request})
    if isinstance(event, NotesKeyringWrapped):
        wrap = Wrap(
            event.version, event.ephemeral_key, event.wrapped, event.by_device_id, event.proof
        )
        wraps = state.wraps if event.version == state.version else {}
        requests = state.requests
        if event.pairing_id in requests:
            answered = replace(requests[event.pairing_id], answered=True)
            requests = {**requests, event.pairing_id: answered}
        return replace(
            state, version=event.version, wraps={**wraps, event.device_id: wrap}, requests=requests
        )
    if isinstance(event, DeviceUnlinked):
        gone = state.devices.get(event.device_id)
        devices = state.devices
        if gone is not None:
            devices = {**devices, event.device_id: replace(gone, unlinked=True)}
        # The rotated wraps follow in the same append (`NotesKeyringWrapped` at `version`).
        return replace(state, devices=devices, version=event.version, wraps={})
    return state


# --- decisions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrapInput:
    device_id: str
    ephemeral_key: str
    wrapped: str


def wrap_input(device_id: object, ephemeral_key: object, wrapped: object) -> WrapInput:
    return WrapInput(
        device_id_of(device_id),
        base64_of(ephemeral_key, "ephemeralKey", low=PUBLIC_KEY_BYTES, high=PUBLIC_KEY_BYTES),
        base64_of(wrapped, "wrapped", low=MIN_WRAPPED_BYTES, high=MAX_WRAPPED_BYTES),
    )


def decide_register(
    state: Devices, user_id: UserId, device_id: str, public_key: object, now_ms: int
) -> list[DomainEvent]:
    key = base64_of(public_key, "publicKey", low=PUBLIC_KEY_BYTES, high=PUBLIC_KEY_BYTES)
    known = state.devices.get(device_id)
    if known is not None:
        if known.public_key == key and not known.unlinked:
            return []
        raise Conflict(
            "this device id already has another key (or was unlinked): a device that starts"
            " over needs a new device id",
            field="deviceId",
        )
    if sum(not d.unlinked for d in state.devices.values()) >= MAX_DEVICES:
        raise Conflict(f"at most {MAX_DEVICES} devices; unlink one first", field="deviceId")
    return [DeviceKeyRegistered(user_id, device_id, key, now_ms)]


def _registered(state: Devices, device_id: str, field: str = "deviceId") -> DeviceRecord:
    known = state.devices.get(device_id)
    if known is None:
        raise NotFound("no such device of yours: register its key first", field=field)
    if known.unlinked:
        raise Conflict("that device was unlinked; it cannot be linked again", field=field)
    return known


def decide_request_link(
    state: Devices, user_id: UserId, device_id: str, pairing_id: str, proof: object, now_ms: int
) -> list[DomainEvent]:
    _registered(state, device_id)
    if device_id in state.wraps:
        raise Conflict("this device is linked already", field="deviceId")
    if state.version == 0:
        raise NotFound(
            "none of your devices shares notes yet: start on one with `hugmood devices init`",
            field="pairingId",
        )
    if pairing_id in state.requests:
        raise Conflict("this pairing phrase was used already; show a new one", field="pairingId")
    checked = base64_of(proof, "proof", low=PROOF_BYTES, high=PROOF_BYTES)
    return [DeviceLinkRequested(user_id, device_id, pairing_id, checked, now_ms)]


def open_request(state: Devices, pairing_id: str, now_ms: int) -> LinkRequest | None:
    """The unanswered, unexpired link request under `pairing_id`, if any."""
    request = state.requests.get(pairing_id)
    if request is None or request.answered or now_ms - request.at_ms > LINK_REQUEST_TTL_MS:
        return None
    return request


def decide_first_keyring(
    state: Devices, user_id: UserId, by_device_id: str, wrap: WrapInput
) -> list[DomainEvent]:
    """The very first keyring, made by a device for itself."""
    _registered(state, by_device_id, "byDeviceId")
    if state.version != 0:
        raise Conflict(
            "your notes keyring exists already: link this device from one that has it"
            " (`hugmood devices link` there)",
            field="version",
        )
    if wrap.device_id != by_device_id:
        raise ValidationFailed("the first keyring is wrapped for its own device", field="deviceId")
    return [
        NotesKeyringWrapped(
            user_id, wrap.device_id, 1, wrap.ephemeral_key, wrap.wrapped, by_device_id
        )
    ]


def decide_answer_link(
    state: Devices,
    user_id: UserId,
    by_device_id: str,
    pairing_id: str,
    version: int,
    wrap: WrapInput,
    proof: object,
    now_ms: int,
    others: Sequence[WrapInput] = (),
) -> list[DomainEvent]:
    """Link the device that asked under `pairing_id`, and give the devices already linked the
    same keyring again (`others`): its roster now names the new device."""
    if by_device_id not in state.wraps:
        raise Conflict("only a linked device can link another", field="byDeviceId")
    request = open_request(state, pairing_id, now_ms)
    if request is None or request.device_id != wrap.device_id:
        raise NotFound(
            "no open link request under that phrase (they last ten minutes, and are answered once)",
            field="pairingId",
        )
    if version != state.version:
        raise Conflict(
            f"the keyring is at version {state.version}; sync and try again", field="version"
        )
    checked = base64_of(proof, "proof", low=PROOF_BYTES, high=PROOF_BYTES)
    again = [w.device_id for w in others]
    if len(set(again)) != len(again) or not set(again) <= set(state.wraps):
        raise ValidationFailed("others: each a device already linked, once", field="others")
    events: list[DomainEvent] = [
        NotesKeyringWrapped(
            user_id,
            wrap.device_id,
            version,
            wrap.ephemeral_key,
            wrap.wrapped,
            by_device_id,
            pairing_id,
            checked,
        )
    ]
    events += [
        NotesKeyringWrapped(user_id, w.device_id, version, w.ephemeral_key, w.wrapped, by_device_id)
        for w in others
    ]
    return events


def decide_unlink(
    state: Devices,
    user_id: UserId,
    by_device_id: str,
    device_id: str,
    version: int,
    wraps: list[WrapInput],
) -> list[DomainEvent]:
    """Unlink `device_id` and move the keyring to `version` (the next one), wrapped for
    exactly the devices that remain."""
    if device_id not in state.wraps:
        raise NotFound("that device is not linked", field="deviceId")
    if by_device_id not in state.wraps or by_device_id == device_id:
        raise Conflict(
            "unlink from another linked device: it makes the new notes key", field="byDeviceId"
        )
    if version != state.version + 1:
        raise Conflict(
            f"the new keyring must be version {state.version + 1}; sync and try again",
            field="version",
        )
    remaining = set(state.wraps) - {device_id}
    given = [w.device_id for w in wraps]
    if sorted(given) != sorted(remaining):
        raise ValidationFailed(
            "wrap the new keyring once for each device that remains linked, and for no other",
            field="wraps",
        )
    events: list[DomainEvent] = [DeviceUnlinked(user_id, device_id, version, by_device_id)]
    events += [
        NotesKeyringWrapped(user_id, w.device_id, version, w.ephemeral_key, w.wrapped, by_device_id)
        for w in wraps
    ]
    return events


def sealed_note(ciphertext: object) -> str:
    return base64_of(
        ciphertext, "ciphertext", low=MIN_SEALED_NOTE_BYTES, high=MAX_SEALED_NOTE_BYTES
    )
