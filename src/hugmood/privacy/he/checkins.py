"""Sealed check-ins: register a key, store ciphertexts, sum history (the use cases, on the
application's store and read models; HTTP reaches them through `entrypoints/http/sealed.py`).

The history is computed on ciphertexts (`privacy.he.history`): the server adds and packs,
the device decrypts. The sums are CPU work (gmpy2 holds the GIL), so they run in the
process pool the caller gives, never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from concurrent.futures import Executor
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.queries.moods import MAX_RANGE
from hugmood.application.streams import load
from hugmood.domain.common import canonical_id
from hugmood.domain.errors import NotFound, ValidationFailed
from hugmood.domain.history import Aggregation
from hugmood.domain.moods import check_recorded_at
from hugmood.domain.sealed import (
    SealedMoodRecorded,
    SealedState,
    SealingKeyRegistered,
    evolve_sealed,
    sealed_stream,
)
from hugmood.ids import EntryId, UserId
from hugmood.privacy.he.ciphertexts import from_wire
from hugmood.privacy.he.errors import HomomorphicError
from hugmood.privacy.he.history import SealedHistory, compute_sealed_history
from hugmood.privacy.he.keys import PublicKey, fingerprint, public_key_from_json

NO_KEY = "sealed mode is not set up: register your public key first (hugmood sealed enable)"


async def _state(deps: Dependencies, user_id: UserId) -> SealedState:
    return (await load(deps.store, sealed_stream(user_id), SealedState(), evolve_sealed)).state


def _public_key(state: SealedState) -> PublicKey:
    if state.modulus_hex is None:
        raise NotFound(NO_KEY, field="key")
    return public_key_from_json({"n": state.modulus_hex})


async def register_key(
    deps: Dependencies, context: CommandContext, *, user_id: UserId, public_key: Any
) -> str:
    """Register (or replace) the person's sealing key; its fingerprint."""
    try:
        key = public_key_from_json(public_key)
    except HomomorphicError as e:
        raise ValidationFailed(str(e), field="publicKey") from e
    key_id = fingerprint(key)
    event = SealingKeyRegistered(user_id, key_id, format(key.n, "x"))
    new = to_new_event(event, user_id=user_id, context=context, now=deps.clock.now())
    await deps.store.append(sealed_stream(user_id), [new])
    return key_id


async def record_sealed(
    deps: Dependencies,
    context: CommandContext,
    *,
    user_id: UserId,
    entry_id: EntryId,
    ciphertext: Any,
    recorded_at: datetime,
) -> bool:
    """Store one sealed check-in (idempotent by its device-chosen id); False if a retry."""
    entry_id = canonical_id(entry_id)
    now = deps.clock.now()
    recorded_at = check_recorded_at(recorded_at, now)
    key = _public_key(await _state(deps, user_id))
    try:
        checked = from_wire(key, ciphertext)
    except HomomorphicError as e:
        raise ValidationFailed(str(e), field="ciphertext") from e
    event = SealedMoodRecorded(
        entry_id,
        user_id,
        checked.key_id,
        ciphertext["c"],
        int(recorded_at.timestamp() * 1000),
    )
    new = to_new_event(
        event, user_id=user_id, context=context, now=now, event_id=uuid.UUID(entry_id)
    )
    result = await deps.store.append(sealed_stream(user_id), [new])
    return not result.duplicate


async def sealed_history(
    deps: Dependencies,
    executor: Executor,
    *,
    user_id: UserId,
    start: datetime,
    end: datetime,
    aggregation: Aggregation,
    zone: ZoneInfo,
) -> SealedHistory:
    """Bucket sums of the person's sealed check-ins in [start, end), still encrypted."""
    if end <= start:
        raise ValidationFailed("the range must end after it starts", field="to")
    if end - start > MAX_RANGE:
        raise ValidationFailed("the range may span at most three years", field="to")
    if aggregation is Aggregation.NONE:
        raise ValidationFailed("sealed history comes per DAY, WEEK or MONTH", field="aggregation")
    state = await _state(deps, user_id)
    key = _public_key(state)
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    # Entries under an earlier key cannot be added to the current key's: they are left out.
    entries = [
        (at, int.from_bytes(base64.b64decode(c), "big"))
        for at, key_id, c in state.entries
        if key_id == state.key_id and start_ms <= at < end_ms
    ]
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        executor, compute_sealed_history, key, entries, aggregation, zone
    )
