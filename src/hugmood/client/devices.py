"""The SDK side of notes shared between a person's own devices (`client.linking` has the
cryptography): start the keyring, link a device with a pairing phrase, unlink one (rotating
the keyring), and exchange sealed notes on every sync.

The vault keeps this device's X25519 private key (`device_key`), the keyring (`notes_keyring`),
the download cursor (`notes_cursor`) and which entries' notes are sealed on the server
(`sealed_note_ids`): all sealed at rest like every other setting.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from hugmood.client.api import JSON, AsyncHugMoodClient
from hugmood.client.errors import InvalidInput
from hugmood.client.linking import (
    DeviceKey,
    Keyring,
    LinkingError,
    Pairing,
    Wrapped,
    new_phrase,
    open_note,
    seal_note,
    unwrap_keyring,
    wrap_keyring,
)
from hugmood.client.vault import Vault

LINK_WAIT_S = 600.0
"""How long either side waits for the other: a server's link request lasts ten minutes."""
POLL_S = 0.5
NOTES_PAGE = 200

MY_DEVICES = (
    "query { me { id } myDevices { keyringVersion devices { deviceId publicKey linked unlinked"
    " registeredAt } } }"
)
REGISTER = (
    "mutation($d: String!, $k: String!) { registerDevice(deviceId: $d, publicKey: $k)"
    " { keyringVersion } }"
)
CREATE = "mutation($w: KeyringWrapInput!) { createNotesKeyring(wrap: $w) { keyringVersion } }"
KEYRING = (
    "query($d: String!) { myNotesKeyring(deviceId: $d) { version ephemeralKey wrapped"
    " byDeviceId proof } }"
)
REQUEST = (
    "mutation($d: String!, $p: String!, $m: String!) { requestDeviceLink(deviceId: $d,"
    " pairingId: $p, proof: $m) }"
)
LINK_REQUEST = (
    "query($p: String!) { deviceLinkRequest(pairingId: $p) { deviceId publicKey proof } }"
)
ANSWER = (
    "mutation($b: String!, $p: String!, $v: Int!, $w: KeyringWrapInput!, $m: String!,"
    " $o: [KeyringWrapInput!]!) { answerDeviceLink(byDeviceId: $b, pairingId: $p, version: $v,"
    " wrap: $w, proof: $m, others: $o) { keyringVersion } }"
)
UNLINK = (
    "mutation($b: String!, $d: String!, $v: Int!, $w: [KeyringWrapInput!]!) {"
    " unlinkDevice(byDeviceId: $b, deviceId: $d, version: $v, wraps: $w) { keyringVersion } }"
)
SEAL = "mutation($e: String!, $c: String!) { sealNote(entryId: $e, ciphertext: $c) }"
NOTES = (
    "query($a: Int!, $l: Int!) { sealedNotes(after: $a, limit: $l) { notes { entryId"
    " ciphertext } cursor hasMore } }"
)


@dataclass(slots=True)
class NotesReport:
    sealed: int = 0
    """This device's notes now on the server as ciphertext."""
    opened: int = 0
    """Notes from other devices opened and kept in this vault."""
    unreadable: int = 0
    """Notes sealed under a key this device does not hold (written after it was unlinked)."""


