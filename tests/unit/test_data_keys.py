"""Per-person data keys and the cipher the event store's mapper uses (issue 16): personal
fields stored only encrypted, bound to their event; erasure by destroying the key; the master
key checked at start and rotated without rewriting anything else."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hugmood.application.eventmapping import PERSONAL_DATA
from hugmood.config import Settings
from hugmood.domain.errors import NotFound
from hugmood.eventstore.envelope import NewEvent, RecordedEvent, record
from hugmood.eventstore.mapper import MappedEventStore, Mapper
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.privacy.keys.cells import PREFIX, SealedCells
from hugmood.privacy.keys.cipher import SEALED, PersonalDataCipher
from hugmood.privacy.keys.datakeys import DataKeyStore
from hugmood.privacy.keys.errors import MasterKeyRefused, SealedDataUnreadable
from hugmood.privacy.keys.master import (
    MASTER_KEY_FILE,
    load_master_key,
    new_master_key_text,
    read_key_file,
)
from hugmood.sql.sealed import Sealed
from hugmood.sql.sqlite import SqliteDatabase

ANN = "user-ann"


def mood(note: str, *, owner: str = ANN) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        event_type="MoodRecorded",
        version=1,
        timestamp=datetime.now(UTC),
        user_id=owner,
        data={
            "entryId": str(uuid.uuid4()),
            "ownerId": owner,
            "moodType": "calm",
            "intensity": 0.5,
            "note": note,
            "contextFactors": {"location": "the park", "tags": ["walk"]},
            "privacy": "friends_only",
            "recordedAtMs": 1,
        },
    )


async def keys_in(path: Path | None, settings: Settings | None = None) -> DataKeyStore:
    master = load_master_key(settings or Settings(data_dir=path or Path("/nonexistent")))
    return await DataKeyStore.open(SqliteDatabase(path and path / "keys.sqlite3"), master)


async def test_personal_fields_are_stored_sealed_and_read_back_in_clear() -> None:
    backend = InMemoryEventStore()
    keys = await keys_in(None, Settings(database_url="memory"))
    store = MappedEventStore(backend, Mapper(cipher=PersonalDataCipher(keys, PERSONAL_DATA)))
    await store.append("mood-1", [mood("a secret walk")])

    [stored] = await backend.read_all()
    assert "note" not in stored.data and "contextFactors" not in stored.data
    assert "secret" not in repr(stored.data) and "the park" not in repr(stored.data)
    assert stored.data["moodType"] == "calm" and stored.data["intensity"] == 0.5  # aggregated on
    [read] = await store.read_all()
    assert read.data["note"] == "a secret walk"
    assert read.data["contextFactors"] == {"location": "the park", "tags": ["walk"]}


async def test_a_sealed_value_moved_to_another_event_or_altered_does_not_open() -> None:
    keys = await keys_in(None, Settings(database_url="memory"))
    cipher = PersonalDataCipher(keys, PERSONAL_DATA)
    [a, b] = await cipher.seal([mood("first"), mood("second")])
    ra = record(a, stream_id="s", stream_version=1, position=1)
    rb = record(b, stream_id="s", stream_version=2, position=2)
    moved = replace(rb, data={**rb.data, SEALED: ra.data[SEALED]})
    with pytest.raises(SealedDataUnreadable, match=str(rb.event_id)):
        await cipher.open([moved])
    flipped = (
        ra.data[SEALED][:-6] + ("A" if ra.data[SEALED][-6] != "A" else "B") + ra.data[SEALED][-5:]
    )
    with pytest.raises(SealedDataUnreadable):
        await cipher.open([replace(ra, data={**ra.data, SEALED: flipped})])


async def test_erasure_leaves_only_the_erased_values_and_refuses_new_writes(tmp_path: Path) -> None:
    keys = await keys_in(tmp_path)
    cipher = PersonalDataCipher(keys, PERSONAL_DATA)
    [sealed] = await cipher.seal([mood("mine")])
    recorded = record(sealed, stream_id="s", stream_version=1, position=1)
    await keys.destroy(ANN)

    # A process that starts afresh (no cache) reads the erased values too.
    fresh = PersonalDataCipher(await keys_in(tmp_path), PERSONAL_DATA)
    [opened] = await fresh.open([recorded])
    assert opened.data["note"] is None and opened.data["contextFactors"] == {}
    with pytest.raises(NotFound, match="erased"):
        await fresh.seal([mood("again")])


async def test_whoever_reads_an_erasure_from_the_log_destroys_the_key(tmp_path: Path) -> None:
    keys = await keys_in(tmp_path)
    cipher = PersonalDataCipher(keys, PERSONAL_DATA)
    [sealed] = await cipher.seal([mood("mine")])
    erased = RecordedEvent(
        event_id=uuid.uuid4(),
        event_type="UserErased",
        version=1,
        timestamp=datetime.now(UTC),
        user_id=ANN,
        data={"userId": ANN, "handle": "ann"},
        metadata={},
        stream_id="user-ann",
        stream_version=2,
        position=2,
    )
    mine = record(sealed, stream_id="s", stream_version=1, position=1)
    other = PersonalDataCipher(await keys_in(tmp_path), PERSONAL_DATA)
    await other.open([erased])  # e.g. the process that erased died before destroying the key
    later = PersonalDataCipher(await keys_in(tmp_path), PERSONAL_DATA)
    assert (await later.open([mine]))[0].data["note"] is None
    # A process that had the key cached drops it as soon as it reads the erasure.
    assert (await cipher.open([erased, mine]))[1].data["note"] is None


async def test_the_master_key_is_checked_at_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    await keys_in(tmp_path)
    key_file = tmp_path / MASTER_KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600

    key_file.chmod(0o644)
    with pytest.raises(MasterKeyRefused, match="chmod 600"):
        load_master_key(settings)
    key_file.chmod(0o600)

    saved = key_file.read_text()
    key_file.unlink()
    with pytest.raises(MasterKeyRefused, match="missing"):
        await keys_in(tmp_path)
    assert not key_file.exists()  # no new key was left over the existing data

    wrong = replace(settings, master_key=new_master_key_text())
    with pytest.raises(MasterKeyRefused, match="not the one"):
        await keys_in(tmp_path, wrong)
    with pytest.raises(MasterKeyRefused, match="32 random bytes"):
        load_master_key(replace(settings, master_key="too-short"))
    with pytest.raises(MasterKeyRefused, match="production"):
        load_master_key(replace(settings, env="production", database_url="postgresql://x/y"))

    key_file.write_text(saved)
    key_file.chmod(0o600)
    await keys_in(tmp_path)


async def test_rotating_the_master_key_keeps_every_entry_readable(tmp_path: Path) -> None:
    keys = await keys_in(tmp_path)
    cipher = PersonalDataCipher(keys, PERSONAL_DATA)
    sealed = await cipher.seal([mood("one", owner="a"), mood("two", owner="b")])
    new_text = new_master_key_text()
    new_settings = Settings(data_dir=tmp_path, master_key=new_text)
    assert await keys.rotate(load_master_key(new_settings)) == 2

    with pytest.raises(MasterKeyRefused):
        await keys_in(tmp_path)  # the old key file no longer opens the store
    rotated = PersonalDataCipher(await keys_in(tmp_path, new_settings), PERSONAL_DATA)
    opened = await rotated.open(
        [record(e, stream_id="s", stream_version=i, position=i) for i, e in enumerate(sealed, 1)]
    )
    assert [e.data["note"] for e in opened] == ["one", "two"]
    assert read_key_file(tmp_path / MASTER_KEY_FILE).key != load_master_key(new_settings).key


async def test_read_model_cells_are_sealed_and_text_that_looks_like_one_is_left_alone() -> None:
    keys = await keys_in(None, Settings(database_url="memory"))
    cells = SealedCells(keys)
    [(_, (sealed, plain, empty))] = await cells.seal_cells(
        [("INSERT", (Sealed(ANN, "a quiet evening"), "hm1:user-ann:AAAA", Sealed(ANN, None)))]
    )
    assert "quiet" not in sealed and sealed.startswith(PREFIX)
    assert empty is None
    # Nobody can type the prefix's control character, and text without it is never opened.
    [row] = await cells.open_cells([(sealed, plain, empty)])
    assert row == ("a quiet evening", "hm1:user-ann:AAAA", None)
    await keys.destroy(ANN)
    [row] = await cells.open_cells([(sealed, plain, empty)])
    assert row == ("", "hm1:user-ann:AAAA", None)
