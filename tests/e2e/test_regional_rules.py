"""Regional rules end to end: people sign up from the CLI in their country, a 15-year-old
proves their age with the test issuer's credential (zero knowledge), and a public profile
and a public check-in are refused or allowed as their country's rule says (read from the
rules file, never hard-coded), each refusal naming the rule; the rule set in force is in the
audit trail (`hugmood policy history`) and a bad rules file stops the server's start."""

from __future__ import annotations

import shutil
import socket
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hugmood.domain.regions import PUBLIC_CHECK_IN, PUBLIC_PROFILE, AgeRule
from hugmood.regions.policy import SHIPPED_DIR, load_policies
from tests.conftest import unique
from tests.e2e.client import RECORD_MOOD, GraphQLClient, GraphQLFailure, User, log_in
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer, run_cli
from tests.e2e.test_client_cli import Cli, cli_for, client_env, flat, ok
from tests.integration.test_zk_age_verification import CACHE

pytestmark = pytest.mark.e2e
TODAY = datetime.now(UTC).date()
FIFTEEN = TODAY.replace(year=TODAY.year - 15, month=1, day=1).isoformat()
"""A birth date that makes the person 15 today."""
PUBLIC_PROFILE_MUTATION = (
    "mutation { updateProfile(input: {defaultVisibility: PUBLIC}) { handle } }"
)
PUBLIC_ENTRY = {"moodType": "calm", "intensity": 0.5, "privacy": "PUBLIC"}
MY_RULES = "{ myRules { country homeRegion retentionDays learning ages { feature age rule } } }"


def status_of(rule: AgeRule) -> dict[str, object]:
    return {"age": rule.threshold, "rule": rule.rule}


def signed_up(server: HugMoodServer, tmp_path: Path, country: str) -> tuple[User, Cli]:
    """A person who signed up with `hugmood signup --country`, logged in on a device."""
    handle = unique(country.lower())
    cli = cli_for(client_env(server, tmp_path / f"{handle}.vault"))
    made = flat(ok(cli("signup", "--handle", handle, "--country", country)))
    assert f"Signed up as @{handle}" in made
    ok(cli("login", "--handle", handle))
    return User(handle, GraphQLClient(server, log_in(server, handle))), cli


def test_a_15_year_old_gets_what_their_countrys_rule_allows(
    start_server: StartServer, tmp_path: Path
) -> None:
    rules = load_policies()
    server = start_server({"HUGMOOD_AGE_RULES": "true", "HUGMOOD_ZK_CIRCUIT_DIR": str(CACHE)})
    for country in ("DE", "US"):
        region = rules.geography.home_region(country)
        person, cli = signed_up(server, tmp_path, country)
        assert person.api("{ me { homeRegion } }")["me"]["homeRegion"] == region
        profile_rule = rules.age_required(country, region, PUBLIC_PROFILE)
        check_in_rule = rules.age_required(country, region, PUBLIC_CHECK_IN)

        # The person can see where their data lives and what applies to them.
        mine = person.api(MY_RULES)["myRules"]
        assert (mine["country"], mine["homeRegion"]) == (country, region)
        assert {"feature": "public_profile", **status_of(profile_rule)} in mine["ages"]
        assert mine["retentionDays"] == rules.retention_days(country, region)
        assert mine["learning"] == rules.participation(country, region, "learning").value

        # The device can ask what this person needs (what `verify-age` should prove).
        status = httpx.get(
            f"{server.url}/privacy/age",
            headers={"authorization": f"Bearer {person.api.token}"},
            timeout=30,
        ).json()
        assert status["rules"]["public_profile"] == {
            "age": profile_rule.threshold,
            "rule": profile_rule.rule,
        }

        # Before any proof: refused, with the rule that refused.
        refused = person.api.failure(PUBLIC_PROFILE_MUTATION)
        assert refused.code == "FORBIDDEN"
        assert refused.extensions["rule"] == profile_rule.rule == f"{country}.age.public_profile"

        # The 15-year-old proves the age the rule asks if they can, else the 15 they are.
        needed = max(profile_rule.threshold, check_in_rule.threshold)
        if needed > 15:
            too_young = cli("verify-age", "--threshold", str(needed), "--test-birth-date", FIFTEEN)
            assert too_young.returncode == 2
            assert f"does not state that you are {needed} or over" in flat(too_young.stderr)
        proven = min(needed, 15)
        ok(cli("verify-age", "--threshold", str(proven), "--test-birth-date", FIFTEEN))

        for rule, outcome in (
            (profile_rule, person.api.attempt(PUBLIC_PROFILE_MUTATION)),
            (check_in_rule, person.api.attempt(RECORD_MOOD, input=PUBLIC_ENTRY)),
        ):
            if rule.threshold <= 15:
                assert not isinstance(outcome, GraphQLFailure), (country, rule, outcome)
            else:
                assert isinstance(outcome, GraphQLFailure), (country, rule)
                assert outcome.code == "FORBIDDEN" and outcome.extensions["rule"] == rule.rule
                assert f"verified age of {rule.threshold} or over" in outcome.message
                assert "hugmood verify-age" in outcome.message
        # Nothing public was written for whoever was refused.
        shares = person.api("{ me { defaultVisibility } }")["me"]["defaultVisibility"]
        assert (shares == "PUBLIC") == (profile_rule.threshold <= 15)

    # The rules this server started with are in its audit trail.
    trail = flat(ok(run_cli("policy", "history", env=server.env)))
    assert "Rule changes in eu-west" in trail and "first record" in trail


