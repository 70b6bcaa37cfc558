"""Settings parsing, session tokens and login throttling."""

from __future__ import annotations

from pathlib import Path

import pytest

from hugmood.config import ConfigError, Settings
from hugmood.domain.errors import RateLimited
from hugmood.domain.identity import LoginAttempt
from hugmood.security.throttle import SPREAD_FACTOR, InMemoryLoginThrottle
from hugmood.security.tokens import HmacSessionTokens


def test_settings_come_from_hugmood_variables() -> None:
    settings = Settings.from_env(
        {"HUGMOOD_PORT": "9000", "HUGMOOD_DATA_DIR": "/tmp/x", "HUGMOOD_LOG_JSON": "false"}
    )
    assert (settings.port, settings.data_dir, settings.log_json) == (9000, Path("/tmp/x"), False)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUGMOOD_PORT": "eighty"}, "HUGMOOD_PORT"),
        ({"HUGMOOD_COLOUR": "blue"}, "unknown setting HUGMOOD_COLOUR"),
        ({"HUGMOOD_DATABASE_URL": "mysql://x"}, "HUGMOOD_DATABASE_URL"),
        ({"HUGMOOD_ENV": "production"}, "HUGMOOD_SECRET_KEY"),
        (
            {
                "HUGMOOD_ENV": "production",
                "HUGMOOD_SECRET_KEY": "k" * 32,
                "HUGMOOD_AGE_REQUIRED": "16",
            },
            "HUGMOOD_AGE_REQUIRED needs HUGMOOD_ZK_TRUSTED_ISSUERS",
        ),
        ({"HUGMOOD_COMMUNITY_EPSILON": "5"}, "HUGMOOD_COMMUNITY_EPSILON"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_development_keeps_a_generated_secret_between_starts(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).with_secret()
    second = Settings(data_dir=tmp_path).with_secret()
    assert len(first.secret_key) >= 32 and first.secret_key == second.secret_key
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


def test_tokens_are_long_random_and_stored_only_as_keyed_hashes() -> None:
    tokens = HmacSessionTokens(b"k" * 32)
    a, b = tokens.new_token(), tokens.new_token()
    assert a != b and len(a) >= 40
    assert tokens.digest(a) == tokens.digest(a) != a
    assert HmacSessionTokens(b"j" * 32).digest(a) != tokens.digest(a)


def test_throttle_locks_out_after_repeated_failures_and_doubles() -> None:
    now = [0.0]
    throttle = InMemoryLoginThrottle(max_failures=3, lockout_s=10, clock=lambda: now[0])
    alice = LoginAttempt("alice", "10.0.0.1")
    for _ in range(2):
        throttle.failed(alice)
        throttle.check(alice)
    throttle.failed(alice)
    with pytest.raises(RateLimited) as caught:
        throttle.check(alice)
    assert 9 < caught.value.retry_after_s <= 10
    now[0] = 11
    throttle.check(alice)
    throttle.failed(alice)
    with pytest.raises(RateLimited) as caught:
        throttle.check(alice)
    assert caught.value.retry_after_s > 15
    throttle.succeeded(alice)
    throttle.check(alice)
    throttle.check(LoginAttempt("bob", "10.0.0.1"))


def test_a_stranger_guessing_locks_out_only_their_own_source() -> None:
    throttle = InMemoryLoginThrottle(max_failures=3, secret=b"s" * 32)
    stranger = LoginAttempt("alice", "203.0.113.9")
    for _ in range(3):
        throttle.failed(stranger)
    with pytest.raises(RateLimited):
        throttle.check(stranger)
    throttle.check(LoginAttempt("alice", "198.51.100.4"))  # the owner, elsewhere


def test_a_device_that_signed_in_before_gets_in_whatever_strangers_did() -> None:
    throttle = InMemoryLoginThrottle(max_failures=3, secret=b"s" * 32)
    proof = throttle.succeeded(LoginAttempt("alice", "198.51.100.4"))
    # Guesses from many addresses shut the account to every unknown device ...
    for n in range(3 * SPREAD_FACTOR):
        throttle.failed(LoginAttempt("alice", f"203.0.113.{n}"))
    with pytest.raises(RateLimited):
        throttle.check(LoginAttempt("alice", "192.0.2.1"))
    # ... but not to the owner's phone, even from one of those addresses.
    phone = LoginAttempt("alice", "203.0.113.0", proof)
    throttle.check(phone)
    assert throttle.succeeded(phone) == proof
    # A proof is for one handle and from this server's key only.
    with pytest.raises(RateLimited):
        throttle.check(LoginAttempt("alice", "192.0.2.1", "forged.0123456789abcdef"))
    other_server = InMemoryLoginThrottle(max_failures=3, secret=b"t" * 32)
    assert other_server.succeeded(LoginAttempt("alice", "x")) != proof
    bob_proof = throttle.succeeded(LoginAttempt("bob", "198.51.100.4"))
    with pytest.raises(RateLimited):
        throttle.check(LoginAttempt("alice", "192.0.2.1", bob_proof))


def test_a_known_device_that_guesses_wrong_locks_out_only_itself() -> None:
    throttle = InMemoryLoginThrottle(max_failures=3, secret=b"s" * 32)
    proof = throttle.succeeded(LoginAttempt("alice", "198.51.100.4"))
    stolen_phone = LoginAttempt("alice", "198.51.100.4", proof)
    for _ in range(3):
        throttle.failed(stolen_phone)
    with pytest.raises(RateLimited):
        throttle.check(stolen_phone)
    throttle.check(LoginAttempt("alice", "198.51.100.4"))


@pytest.mark.parametrize("forged", ["0.\u0080", "nonce.\u00e9t\u00e9", "\u0080.abc", "."])
def test_a_forged_device_proof_in_any_characters_is_an_unknown_device(forged: str) -> None:
    throttle = InMemoryLoginThrottle(max_failures=3, secret=b"s" * 32)
    attempt = LoginAttempt("alice", "192.0.2.1", forged)
    throttle.check(attempt)  # no error: just not a device this server knows
    assert throttle.succeeded(attempt) != forged
