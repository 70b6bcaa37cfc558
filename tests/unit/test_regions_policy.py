"""The regional policy files: the shipped ones load and say what the law says; every kind
of malformed file stops start-up with a message naming the file, the key and the problem."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from hugmood.domain.errors import ValidationFailed
from hugmood.domain.regions import COMMUNITY, PUBLIC_CHECK_IN, PUBLIC_PROFILE, Participation
from hugmood.privacy.zk.credentials import THRESHOLDS
from hugmood.regions.files import RulesFileError
from hugmood.regions.geography import SHIPPED, home_region, load_geography, shipped_geography
from hugmood.regions.policy import (
    PROVABLE_AGES,
    SHIPPED_DIR,
    Egress,
    changed_keys,
    load_policies,
    may_leave,
    shipped_policies,
)


def test_home_regions_follow_the_country() -> None:
    assert home_region("DE") == "eu-west"
    assert home_region("nl") == "eu-west"
    assert home_region(" us ") == "us-east"
    with pytest.raises(ValidationFailed, match="no region for JP") as e:
        home_region("JP")
    assert e.value.field == "country"
    with pytest.raises(ValidationFailed, match="not an ISO 3166-1 alpha-2"):
        home_region("XX")


def test_a_sign_up_naming_only_a_region_or_nothing_gets_a_default_country() -> None:
    geography = shipped_geography()
    assert geography.home("fr", None, "IE") == ("FR", "eu-west")
    assert geography.home(None, "us-east", "IE") == ("US", "us-east")
    assert geography.home(None, None, "IE") == ("IE", "eu-west")
    assert geography.home("DE", "eu-west", "IE") == ("DE", "eu-west")
    with pytest.raises(ValidationFailed, match="keep their data in eu-west, not us-east"):
        geography.home("DE", "us-east", "IE")
    with pytest.raises(ValidationFailed, match="homeRegion must be one of"):
        geography.home(None, "mars-north", "IE")


def test_the_shipped_rules_give_each_country_its_age_of_digital_consent() -> None:
    policies = shipped_policies()
    assert policies.age_required("DE", "eu-west", PUBLIC_PROFILE).threshold == 16
    assert policies.age_required("NL", "eu-west", PUBLIC_CHECK_IN).threshold == 16
    assert policies.age_required("AT", "eu-west", PUBLIC_PROFILE).threshold == 14
    assert policies.age_required("FR", "eu-west", PUBLIC_PROFILE).threshold == 15
    assert policies.age_required("GB", "eu-west", PUBLIC_PROFILE).threshold == 13
    us = policies.age_required("US", "us-east", PUBLIC_PROFILE)
    assert (us.threshold, us.rule) == (13, "US.age.public_profile")
    # An account from before countries were asked reads as its region's default country.
    assert policies.age_required("", "us-east", COMMUNITY).rule == "US.age.community"
    assert policies.age_required("", "eu-west", COMMUNITY).rule == "IE.age.community"
    assert policies.participation("DE", "eu-west", "learning") is Participation.OPT_IN
    assert policies.retention_days("DE", "eu-west") == 0


def test_what_may_leave_a_region_is_a_table() -> None:
    note = may_leave("eu-west", "note")
    assert (note.may_leave, note.form, note.rule) == (False, Egress.NEVER, "eu-west.egress.note")
    assert may_leave("eu-west", "hug_message").form is Egress.READ_THROUGH
    assert may_leave("eu-west", "hug").form is Egress.RECIPIENT_INBOX
    with pytest.raises(KeyError, match="unknown data kind"):
        may_leave("eu-west", "diary")


def test_every_threshold_a_policy_may_use_is_one_a_credential_can_prove() -> None:
    assert set(PROVABLE_AGES) == set(THRESHOLDS)


def test_the_digest_follows_the_rules_not_the_comments(tmp_path: Path) -> None:
    shutil.copy(SHIPPED_DIR / "eu-west.toml", tmp_path / "eu-west.toml")
    before = load_policies(tmp_path).policy("eu-west")
    path = tmp_path / "eu-west.toml"
    path.write_text("# a new comment\n" + path.read_text())
    assert load_policies(tmp_path).policy("eu-west").digest == before.digest
    path.write_text(
        path.read_text().replace(
            "[countries.DE]\ndigital_consent_age = 16", "[countries.DE]\ndigital_consent_age = 15"
        )
    )
    after = load_policies(tmp_path).policy("eu-west")
    assert after.digest != before.digest
    assert changed_keys(before.declared, after.declared) == ["countries.DE.digital_consent_age"]


def broken(tmp_path: Path, old: str, new: str, name: str = "eu-west.toml") -> Path:
    source = SHIPPED if name == "regions.toml" else SHIPPED_DIR / name
    text = source.read_text()
    assert old in text, old
    (tmp_path / name).write_text(text.replace(old, new, 1))
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ("version = 2", "version = one", "(syntax)", "not valid TOML"),
        ("version = 2", 'version = "2"', "version", "whole number"),
        ('region = "eu-west"', 'region = "us-east"', "region", "named for 'eu-west'"),
        ('region = "eu-west"', 'region = "mars"', "region", "must be one of"),
        ("retention_days = 0", "retention_days = 7", "defaults.retention_days", "30 to"),
        ("retention_days = 0\n", "", "defaults.retention_days", "is missing"),
        ('analytics = "opt-in"', 'analytics = "maybe"', "defaults.analytics", '"opt-in"'),
        (
            "digital_consent_age = 16\n# Check",
            "digital_consent_age = 12\n# Check",
            "defaults.digital_consent_age",
            "from 13 to 16",
        ),
        (
            "[countries.AT]\ndigital_consent_age = 14",
            "[countries.AT]\ndigital_consent_age = 21",
            "countries.AT.digital_consent_age",
            "from 13 to 16",
        ),
        ("[countries.AT]\n", "[countries.US]\n", "countries.US", "not a country eu-west serves"),
        (
            "[countries.AT]\n",
            "[countries.AT]\nretention = 30\n",
            "countries.AT.retention",
            "not a known key",
        ),
        (
            'public_profile = "consent"',
            "public_profile = 17",
            "defaults.verified_age.public_profile",
            "13, 14, 15, 16, 18, 21",
        ),
        (
            'community = "consent"',
            'community = "consent"\nchat = 16',
            "defaults.verified_age.chat",
            "not a known key",
        ),
        ('note = "never"', 'note = "sometimes"', "egress.note", '"read-through"'),
        ('note = "never"', "", "egress.note", "is missing"),
        ('region = "eu-west"', 'colour = 1\nregion = "eu-west"', "colour", "not a known key"),
    ],
)
def test_a_malformed_policy_file_is_refused_naming_file_key_and_problem(
    tmp_path: Path, old: str, new: str, key: str, problem: str
) -> None:
    directory = broken(tmp_path, old, new)
    with pytest.raises(RulesFileError) as e:
        load_policies(directory)
    assert e.value.path == str(directory / "eu-west.toml")
    assert e.value.key == key
    assert problem in e.value.problem
    assert str(e.value).startswith(f"{directory / 'eu-west.toml'}: {key}: ")


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        (
            'countries = ["US"]',
            'countries = ["US", "DE"]',
            "regions.us-east.countries",
            "DE is already served by eu-west",
        ),
        (
            'countries = ["US"]',
            'countries = ["US", "UU"]',
            "regions.us-east.countries",
            "'UU' is not an ISO 3166-1",
        ),
        (
            'default_country = "US"',
            'default_country = "CA"',
            "regions.us-east.default_country",
            "not one of this region's countries",
        ),
        ("[regions.us-east]", "[regions.US_East]", "regions.US_East", "like eu-west"),
        ('name = "United States (east)"', "", "regions.us-east.name", "is missing"),
    ],
)
def test_a_malformed_regions_file_is_refused(
    tmp_path: Path, old: str, new: str, key: str, problem: str
) -> None:
    directory = broken(tmp_path, old, new, name="regions.toml")
    with pytest.raises(RulesFileError) as e:
        load_policies(directory)
    assert (e.value.key, e.value.path) == (key, str(directory / "regions.toml"))
    assert problem in e.value.problem


def test_a_region_without_its_policy_file_is_refused(tmp_path: Path) -> None:
    regions = (
        SHIPPED.read_text()
        + '\n[regions.ap-south]\nname = "Asia"\ndefault_country = "IN"\ncountries = ["IN"]\n'
    )
    (tmp_path / "regions.toml").write_text(regions)
    with pytest.raises(RulesFileError, match=re.escape("ap-south.toml: (file): no such file")):
        load_policies(tmp_path)
    assert load_geography(tmp_path / "regions.toml").home_region("IN") == "ap-south"


def test_a_default_country_no_region_serves_is_refused() -> None:
    with pytest.raises(
        RulesFileError, match="HUGMOOD_DEFAULT_COUNTRY: HugMood has no region for JP"
    ):
        load_policies(default_country="JP")
