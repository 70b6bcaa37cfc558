"""The audit trail of regional rules: at start-up, a region whose policy differs from the one
last recorded gets a `RegionPolicyChanged` event in its store (`hugmood policy history`)."""

from __future__ import annotations

from datetime import datetime

from hugmood.application.eventmapping import CommandContext, from_recorded, to_new_event
from hugmood.domain.regions import RegionPolicyChanged, policy_stream
from hugmood.eventstore.store import ConcurrencyError, EventStore
from hugmood.regions.files import RulesFileError
from hugmood.regions.policy import RegionPolicy, changed_keys

AUDIT_CONTEXT = CommandContext(device_id="policy-audit")


async def policy_history(
    store: EventStore, region: str
) -> list[tuple[datetime, RegionPolicyChanged]]:
    """Every recorded change of `region`'s rules, oldest first, with when it was recorded."""
    found = []
    for recorded in await store.read_stream(policy_stream(region)):
        event = from_recorded(recorded)
        if isinstance(event, RegionPolicyChanged):
            found.append((recorded.timestamp, event))
    return found


async def record_policy_change(
    store: EventStore, policy: RegionPolicy, now: datetime
) -> RegionPolicyChanged | None:
    """Append `RegionPolicyChanged` if `policy` is not the one last recorded (None if it is).
    A changed rule under an unchanged version, or a version going back, stops start-up:
    each version names one set of rules in the audit trail."""
    while True:
        history = await policy_history(store, policy.region)
        last = history[-1][1] if history else None
        if last is not None and last.digest == policy.digest:
            return None
        if last is not None and policy.version <= last.version:
            raise RulesFileError(
                policy.source,
                "version",
                f"the rules differ from version {last.version} as recorded "
                f"({', '.join(changed_keys(last.rules, policy.declared)) or 'no rule'} changed): "
                f"raise version above {last.version}",
            )
        event = RegionPolicyChanged(
            region=policy.region,
            version=policy.version,
            digest=policy.digest,
            changed_keys=tuple(changed_keys(last.rules if last else {}, policy.declared)),
            rules=dict(policy.declared),
            source=policy.source,
        )
        new = to_new_event(event, user_id=None, context=AUDIT_CONTEXT, now=now)
        try:
            await store.append(policy_stream(policy.region), [new], expected_version=len(history))
        except ConcurrencyError:
            continue  # another process recorded at the same moment: look again
        return event
