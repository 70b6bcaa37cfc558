"""The regional policy engine: each region's rules as a versioned data file
(`data/policies/<region>.toml`) with per-country overrides, checked at start-up, and the
answers the services ask of it (age gates, retention, opt-in defaults, what may leave)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from hugmood.config import Settings
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.regions import GATED_FEATURES, AgeRule, GatedFeature, Participation
from hugmood.regions.files import RulesFileError, Table, integer, one_of, read_toml
from hugmood.regions.geography import Geography, country_code, load_geography

E = TypeVar("E", bound=StrEnum)
SHIPPED_DIR = Path(str(resources.files("hugmood.regions") / "data" / "policies"))

PROVABLE_AGES = (13, 14, 15, 16, 18, 21)
"""The ages a credential's `age_over_NN` elements let a person prove (privacy.zk)."""
CONSENT = "consent"
"""A feature threshold that is the country's age of digital consent."""
FEATURES = tuple(f.key for f in GATED_FEATURES)
PARTICIPATION = ("analytics", "learning")
MAX_RETENTION_DAYS = 36_500


class Egress(StrEnum):
    """In what form a kind of data may leave its home region."""

    NEVER = "never"
    """Stays in the home region's stores."""
    READ_THROUGH = "read-through"
    """Read from the home region when someone allowed views it; never stored elsewhere."""
    RECIPIENT_INBOX = "recipient-inbox"
    """Stored in the recipient's region, only for the recipient (a hug and its message)."""
    AGGREGATE_ONLY = "aggregate-only"
    """Only as aggregates over enough people (k-anonymous, noised)."""
    REPLICATED = "replicated"
    """Copied to every region (holds nothing personal: the directory)."""


DATA_KINDS = (
    "directory_entry",
    "profile",
    "bio",
    "mood_entry",
    "note",
    "hug",
    "hug_message",
    "board_content",
    "analytics_contribution",
    "learning_update",
)
"""Every kind of data the cross-region code asks about; each policy file rules on all."""


@dataclass(frozen=True, slots=True)
class EgressRule:
    region: str
    data_kind: str
    form: Egress
    rule: str

    @property
    def may_leave(self) -> bool:
        return self.form is not Egress.NEVER


@dataclass(frozen=True, slots=True)
class CountryRules:
    """One country's rules in effect: the region's defaults with the country's overrides."""

    country: str
    digital_consent_age: int
    verified_age: Mapping[str, int]
    retention_days: int
    participation: Mapping[str, Participation]


