"""Linking a person's devices, as an attacker on the server would try it: a substituted key or
keyring, a wrong phrase, a forged rotation, a note moved or altered, a replayed or late
request. Each is refused; the honest exchange works."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from hugmood.client.crypto import KdfParams
from hugmood.client.devices import OwnDevices
from hugmood.client.linking import (
    DeviceKey,
    Keyring,
    LinkingError,
    Pairing,
    Wrapped,
    new_phrase,
    normalise_phrase,
    open_note,
    seal_note,
    unwrap_keyring,
    wrap_keyring,
)
from hugmood.client.vault import Vault
from hugmood.domain import devices as dv
from hugmood.domain.errors import Conflict, NotFound, ValidationFailed

USER = "user-1"


def test_the_honest_link_opens_the_keyring_on_the_new_device_only() -> None:
    phrase, keyring, new, other = (
        new_phrase(),
        Keyring.first("laptop", DeviceKey.generate().public),
        DeviceKey.generate(),
        DeviceKey.generate(),
    )
    old_side, new_side = Pairing.from_phrase(phrase), Pairing.from_phrase(phrase.lower())
    assert old_side == new_side  # the id the server routes by, and the key it never sees
    request = new_side.request_proof(USER, "phone", new.public)
    old_side.check(request, old_side.request_proof(USER, "phone", new.public), "request")
    wrapped = wrap_keyring(keyring, recipient_public=new.public, user_id=USER, device_id="phone")
    answer = old_side.answer_proof(USER, "phone", new.public, keyring.version, wrapped)
    new_side.check(answer, new_side.answer_proof(USER, "phone", new.public, 1, wrapped), "answer")
    opened = unwrap_keyring(wrapped, device=new, user_id=USER, device_id="phone", version=1)
    assert opened.keys == keyring.keys
    with pytest.raises(LinkingError):
        unwrap_keyring(wrapped, device=other, user_id=USER, device_id="phone", version=1)
    with pytest.raises(LinkingError):  # the same wrap passed off as another device's
        unwrap_keyring(wrapped, device=new, user_id=USER, device_id="tablet", version=1)


def test_a_server_that_swaps_in_its_own_key_or_keyring_is_caught() -> None:
    phrase, new, server = new_phrase(), DeviceKey.generate(), DeviceKey.generate()
    pairing = Pairing.from_phrase(phrase)
    honest = pairing.request_proof(USER, "phone", new.public)
    # The old device checks the request against the key the server shows it: the server's.
    with pytest.raises(LinkingError, match="tampered"):
        pairing.check(honest, pairing.request_proof(USER, "phone", server.public), "request")
    # The server answers the new device with a keyring of its own, without the phrase's key.
    forged = wrap_keyring(
        Keyring.first("laptop", DeviceKey.generate().public),
        recipient_public=new.public,
        user_id=USER,
        device_id="phone",
    )
    guessed = Pairing.from_phrase(new_phrase()).answer_proof(USER, "phone", new.public, 1, forged)
    with pytest.raises(LinkingError):
        pairing.check(guessed, pairing.answer_proof(USER, "phone", new.public, 1, forged), "answer")


def test_a_rotation_must_keep_every_key_the_device_holds() -> None:
    laptop, phone = DeviceKey.generate().public, DeviceKey.generate().public
    kept = Keyring.first("laptop", laptop).with_device("phone", phone)
    rotated = kept.rotated(without="phone")
    assert rotated.extends(kept) and rotated.devices == {"laptop": laptop}
    assert Keyring.from_bytes(rotated.to_bytes()) == rotated
    forged = Keyring.first("laptop", laptop).rotated(without="phone")
    assert not forged.extends(kept)  # made by someone without our keys
    assert not kept.extends(rotated)


def test_a_sealed_note_opens_only_for_its_entry_and_key() -> None:
    keyring = Keyring.first("laptop", DeviceKey.generate().public)
    sealed = seal_note(keyring, user_id=USER, entry_id="e1", note="tea on the balcony")
    assert (
        open_note(keyring, user_id=USER, entry_id="e1", ciphertext=sealed) == "tea on the balcony"
    )
    for user, entry in ((USER, "e2"), ("user-2", "e1")):
        with pytest.raises(LinkingError, match="another entry"):
            open_note(keyring, user_id=user, entry_id=entry, ciphertext=sealed)
    raw = bytearray(base64.b64decode(sealed))
    raw[-1] ^= 1
    with pytest.raises(LinkingError):
        open_note(keyring, user_id=USER, entry_id="e1", ciphertext=base64.b64encode(raw).decode())
    newer = keyring.rotated(without="phone")
    later = seal_note(newer, user_id=USER, entry_id="e3", note="after")
    with pytest.raises(LinkingError, match="no notes key of version 2"):
        open_note(keyring, user_id=USER, entry_id="e3", ciphertext=later)


def test_phrases_forgive_case_and_look_alikes_but_not_length() -> None:
    assert normalise_phrase("abcd-efgh-jkmn-pq2s") == "ABCDEFGHJKMNPQ2S"
    with pytest.raises(LinkingError, match="16 letters"):
        normalise_phrase("ABCD-EFGH")


def key() -> str:
    return DeviceKey.generate().public


def wrap(device_id: str) -> dv.WrapInput:
    return dv.wrap_input(device_id, key(), base64.b64encode(bytes(60)).decode())


def linked(*device_ids: str) -> dv.Devices:
    state = dv.Devices()
    for n, device_id in enumerate(device_ids):
        for event in dv.decide_register(state, USER, device_id, key(), n):
            state = dv.evolve_devices(state, event)
    for event in dv.decide_first_keyring(state, USER, device_ids[0], wrap(device_ids[0])):
        state = dv.evolve_devices(state, event)
    return state


def test_requests_are_answered_once_while_fresh_and_only_for_who_asked() -> None:
    state = linked("laptop", "phone", "tablet")
    pairing, proof = "ab" * 16, base64.b64encode(bytes(32)).decode()
    for event in dv.decide_request_link(state, USER, "phone", pairing, proof, 1_000):
        state = dv.evolve_devices(state, event)
    with pytest.raises(Conflict, match="used already"):
        dv.decide_request_link(state, USER, "tablet", pairing, proof, 1_001)
    with pytest.raises(NotFound):  # the server routes it to another device: refused
        dv.decide_answer_link(state, USER, "laptop", pairing, 1, wrap("tablet"), proof, 1_002)
    late = 1_000 + dv.LINK_REQUEST_TTL_MS + 1
    with pytest.raises(NotFound, match="ten minutes"):
        dv.decide_answer_link(state, USER, "laptop", pairing, 1, wrap("phone"), proof, late)
    with pytest.raises(Conflict, match="version 1"):
        dv.decide_answer_link(state, USER, "laptop", pairing, 2, wrap("phone"), proof, 1_002)
    for event in dv.decide_answer_link(
        state, USER, "laptop", pairing, 1, wrap("phone"), proof, 1_002
    ):
        state = dv.evolve_devices(state, event)
    assert state.linked == ["laptop", "phone"]
    with pytest.raises(NotFound):  # a replayed answer
        dv.decide_answer_link(state, USER, "laptop", pairing, 1, wrap("phone"), proof, 1_003)


def test_unlinking_rotates_for_exactly_the_devices_that_remain() -> None:
    state = linked("laptop")
    state = dv.Devices(
        state.devices,
        state.version,
        {**state.wraps, "phone": state.wraps["laptop"]},
        state.requests,
    )
    with pytest.raises(Conflict, match="another linked device"):
        dv.decide_unlink(state, USER, "phone", "phone", 2, [wrap("laptop")])
    with pytest.raises(ValidationFailed, match="each device that remains"):
        dv.decide_unlink(state, USER, "laptop", "phone", 2, [wrap("laptop"), wrap("phone")])
    with pytest.raises(Conflict, match="version 2"):
        dv.decide_unlink(state, USER, "laptop", "phone", 3, [wrap("laptop")])
    for event in dv.decide_unlink(state, USER, "laptop", "phone", 2, [wrap("laptop")]):
        state = dv.evolve_devices(state, event)
    assert (state.version, state.linked) == (2, ["laptop"])


def test_bad_keys_and_oversized_inputs_are_refused_by_name() -> None:
    state = linked("laptop")
    with pytest.raises(Conflict, match="another key"):
        dv.decide_register(state, USER, "laptop", key(), 5)
    for bad in ("not base64!", base64.b64encode(bytes(31)).decode(), "A" * 10_000):
        with pytest.raises(ValidationFailed) as refused:
            dv.decide_register(dv.Devices(), USER, "new", bad, 5)
        assert refused.value.field == "publicKey"
    with pytest.raises(ValidationFailed):
        dv.sealed_note(base64.b64encode(bytes(dv.MAX_SEALED_NOTE_BYTES + 1)).decode())
    with pytest.raises(ValidationFailed):
        dv.device_id_of("../../etc")


def test_answering_a_link_regives_the_keyring_only_to_devices_already_linked() -> None:
    state = linked("laptop", "phone", "tablet")
    pairing, proof = "cd" * 16, base64.b64encode(bytes(32)).decode()
    for event in dv.decide_request_link(state, USER, "phone", pairing, proof, 1_000):
        state = dv.evolve_devices(state, event)
    for others in ([wrap("tablet")], [wrap("laptop"), wrap("laptop")]):
        with pytest.raises(ValidationFailed) as refused:
            dv.decide_answer_link(
                state, USER, "laptop", pairing, 1, wrap("phone"), proof, 1_001, others
            )
        assert refused.value.field == "others"


class LyingServer:
    """A server that lists a device of its own as linked when the person unlinks another."""

    def __init__(self, roster: dict[str, str], own: str, wrap_for_me: Wrapped) -> None:
        self.devices = [{"deviceId": d, "publicKey": k, "linked": True} for d, k in roster.items()]
        self.devices.append({"deviceId": "servers-own", "publicKey": own, "linked": True})
        self.wrap_for_me = wrap_for_me
        self.sent: list[str] = []

    async def execute(self, query: str, **variables: object) -> dict[str, object]:
        self.sent.append(query)
        if "myNotesKeyring" in query:
            w = self.wrap_for_me
            return {"myNotesKeyring": {"version": 1, "ephemeralKey": w.ephemeral_key,
                                       "wrapped": w.wrapped, "byDeviceId": "laptop", "proof": None}}  # fmt: skip
        return {"me": {"id": USER}, "myDevices": {"keyringVersion": 1, "devices": self.devices}}


async def test_a_rotation_never_wraps_the_new_key_for_a_device_only_the_server_lists(
    tmp_path: Path,
) -> None:
    laptop, phone, server = DeviceKey.generate(), DeviceKey.generate(), DeviceKey.generate()
    keyring = Keyring.first("laptop", laptop.public).with_device("phone", phone.public)
    mine = wrap_keyring(keyring, recipient_public=laptop.public, user_id=USER, device_id="laptop")
    api = LyingServer(keyring.devices, server.public, mine)
    vault = Vault.create(tmp_path / "v.sqlite", "a passphrase", kdf=KdfParams(1024, 1, 1))
    vault.set_settings(
        {"device_key": laptop.to_text(), "notes_keyring": keyring.to_bytes().decode()}
    )
    own = OwnDevices(vault, "laptop", api)  # type: ignore[arg-type]
    with pytest.raises(LinkingError, match="servers-own"):
        await own.unlink("phone")
    assert not any("unlinkDevice" in q for q in api.sent)
    vault.close()