class OwnDevices:
    """This device's part in sharing notes: its vault, its id, and the server's API."""

    def __init__(self, vault: Vault, device_id: str, api: AsyncHugMoodClient) -> None:
        self.vault = vault
        self.device_id = device_id
        self.api = api
        self.linked = False
        """Whether the server holds a keyring for this device (as of the last refresh)."""

    # --- local state ---------------------------------------------------------------------------

    def key(self) -> DeviceKey:
        text = self.vault.setting("device_key")
        if text is None:
            key = DeviceKey.generate()
            self.vault.set_settings({"device_key": key.to_text()})
            return key
        return DeviceKey.from_text(text)

    def keyring(self) -> Keyring | None:
        text = self.vault.setting("notes_keyring")
        return Keyring.from_bytes(text.encode()) if text else None

    def _keep(self, keyring: Keyring) -> None:
        self.vault.set_settings({"notes_keyring": keyring.to_bytes().decode()})

    # --- server state --------------------------------------------------------------------------

    async def state(self) -> tuple[str, JSON]:
        data = await self.api.execute(MY_DEVICES)
        user_id: str = data["me"]["id"]
        return user_id, data["myDevices"]

    async def register(self) -> tuple[str, JSON]:
        await self.api.execute(REGISTER, d=self.device_id, k=self.key().public)
        return await self.state()

    async def _wrap_of(self, device_id: str) -> JSON | None:
        found: JSON | None = (await self.api.execute(KEYRING, d=device_id))["myNotesKeyring"]
        return found

    # --- start, link, unlink -------------------------------------------------------------------

    async def start(self) -> Keyring:
        """Make this the first device that shares notes (refused if one already does)."""
        user_id, devices = await self.register()
        if devices["keyringVersion"]:
            raise InvalidInput(
                "another of your devices shares notes already: run `hugmood devices link`"
                " there and `hugmood devices join PHRASE` here"
            )
        keyring = Keyring.first(self.device_id, self.key().public)
        wrapped = wrap_keyring(
            keyring, recipient_public=self.key().public, user_id=user_id, device_id=self.device_id
        )
        await self.api.execute(CREATE, w=_wrap_input(self.device_id, wrapped))
        self._keep(keyring)
        return keyring

    async def offer_link(self, show: Callable[[str], None], *, wait_s: float = LINK_WAIT_S) -> str:
        """Show a phrase, wait for the new device's request, check it, answer it; the new
        device's id."""
        keyring = await self.refreshed_keyring()
        if keyring is None:
            raise InvalidInput("this device does not share notes yet: `hugmood devices init`")
        user_id, _ = await self.state()
        phrase = new_phrase()
        pairing = Pairing.from_phrase(phrase)
        show(phrase)
        request = await _until(
            lambda: self._request(pairing.pairing_id), wait_s, "no device asked to be linked"
        )
        device_id, public_key = str(request["deviceId"]), str(request["publicKey"])
        expected = pairing.request_proof(user_id, device_id, public_key)
        pairing.check(str(request["proof"]), expected, "new device's request")
        grown = keyring.with_device(device_id, public_key)
        wrapped = wrap_keyring(
            grown, recipient_public=public_key, user_id=user_id, device_id=device_id
        )
        proof = pairing.answer_proof(user_id, device_id, public_key, grown.version, wrapped)
        # The devices already linked get the grown roster too, each under its roster key.
        linked = await self._linked_ids()
        others = [
            _wrap_input(d, wrap_keyring(grown, recipient_public=k, user_id=user_id, device_id=d))
            for d, k in sorted(keyring.devices.items())
            if d in linked
        ]
        await self.api.execute(
            ANSWER,
            b=self.device_id,
            p=pairing.pairing_id,
            v=grown.version,
            w=_wrap_input(device_id, wrapped),
            m=proof,
            o=others,
        )
        self._keep(grown)
        return device_id

    async def _linked_ids(self) -> set[str]:
        _, devices = await self.state()
        return {str(d["deviceId"]) for d in devices["devices"] if d["linked"]}

    async def _request(self, pairing_id: str) -> JSON | None:
        found: JSON | None = (await self.api.execute(LINK_REQUEST, p=pairing_id))[
            "deviceLinkRequest"
        ]
        return found

    async def join(self, phrase: str, *, wait_s: float = LINK_WAIT_S) -> Keyring:
        """Ask to be linked under the phrase shown on another device; wait for its answer."""
        pairing = Pairing.from_phrase(phrase)
        user_id, _ = await self.register()
        public_key = self.key().public
        proof = pairing.request_proof(user_id, self.device_id, public_key)
        await self.api.execute(REQUEST, d=self.device_id, p=pairing.pairing_id, m=proof)
        answer = await _until(
            lambda: self._wrap_of(self.device_id), wait_s, "the other device did not answer"
        )
        wrapped = Wrapped(str(answer["ephemeralKey"]), str(answer["wrapped"]))
        version = int(answer["version"])
        expected = pairing.answer_proof(user_id, self.device_id, public_key, version, wrapped)
        pairing.check(str(answer.get("proof") or ""), expected, "keyring's answer")
        keyring = unwrap_keyring(
            wrapped, device=self.key(), user_id=user_id, device_id=self.device_id, version=version
        )
        self._keep(keyring)
        return keyring

    async def unlink(self, device_id: str) -> list[str]:
        """Unlink `device_id`: a new notes key, wrapped for each device that remains (their
        ids). Notes written afterwards are sealed with it; the unlinked device never gets it."""
        keyring = await self.refreshed_keyring()
        if keyring is None:
            raise InvalidInput("this device does not share notes: it cannot unlink others")
        user_id, devices = await self.state()
        listed = {d["deviceId"]: d for d in devices["devices"]}
        if device_id not in listed or not listed[device_id]["linked"]:
            raise InvalidInput(f"no linked device {device_id!r} (see `hugmood devices list`)")
        if device_id == self.device_id:
            raise InvalidInput("unlink this device from another of your devices")
        linked = {d for d, v in listed.items() if v["linked"]} - {device_id}
        unknown = sorted(linked - set(keyring.devices))
        if unknown:
            raise LinkingError(
                f"the server lists {', '.join(unknown)} as linked, but no device of yours"
                " linked it with a phrase: refusing to share the new notes key with it"
            )
        rotated = keyring.rotated(without=device_id)
        remaining = sorted(linked)
        # Wrapped under the roster's keys, checked at link time, not the keys the server lists.
        wraps = [
            _wrap_input(
                d,
                wrap_keyring(
                    rotated, recipient_public=rotated.devices[d], user_id=user_id, device_id=d
                ),
            )
            for d in remaining
        ]
        await self.api.execute(UNLINK, b=self.device_id, d=device_id, v=rotated.version, w=wraps)
        self._keep(rotated)
        return remaining

    async def refreshed_keyring(self) -> Keyring | None:
        """The keyring the server holds for this device, if it keeps every key of the one
        kept (a rotation, or a roster grown by a link); else the one kept (None: this device
        shares no notes)."""
        kept = self.keyring()
        if kept is None:
            return None
        found = await self._wrap_of(self.device_id)
        self.linked = found is not None
        if found is None or int(found["version"]) < kept.version:
            return kept
        user_id, _ = await self.state()
        wrapped = Wrapped(str(found["ephemeralKey"]), str(found["wrapped"]))
        newer = unwrap_keyring(
            wrapped,
            device=self.key(),
            user_id=user_id,
            device_id=self.device_id,
            version=int(found["version"]),
        )
        if not newer.extends(kept):
            raise LinkingError(
                "the server offered a keyring that lacks keys this device holds: refused"
            )
        if newer != kept:
            self._keep(newer)
        return newer

    # --- notes on sync -------------------------------------------------------------------------

    async def exchange_notes(self) -> NotesReport:
        """Seal and upload this device's notes not yet on the server; download and open the
        others'. Does nothing on a device that shares no notes."""
        report = NotesReport()
        keyring = await self.refreshed_keyring()
        if keyring is None:
            return report
        user_id, _ = await self.state()
        sealed_ids: set[str] = set(json.loads(self.vault.setting("sealed_note_ids") or "[]"))
        entries = {e.entry_id: e for e in self.vault.entries()}
        # An unlinked device still reads what it can, but shares nothing more.
        for entry in entries.values() if self.linked else ():
            if entry.note and entry.status == "synced" and entry.entry_id not in sealed_ids:
                text = seal_note(keyring, user_id=user_id, entry_id=entry.entry_id, note=entry.note)
                await self.api.execute(SEAL, e=entry.entry_id, c=text)
                sealed_ids.add(entry.entry_id)
                report.sealed += 1
        self.vault.set_settings({"sealed_note_ids": json.dumps(sorted(sealed_ids))})
        # Notes whose check-in has not reached this device yet wait here for the next sync.
        waiting: dict[str, str] = json.loads(self.vault.setting("notes_waiting") or "{}")
        cursor = int(self.vault.setting("notes_cursor") or 0)
        while True:
            page = (await self.api.execute(NOTES, a=cursor, l=NOTES_PAGE))["sealedNotes"]
            waiting.update({str(n["entryId"]): str(n["ciphertext"]) for n in page["notes"]})
            opened = []
            for entry_id, ciphertext in list(waiting.items()):
                local = entries.get(entry_id)
                if local is None:
                    continue
                del waiting[entry_id]
                try:
                    text = open_note(
                        keyring, user_id=user_id, entry_id=entry_id, ciphertext=ciphertext
                    )
                except LinkingError:
                    report.unreadable += 1
                    continue
                sealed_ids.add(entry_id)
                if text != local.note:
                    opened.append(replace(local, note=text))
                    entries[entry_id] = opened[-1]
            if opened:
                self.vault.merge_downloaded(opened, [])
                report.opened += len(opened)
            cursor = int(page["cursor"])
            self.vault.set_settings(
                {
                    "notes_cursor": str(cursor),
                    "sealed_note_ids": json.dumps(sorted(sealed_ids)),
                    "notes_waiting": json.dumps(waiting),
                }
            )
            if not page["hasMore"]:
                return report


def _wrap_input(device_id: str, wrapped: Wrapped) -> dict[str, Any]:
    return {
        "deviceId": device_id,
        "ephemeralKey": wrapped.ephemeral_key,
        "wrapped": wrapped.wrapped,
    }


async def _until(ask: Callable[[], Any], wait_s: float, what: str) -> JSON:
    deadline = time.monotonic() + wait_s
    while True:
        found = await ask()
        if found is not None:
            result: JSON = found
            return result
        if time.monotonic() > deadline:
            raise InvalidInput(f"{what} within {wait_s:.0f} s; start again")
        await asyncio.sleep(POLL_S)