@dataclass(frozen=True, slots=True)
class _Declared:
    """What a file (or one of its `[countries.XX]` tables) states; None: not stated."""

    digital_consent_age: int | None = None
    verified_age: Mapping[str, int | str] = field(default_factory=dict)
    retention_days: int | None = None
    participation: Mapping[str, Participation] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RegionPolicy:
    region: str
    version: int
    source: str
    defaults: CountryRules
    overrides: Mapping[str, _Declared]
    egress: Mapping[str, Egress]
    declared: Mapping[str, str | int]
    """Every rule as written, flattened (`countries.DE.digital_consent_age` → 16)."""

    @property
    def digest(self) -> str:
        canonical = json.dumps({"region": self.region, **self.declared}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def rules_for(self, country: str) -> CountryRules:
        over = self.overrides.get(country)
        if over is None:
            return CountryRules(country, *_fields(self.defaults))
        consent = over.digital_consent_age or self.defaults.digital_consent_age
        ages = {
            key: _age(over.verified_age.get(key, self._declared_default(key)), consent)
            for key in FEATURES
        }
        return CountryRules(
            country,
            consent,
            ages,
            self.defaults.retention_days if over.retention_days is None else over.retention_days,
            {**self.defaults.participation, **over.participation},
        )

    def _declared_default(self, feature: str) -> int | str:
        value = self.declared.get(f"defaults.verified_age.{feature}", CONSENT)
        return value

    def age_rule(self, country: str, feature: GatedFeature) -> AgeRule:
        return AgeRule(
            self.rules_for(country).verified_age[feature.key], f"{country}.age.{feature.key}"
        )

    def may_leave(self, data_kind: str) -> EgressRule:
        form = self.egress.get(data_kind)
        if form is None:
            raise KeyError(f"unknown data kind {data_kind!r}; known: {', '.join(DATA_KINDS)}")
        return EgressRule(self.region, data_kind, form, f"{self.region}.egress.{data_kind}")


def _age(value: int | str, consent: int) -> int:
    return consent if value == CONSENT else int(value)


def _fields(rules: CountryRules) -> tuple[int, Mapping[str, int], int, Mapping[str, Participation]]:
    return (
        rules.digital_consent_age,
        rules.verified_age,
        rules.retention_days,
        rules.participation,
    )


@dataclass(frozen=True, slots=True)
class RegionalPolicies:
    """Every region's policy, checked against the geography: what a server consults."""

    geography: Geography
    regions: Mapping[str, RegionPolicy]
    default_country: str

    def policy(self, region: str) -> RegionPolicy:
        found = self.regions.get(region)
        if found is None:
            raise KeyError(f"unknown region {region!r}; known: {', '.join(sorted(self.regions))}")
        return found

    def home(self, country: str | None, region: str | None) -> tuple[str, str]:
        """(country, home region) for a sign-up (`Geography.home`, this server's default)."""
        return self.geography.home(country, region, self.default_country)

    def egress(self, region: str, data_kind: str) -> tuple[str, str]:
        rule = self.policy(region).may_leave(data_kind)
        return rule.form.value, rule.rule

    def sign_up_countries(self, regions: list[str]) -> tuple[list[str], str]:
        """The countries served by `regions` (sorted), and the default for a sign-up naming
        none: the server's default country if one of them serves it, else the first
        region's default country."""
        served = sorted(
            c
            for r in regions
            if r in self.geography.regions
            for c in self.geography.regions[r].countries
        )
        if (
            self.default_country in served
            or not regions
            or regions[0] not in self.geography.regions
        ):
            return served, self.default_country
        return served, self.geography.regions[regions[0]].default_country

    def country_of(self, country: str, home_region: str) -> str:
        """A person's country; accounts from before countries were asked (none recorded)
        read as their region's default country, or the server's."""
        if country:
            return country
        region = self.geography.regions.get(home_region)
        return region.default_country if region else self.default_country

    def rules_for(self, country: str) -> CountryRules:
        return self.policy(self.geography.home_region(country)).rules_for(country)

    def age_required(self, country: str, home_region: str, feature: GatedFeature) -> AgeRule:
        code = self.country_of(country, home_region)
        return self.policy(self.geography.home_region(code)).age_rule(code, feature)

    def participation(self, country: str, home_region: str, what: str) -> Participation:
        """Whether `what` (analytics, learning) is opt-in or opt-out for this person."""
        return self.rules_for(self.country_of(country, home_region)).participation[what]

    def retention_days(self, country: str, home_region: str) -> int:
        return self.rules_for(self.country_of(country, home_region)).retention_days

    def may_leave(self, region: str, data_kind: str) -> EgressRule:
        return self.policy(region).may_leave(data_kind)


def load_policies(
    directory: Path | None = None, *, default_country: str = "IE"
) -> RegionalPolicies:
    """Read the regions file and one policy file per region from `directory` (the shipped
    ones where it has none), check them all; RulesFileError names the file, key and problem."""
    regions_file = directory / "regions.toml" if directory else None
    geography = load_geography(regions_file if regions_file and regions_file.exists() else None)
    policies: dict[str, RegionPolicy] = {}
    for region in sorted(geography.regions):
        path = directory / f"{region}.toml" if directory else None
        if path is None or not path.exists():
            path = SHIPPED_DIR / f"{region}.toml"
        policies[region] = load_policy(path, geography)
    try:
        geography.home_region(default_country)
    except ValidationFailed as e:
        raise RulesFileError(geography.source, "HUGMOOD_DEFAULT_COUNTRY", e.message) from None
    return RegionalPolicies(geography, policies, country_code(default_country))


def load_policy(path: Path, geography: Geography) -> RegionPolicy:
    top = Table(path, "", read_toml(path))
    region = top.take("region", one_of(*sorted(geography.regions)))
    if region != path.stem:
        raise top.fail("region", f"is {region!r} but the file is named for {path.stem!r}")
    version = top.take("version", integer(1, 1_000_000))
    defaults = _read_rules(top.table("defaults"), complete=True)
    overrides: dict[str, _Declared] = {}
    countries = top.optional_table("countries")
    if countries is not None:
        served = geography.regions[region].countries
        for code, table in countries.subtables():
            if code not in served:
                raise RulesFileError(path, table.prefix, f"{code} is not a country {region} serves")
            overrides[code] = _read_rules(table, complete=False)
    egress_table = top.table("egress")
    egress = {kind: egress_table.take(kind, _choice(Egress)) for kind in DATA_KINDS}
    egress_table.finish()
    top.finish()
    consent = defaults.digital_consent_age or 0
    full = CountryRules(
        "*",
        consent,
        {k: _age(defaults.verified_age[k], consent) for k in FEATURES},
        defaults.retention_days or 0,
        dict(defaults.participation),
    )
    declared = dict(_flatten("defaults", defaults))
    for code, over in sorted(overrides.items()):
        declared.update(_flatten(f"countries.{code}", over))
    declared.update({f"egress.{k}": v.value for k, v in egress.items()})
    return RegionPolicy(region, version, str(path), full, overrides, egress, declared)


def _read_rules(table: Table, *, complete: bool) -> _Declared:
    """A `[defaults]` table (every rule required) or a `[countries.XX]` one (any subset)."""

    def need(name: str) -> bool:
        return complete or table.has(name)

    consent = (
        table.take("digital_consent_age", integer(13, 16)) if need("digital_consent_age") else None
    )
    retention = table.take("retention_days", _retention) if need("retention_days") else None
    participation = {
        what: table.take(what, _choice(Participation)) for what in PARTICIPATION if need(what)
    }
    ages: dict[str, int | str] = {}
    ages_table = table.table("verified_age") if need("verified_age") else None
    if ages_table is not None:
        for key in FEATURES:
            if complete or ages_table.has(key):
                ages[key] = ages_table.take(key, _threshold)
        ages_table.finish()
    table.finish()
    return _Declared(consent, ages, retention, participation)


def _choice(kind: type[E]) -> Callable[[Any], E]:
    def check(value: Any) -> E:
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(f'"{k.value}"' for k in kind)
            raise ValueError(f"must be one of {allowed} (got {value!r})") from None

    return check


def _retention(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"must be a number of days (got {value!r}); 0 keeps entries")
    if value != 0 and not 30 <= value <= MAX_RETENTION_DAYS:
        raise ValueError(f"must be 0 (kept until deleted) or 30 to {MAX_RETENTION_DAYS} days")
    return value


def _threshold(value: Any) -> int | str:
    if value == CONSENT:
        return CONSENT
    if isinstance(value, int) and not isinstance(value, bool) and value in PROVABLE_AGES:
        return value
    raise ValueError(
        f'must be "{CONSENT}" (the age of digital consent) or an age a credential can prove: '
        f"{', '.join(map(str, PROVABLE_AGES))} (got {value!r})"
    )


def _flatten(prefix: str, rules: _Declared) -> Iterator[tuple[str, str | int]]:
    if rules.digital_consent_age is not None:
        yield f"{prefix}.digital_consent_age", rules.digital_consent_age
    if rules.retention_days is not None:
        yield f"{prefix}.retention_days", rules.retention_days
    for what, choice in rules.participation.items():
        yield f"{prefix}.{what}", choice.value
    for key, value in rules.verified_age.items():
        yield f"{prefix}.verified_age.{key}", value


def changed_keys(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    """The rules added, removed or changed between two declared rule sets."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def open_policies(settings: Settings) -> RegionalPolicies:
    """The rules this server applies (`HUGMOOD_POLICY_DIR`, else the shipped files), with
    this server's region (`HUGMOOD_REGION`) checked against the regions file."""
    directory = Path(settings.policy_dir).expanduser() if settings.policy_dir else None
    policies = load_policies(directory, default_country=settings.default_country)
    if settings.region not in policies.regions:
        raise RulesFileError(
            policies.geography.source,
            "HUGMOOD_REGION",
            f"{settings.region!r} is not a region of this file "
            f"(its regions: {', '.join(sorted(policies.regions))})",
        )
    return policies


@cache
def shipped_policies() -> RegionalPolicies:
    return load_policies()


def may_leave(region: str, data_kind: str) -> EgressRule:
    """May `data_kind` leave `region`, and in what form, by the rules HugMood ships (a server
    consults the policies it loaded at start: `RegionalPolicies.may_leave`)."""
    return shipped_policies().may_leave(region, data_kind)
