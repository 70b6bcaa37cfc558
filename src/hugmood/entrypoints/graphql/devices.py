"""GraphQL for your own devices and the notes they share end to end (`domain.devices`).

Everything here is about the signed-in person alone: their devices, their keyring as wrapped
for one of them, their sealed notes. Keys and ciphertexts are opaque base64 to the server.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from hugmood.application import devices as app
from hugmood.domain import devices as dv
from hugmood.domain.errors import ValidationFailed
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.entrypoints.graphql.types import ms_to_datetime


@strawberry.type
class Device:
    device_id: str
    public_key: str = strawberry.field(description="Base64 of its X25519 public key.")
    registered_at: datetime
    linked: bool = strawberry.field(description="Holds the current notes keyring.")
    unlinked: bool = strawberry.field(description="Unlinked for good.")


@strawberry.type
class MyDevices:
    keyring_version: int = strawberry.field(
        description="The notes keyring's current version (0: no device shares notes yet)."
    )
    devices: list[Device]


@strawberry.type
class WrappedKeyring:
    version: int
    ephemeral_key: str
    wrapped: str
    by_device_id: str
    proof: str | None = strawberry.field(
        description="For a link answer: the HMAC the new device checks with its phrase."
    )


@strawberry.type
class DeviceLinkRequest:
    device_id: str
    public_key: str
    proof: str
    requested_at: datetime


@strawberry.type
class SealedNote:
    entry_id: str
    ciphertext: str


@strawberry.type
class SealedNotePage:
    notes: list[SealedNote]
    cursor: int = strawberry.field(description="Pass as `after` for the next page.")
    has_more: bool


@strawberry.input
class KeyringWrapInput:
    device_id: str
    ephemeral_key: str
    wrapped: str


def _my_devices(state: dv.Devices) -> MyDevices:
    return MyDevices(
        keyring_version=state.version,
        devices=[
            Device(
                device_id=d.device_id,
                public_key=d.public_key,
                registered_at=ms_to_datetime(d.registered_at_ms),
                linked=d.device_id in state.wraps,
                unlinked=d.unlinked,
            )
            for d in sorted(state.devices.values(), key=lambda d: d.registered_at_ms)
        ],
    )


def _wrap(given: KeyringWrapInput) -> dv.WrapInput:
    return dv.wrap_input(given.device_id, given.ephemeral_key, given.wrapped)


@strawberry.type
class DeviceQueries:
    @strawberry.field(description="Your devices and which of them share notes.")
    async def my_devices(self, info: Ctx) -> MyDevices:
        me = await info.context.principal()
        return _my_devices(await app.devices_of(info.context.core.deps, me.user_id))

    @strawberry.field(description="The notes keyring as wrapped for one of your devices.")
    async def my_notes_keyring(self, info: Ctx, device_id: str) -> WrappedKeyring | None:
        me = await info.context.principal()
        state = await app.devices_of(info.context.core.deps, me.user_id)
        wrap = state.wraps.get(dv.device_id_of(device_id))
        if wrap is None:
            return None
        return WrappedKeyring(
            version=wrap.version,
            ephemeral_key=wrap.ephemeral_key,
            wrapped=wrap.wrapped,
            by_device_id=wrap.by_device_id,
            proof=wrap.proof,
        )

    @strawberry.field(
        description="The open link request under a pairing id (from the phrase), if any."
    )
    async def device_link_request(self, info: Ctx, pairing_id: str) -> DeviceLinkRequest | None:
        me = await info.context.principal()
        found = await app.link_request(
            info.context.core.deps, user_id=me.user_id, pairing_id=pairing_id
        )
        if found is None:
            return None
        return DeviceLinkRequest(
            device_id=found.device_id,
            public_key=found.public_key,
            proof=found.proof,
            requested_at=ms_to_datetime(found.requested_at_ms),
        )

    @strawberry.field(description="Your sealed notes after a cursor, oldest first.")
    async def sealed_notes(self, info: Ctx, after: int = 0, limit: int = 200) -> SealedNotePage:
        me = await info.context.principal()
        page = await app.sealed_notes(
            info.context.core.deps, user_id=me.user_id, after=after, limit=limit
        )
        return SealedNotePage(
            notes=[SealedNote(entry_id=e, ciphertext=c) for e, c in page.notes],
            cursor=page.cursor,
            has_more=page.has_more,
        )


@strawberry.type
class DeviceMutations:
    @strawberry.mutation(description="Register this device's X25519 public key (idempotent).")
    async def register_device(self, info: Ctx, device_id: str, public_key: str) -> MyDevices:
        me = await info.context.principal()
        deps = info.context.core.deps
        await app.register_device(
            deps,
            info.context.command,
            user_id=me.user_id,
            device_id=device_id,
            public_key=public_key,
        )
        return _my_devices(await app.devices_of(deps, me.user_id))

    @strawberry.mutation(
        description="Start your notes keyring on this device (once, on your first device)."
    )
    async def create_notes_keyring(self, info: Ctx, wrap: KeyringWrapInput) -> MyDevices:
        me = await info.context.principal()
        deps = info.context.core.deps
        await app.create_keyring(deps, info.context.command, user_id=me.user_id, wrap=_wrap(wrap))
        return _my_devices(await app.devices_of(deps, me.user_id))

    @strawberry.mutation(
        description="A new device asks to be linked, under the pairing id of the phrase shown"
        " on an old one; `proof` is the HMAC that device checks."
    )
    async def request_device_link(
        self, info: Ctx, device_id: str, pairing_id: str, proof: str
    ) -> bool:
        me = await info.context.principal()
        await app.request_link(
            info.context.core.deps,
            info.context.command,
            user_id=me.user_id,
            device_id=device_id,
            pairing_id=pairing_id,
            proof=proof,
        )
        return True

    @strawberry.mutation(
        description="An old device answers a link request with the keyring wrapped for the"
        " new one, and its own proof; `others` gives the devices already linked the same"
        " keyring again (its roster now names the new device)."
    )
    async def answer_device_link(
        self,
        info: Ctx,
        by_device_id: str,
        pairing_id: str,
        version: int,
        wrap: KeyringWrapInput,
        proof: str,
        others: list[KeyringWrapInput] | None = None,
    ) -> MyDevices:
        me = await info.context.principal()
        deps = info.context.core.deps
        if others is not None and len(others) > dv.MAX_DEVICES:
            raise ValidationFailed(f"at most {dv.MAX_DEVICES} wraps", field="others")
        await app.answer_link(
            deps,
            info.context.command,
            user_id=me.user_id,
            by_device_id=by_device_id,
            pairing_id=pairing_id,
            version=version,
            wrap=_wrap(wrap),
            proof=proof,
            others=[_wrap(w) for w in others or []],
        )
        return _my_devices(await app.devices_of(deps, me.user_id))

    @strawberry.mutation(
        description="Unlink a device: the new keyring (`version` = current + 1) wrapped for"
        " each device that remains."
    )
    async def unlink_device(
        self,
        info: Ctx,
        by_device_id: str,
        device_id: str,
        version: int,
        wraps: list[KeyringWrapInput],
    ) -> MyDevices:
        me = await info.context.principal()
        deps = info.context.core.deps
        if len(wraps) > dv.MAX_DEVICES:
            raise ValidationFailed(f"at most {dv.MAX_DEVICES} wraps", field="wraps")
        await app.unlink_device(
            deps,
            info.context.command,
            user_id=me.user_id,
            by_device_id=by_device_id,
            device_id=device_id,
            version=version,
            wraps=[_wrap(w) for w in wraps],
        )
        return _my_devices(await app.devices_of(deps, me.user_id))

    @strawberry.mutation(
        description="Keep the sealed note of one of your check-ins (base64, at most 8 KB)."
    )
    async def seal_note(self, info: Ctx, entry_id: str, ciphertext: str) -> bool:
        me = await info.context.principal()
        await app.seal_note(
            info.context.core.deps,
            info.context.command,
            user_id=me.user_id,
            entry_id=entry_id,
            ciphertext=ciphertext,
        )
        return True
