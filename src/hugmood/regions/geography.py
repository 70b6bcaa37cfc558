"""Geography as data: which region serves which country (`data/regions.toml`), and the home
region of a person from the country they give at sign-up."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from hugmood.domain.common import shown
from hugmood.domain.errors import ValidationFailed
from hugmood.regions.files import RulesFileError, Table, integer, read_toml, text
from hugmood.regions.iso3166 import ALPHA_2

REGION_NAME = re.compile(r"^[a-z]{2,12}-[a-z]{2,12}(-[0-9])?$")
SHIPPED = Path(str(resources.files("hugmood.regions") / "data" / "regions.toml"))
"""The regions file that ships with HugMood (an operator may give their own)."""


def country_code(value: Any) -> str:
    """An ISO 3166-1 alpha-2 code in upper case (ValueError if it is not one)."""
    code = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(code, str) or code not in ALPHA_2:
        raise ValueError(f"{shown(value)} is not an ISO 3166-1 alpha-2 country code")
    return code


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    display_name: str
    default_country: str
    countries: frozenset[str]


@dataclass(frozen=True, slots=True)
class Geography:
    """The regions and the countries each serves (every country served by at most one)."""

    version: int
    regions: Mapping[str, Region]
    source: str

    def region(self, name: str) -> Region:
        found = self.regions.get(name)
        if found is None:
            raise KeyError(f"unknown region {name!r}; known: {', '.join(sorted(self.regions))}")
        return found

    def home_region(self, country: str) -> str:
        """The region that keeps the data of people in `country` (ValidationFailed if the
        code is not a country or no region serves it)."""
        try:
            code = country_code(country)
        except ValueError as e:
            raise ValidationFailed(str(e), field="country") from None
        for region in self.regions.values():
            if code in region.countries:
                return region.name
        raise ValidationFailed(
            f"HugMood has no region for {code} yet; it serves {', '.join(self.countries())}",
            field="country",
        )

    def countries(self) -> list[str]:
        return sorted(c for r in self.regions.values() for c in r.countries)

    def home(
        self, country: str | None, region: str | None, default_country: str
    ) -> tuple[str, str]:
        """(country, home region) for a sign-up: from the country when given; from the
        region's default country when only a region is named (older clients); else the
        server's default country. A region that is not the country's is refused."""
        if region is not None and region.strip():
            asked = region.strip().lower()
            if asked not in self.regions:
                raise ValidationFailed(
                    f"homeRegion must be one of {', '.join(sorted(self.regions))} "
                    f"(got {shown(region)})",
                    field="homeRegion",
                )
            if country is None or not country.strip():
                return self.regions[asked].default_country, asked
            home = self.home_region(country)
            if home != asked:
                raise ValidationFailed(
                    f"people in {country_code(country)} keep their data in {home}, not "
                    f"{asked}: leave homeRegion out (it follows from the country)",
                    field="homeRegion",
                )
            return country_code(country), home
        code = default_country if country is None or not country.strip() else country
        home = self.home_region(code)  # checks the code first
        return country_code(code), home


def load_geography(path: Path | None = None) -> Geography:
    """Read and check a regions file (RulesFileError naming the key and the problem)."""
    path = path or SHIPPED
    top = Table(path, "", read_toml(path))
    version = top.take("version", integer(1, 1_000_000))
    listed = top.table("regions")
    regions: dict[str, Region] = {}
    served: dict[str, str] = {}
    for name, table in listed.subtables():
        if not REGION_NAME.match(name):
            raise RulesFileError(path, table.prefix, "a region's name is like eu-west or us-east")
        countries = table.take("countries", _countries)
        for code in countries:
            if code in served:
                raise table.fail("countries", f"{code} is already served by {served[code]}")
            served[code] = name
        default = table.take("default_country", country_code)
        if default not in countries:
            raise table.fail("default_country", f"{default} is not one of this region's countries")
        regions[name] = Region(name, table.take("name", text), default, frozenset(countries))
        table.finish()
    if not regions:
        raise listed.fail("(none)", "name at least one region")
    top.finish()
    return Geography(version, regions, str(path))


def _countries(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of ISO 3166-1 alpha-2 codes")
    codes = [country_code(v) for v in value]
    if len(set(codes)) != len(codes):
        raise ValueError("lists a country twice")
    return codes


@cache
def shipped_geography() -> Geography:
    return load_geography()


def home_region(country: str) -> str:
    """The home region of people in `country`, by the regions file HugMood ships."""
    return shipped_geography().home_region(country)