def test_sign_up_refuses_a_country_no_region_serves_or_a_region_that_is_not_its_own(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    cli = cli_for(client_env(server, tmp_path / "vault"))
    nowhere = cli("signup", "--handle", unique("jp"), "--country", "JP")
    assert nowhere.returncode == 2
    assert "no region for JP" in flat(nowhere.stderr + nowhere.stdout)
    api = GraphQLClient(server)
    # What the sign-up form offers: this server's region's countries, its default first.
    offered = api("{ signUpCountries }")["signUpCountries"]
    assert offered[0] == "IE" and "DE" in offered and "US" not in offered
    register = "mutation($i: RegisterInput!) { register(input: $i) { handle } }"
    account = {"handle": unique("fr"), "displayName": "Fr", "password": "a long enough password"}
    mismatch = api.failure(register, i={**account, "country": "FR", "homeRegion": "us-east"})
    assert (mismatch.code, mismatch.extensions["field"]) == ("VALIDATION", "homeRegion")
    bad = api.failure(register, i={**account, "country": "France"})
    assert (bad.code, bad.extensions["field"]) == ("VALIDATION", "country")
    api(register, i={**account, "country": "fr"})
    french = GraphQLClient(server, log_in(server, account["handle"]))
    assert french("{ me { homeRegion } }")["me"]["homeRegion"] == "eu-west"


def test_a_malformed_rules_file_stops_the_start_naming_file_and_key(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    rules = folder / "eu-west.toml"
    shutil.copy(SHIPPED_DIR / "eu-west.toml", rules)
    rules.write_text(rules.read_text().replace("retention_days = 0", "retention_days = -1", 1))
    server = HugMoodServer(
        tmp_path / "data", tmp_path / "logs", {"HUGMOOD_POLICY_DIR": str(folder)}
    )
    with socket.socket() as probe:  # a free port, should the check ever come after binding
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = run_cli("serve", "--port", str(port), env=server.env, timeout_s=60)
    assert done.returncode == 2, done.stdout + done.stderr
    said = "".join(done.stderr.split())  # as one word: the console wraps long paths
    assert "HugMooddidnotstart" in said
    assert f"{rules}:defaults.retention_days:mustbe0" in said
    assert "Traceback" not in done.stderr


def test_policy_show_prints_the_rules_in_force(tmp_path: Path) -> None:
    env = HugMoodServer(tmp_path / "data", tmp_path / "logs", {}).env
    rules = load_policies()
    shown = ok(run_cli("policy", "show", "--region", "eu-west", env=env))
    assert f"eu-west version {rules.policy('eu-west').version}" in flat(shown)
    german = next(line for line in shown.splitlines() if "│ DE " in line)
    assert german.split("│")[2].strip() == str(rules.rules_for("DE").digital_consent_age)
    assert "note" in shown and "never" in shown
    unknown = run_cli("policy", "show", "--region", "mars-north", env=env)
    assert unknown.returncode == 2 and "no region 'mars-north'" in flat(unknown.stderr)
