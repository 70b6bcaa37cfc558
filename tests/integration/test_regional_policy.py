"""The regional policy in a running core: a sign-up's country decides its home region, the
age gates follow the person's country's rule and name it, old accounts read as their
region's default country, and every change of a region's rules is an audited event."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hugmood.application.age import AgeGate, record_age_verified
from hugmood.application.eventmapping import CommandContext
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.domain.errors import Forbidden, ValidationFailed
from hugmood.domain.regions import PUBLIC_PROFILE, RegionPolicyChanged
from hugmood.eventstore.envelope import NewEvent
from hugmood.regions.audit import policy_history
from hugmood.regions.files import RulesFileError
from hugmood.regions.policy import SHIPPED_DIR, load_policies
from tests.conftest import unique

PASSWORD = "a good password"
CONTEXT = CommandContext(device_id="test")


async def sign_up(
    core: HugMood, prefix: str, country: str | None, region: str | None = None
) -> idm.Account:
    handle = unique(prefix)
    await core.bus.handle(idm.RegisterUser(handle, prefix, PASSWORD, region, None, country))
    stream = idm.user_stream(idm.user_id_for(handle))
    events = await core.store.read_stream(stream)
    account = None
    for event in events:
        if event.event_type == "UserRegistered":
            account = idm.evolve_account(None, idm.UserRegistered.from_data(event.data))
    assert account is not None
    return account


async def test_the_country_decides_the_home_region(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        de = await sign_up(core, "de", "de")
        assert (de.country, de.home_region) == ("DE", "eu-west")
        us = await sign_up(core, "us", "US")
        assert (us.country, us.home_region) == ("US", "us-east")
        # Nothing said: the server's default country; a region alone: its default country.
        nobody = await sign_up(core, "none", None)
        assert (nobody.country, nobody.home_region) == (settings.default_country, "eu-west")
        old_client = await sign_up(core, "old", None, "us-east")
        assert (old_client.country, old_client.home_region) == ("US", "us-east")
        for country, region, field in (
            ("JP", None, "country"),
            ("ZZ", None, "country"),
            ("DE", "us-east", "homeRegion"),
        ):
            with pytest.raises(ValidationFailed) as refused:
                await sign_up(core, "bad", country, region)
            assert refused.value.field == field
    # Country and region are in clear (the server filters on them), never sealed.
    personal = idm.UserRegistered.PERSONAL
    assert personal is not None
    assert {"country", "homeRegion"}.isdisjoint(personal.erased)


async def test_age_gates_follow_the_country_and_name_the_rule(settings: Settings) -> None:
    rules = load_policies()
    de_needs = rules.age_required("DE", "eu-west", PUBLIC_PROFILE).threshold
    us_needs = rules.age_required("US", "us-east", PUBLIC_PROFILE).threshold
    async with open_hugmood(replace(settings, age_rules=True)) as core:
        de = await sign_up(core, "de", "DE")
        us = await sign_up(core, "us", "US")
        for person in (de, us):
            await record_age_verified(
                core.deps, CONTEXT, user_id=person.user_id, threshold=15, issuer="test"
            )
        for person, needs in ((de, de_needs), (us, us_needs)):
            gate = AgeGate(core.deps, person.user_id)
            rule = await gate.rule_for(PUBLIC_PROFILE)
            assert (rule.threshold, rule.rule) == (needs, f"{person.country}.age.public_profile")
            if needs <= 15:
                await gate.require(PUBLIC_PROFILE)
            else:
                with pytest.raises(Forbidden) as refused:
                    await gate.require(PUBLIC_PROFILE)
                assert refused.value.rule == rule.rule
                assert f"verified age of {needs}" in refused.value.message


async def test_the_operators_minimum_applies_on_top_and_names_itself(settings: Settings) -> None:
    async with open_hugmood(replace(settings, age_rules=True, age_required=18)) as core:
        us = await sign_up(core, "us", "US")
        rule = await AgeGate(core.deps, us.user_id).rule_for(PUBLIC_PROFILE)
        assert (rule.threshold, rule.rule) == (18, "operator.age_required")
    async with open_hugmood(replace(settings, age_rules=False)) as core:
        us = await sign_up(core, "us", "US")
        rule = await AgeGate(core.deps, us.user_id).rule_for(PUBLIC_PROFILE)
        assert rule.threshold == 0  # development default: no age gates


async def test_an_account_from_before_countries_reads_as_its_regions_default(
    settings: Settings,
) -> None:
    async with open_hugmood(replace(settings, age_rules=True)) as core:
        handle = unique("early")
        user_id = idm.user_id_for(handle)
        old = {  # as written before the country was recorded
            "userId": user_id,
            "handle": handle,
            "displayName": "Early",
            "homeRegion": "us-east",
            "passwordHash": "",
        }
        await core.store.append(
            idm.user_stream(user_id),
            [NewEvent(uuid.uuid4(), "UserRegistered", 1, datetime.now(UTC), user_id, old, {})],
        )
        rule = await AgeGate(core.deps, user_id).rule_for(PUBLIC_PROFILE)
        assert rule.rule == "US.age.public_profile"


def policies_in(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    shutil.copy(SHIPPED_DIR / "eu-west.toml", folder / "eu-west.toml")
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


async def history(settings: Settings) -> list[RegionPolicyChanged]:
    async with open_hugmood(settings, run_services=False) as core:
        return [change for _, change in await policy_history(core.store, "eu-west")]


async def test_every_change_of_the_rules_is_recorded_once(
    durable_settings: Settings, tmp_path: Path
) -> None:
    folder = policies_in(tmp_path / "policies")
    settings = replace(durable_settings, policy_dir=str(folder))
    async with open_hugmood(settings):
        pass
    (first,) = await history(settings)
    assert first.version == 2 and "countries.DE.digital_consent_age" in first.changed_keys
    assert first.rules["countries.DE.digital_consent_age"] == 16

    async with open_hugmood(settings):  # the same rules again: nothing new
        pass
    assert len(await history(settings)) == 1

    rules = folder / "eu-west.toml"
    edit(rules, "version = 2", "version = 3")
    edit(
        rules,
        "[countries.DE]\ndigital_consent_age = 16",
        "[countries.DE]\ndigital_consent_age = 15",
    )
    async with open_hugmood(settings):
        pass
    changes = await history(settings)
    assert [c.version for c in changes] == [2, 3]
    assert changes[1].changed_keys == ("countries.DE.digital_consent_age",)
    assert changes[1].digest != changes[0].digest

    # A rule changed under the same version is refused: each version names one rule set.
    edit(
        rules,
        "[countries.DE]\ndigital_consent_age = 15",
        "[countries.DE]\ndigital_consent_age = 14",
    )
    with pytest.raises(RulesFileError) as refused:
        async with open_hugmood(settings):
            pass
    assert refused.value.key == "version" and "countries.DE.digital_consent_age" in str(
        refused.value
    )
    assert len(await history(settings)) == 2


async def test_start_up_stops_on_an_unknown_region_or_a_malformed_file(
    settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(RulesFileError, match="HUGMOOD_REGION: 'mars-north' is not a region"):
        async with open_hugmood(replace(settings, region="mars-north")):
            pass
    folder = policies_in(tmp_path / "broken")
    edit(folder / "eu-west.toml", 'note = "never"', 'note = "whenever"')
    with pytest.raises(RulesFileError, match=r"eu-west.toml: egress.note: must be one of"):
        async with open_hugmood(replace(settings, policy_dir=str(folder))):
            pass
