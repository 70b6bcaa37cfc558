"""On-device learning: a personal model from the vault's check-ins, kept sealed in the vault,
that suggests moods and tells which factors lift this person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from hugmood.client import crypto
from hugmood.client.cli_moods import _prompt_missing
from hugmood.client.device import prepare_entry
from hugmood.client.learning import (
    PERSONAL_MODEL,
    NotEnoughCheckIns,
    forecasts,
    learn,
    load,
    suggest,
    suggestion_for,
)
from hugmood.client.vault import Vault
from hugmood.domain.vocabulary import MOODS, Quadrant
from hugmood.learning.features import Context

PASS = "correct horse battery staple"
NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


def _vault(tmp_path: Path, check_ins: int) -> Vault:
    vault = Vault.create(tmp_path / "vault.db", PASS, kdf=crypto.FAST_FOR_TESTS)
    rng = np.random.default_rng(4)
    entries = []
    for n in range(check_ins):
        with_friends = n % 2 == 0
        entries.append(
            prepare_entry(
                intensity=float(rng.uniform(0.4, 0.9)),
                mood_type="joyful" if with_friends else "sad",
                note=None,
                context={
                    "socialContext": "friends" if with_friends else "alone",
                    "weather": str(rng.choice(["sunny", "rainy"])),
                },
                privacy=None,
                recorded_at=NOW - timedelta(hours=7 * n),
                entry_id=None,
                now=NOW,
            )
        )
    vault.add_entries(entries)
    return vault


def test_the_personal_model_learns_what_lifts_this_person_and_stays_sealed(
    tmp_path: Path,
) -> None:
    vault = _vault(tmp_path, 60)
    report = learn(vault, seed=1, zone=UTC)
    assert report.after.accuracy > report.before.accuracy
    theta = load(vault)
    assert theta is not None
    assert suggest(theta, Context(19, 4, company="friends")).quadrant in {
        Quadrant.HIGH_ENERGY_PLEASANT,
        Quadrant.LOW_ENERGY_PLEASANT,
    }
    said = forecasts(theta)
    assert "time with friends usually lifts you" in said
    assert "time alone tends to weigh on you" in said
    stored = vault.setting(PERSONAL_MODEL)
    assert stored is not None
    assert stored.encode()[:40] not in (tmp_path / "vault.db").read_bytes()  # sealed at rest
    vault.close()


def test_learning_with_too_few_check_ins_says_how_many_it_needs(tmp_path: Path) -> None:
    vault = _vault(tmp_path, 4)
    with pytest.raises(NotEnoughCheckIns, match="at least 10 check-ins"):
        learn(vault)
    assert load(vault) is None
    vault.close()


def test_the_check_in_pre_suggests_what_this_person_usually_feels_at_such_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = _vault(tmp_path, 60)
    assert suggestion_for(vault, Context(19, 4, company="friends")) is None, "not trained yet"
    learn(vault, seed=1, zone=UTC)
    with_friends = suggestion_for(vault, Context(19, 4, company="friends"))
    alone = suggestion_for(vault, Context(19, 4, company="alone"))
    assert with_friends is not None and alone is not None
    assert MOODS[with_friends.mood].pleasantness > 0 > MOODS[alone.mood].pleasantness
    assert 0.25 < with_friends.likelihood <= 1 and 0 <= with_friends.intensity <= 1

    # In the terminal, with no mood and no note, the suggestion is offered and Enter keeps it.
    asked: list[str] = []

    def answer(text: str, **kwargs: object) -> object:
        asked.append(text)
        return kwargs.get("default", "")

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("hugmood.client.cli_moods.typer.prompt", answer)
    mood, level, note = _prompt_missing(None, None, None, lambda _: with_friends)
    assert (mood, level, note) == (with_friends.mood, with_friends.intensity, None)
    assert any("usually feel" in question for question in asked)
    vault.close()
