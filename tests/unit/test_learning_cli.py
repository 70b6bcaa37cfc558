"""`hugmood learning simulate` and `hugmood learn` as a person or operator types them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hugmood.client import crypto
from hugmood.client.device import prepare_entry
from hugmood.client.vault import Vault
from hugmood.entrypoints.cli import app

runner = CliRunner()


def test_a_simulation_prints_its_rounds_and_a_summary_against_central_training() -> None:
    result = runner.invoke(
        app, ["learning", "simulate", "--people", "30", "--rounds", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["round"] for line in lines[:2]] == [1, 2]
    assert 0 < lines[1]["epsilon"] <= 8
    assert {"federatedAccuracy", "centralAccuracy", "epsilon"} <= set(lines[2])


@pytest.mark.parametrize(
    "args",
    [
        ["--people", "3"],
        ["--strategy", "median"],  # robust strategies need DP off
        ["--strategy", "mean"],
        ["--noise-multiplier", "0", "--secure"],
    ],
)
def test_a_simulation_with_bad_options_exits_2_saying_why(args: list[str]) -> None:
    result = runner.invoke(app, ["learning", "simulate", *args])
    assert result.exit_code == 2


def _vault(path: Path, check_ins: int) -> None:
    now = datetime.now(UTC)
    vault = Vault.create(path, "correct horse battery staple", kdf=crypto.FAST_FOR_TESTS)
    vault.add_entries(
        [
            prepare_entry(
                intensity=0.6,
                mood_type="joyful" if n % 2 else "sad",
                note=None,
                context={"socialContext": "friends" if n % 2 else "alone"},
                privacy=None,
                recorded_at=now - timedelta(hours=5 * n + 1),
                entry_id=None,
                now=now,
            )
            for n in range(check_ins)
        ]
    )
    vault.close()


def test_learn_trains_on_the_device_and_says_what_it_learned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUGMOOD_CLIENT_PASSPHRASE", "correct horse battery staple")
    path = tmp_path / "vault.sqlite"
    _vault(path, 40)
    result = runner.invoke(app, ["learn", "--vault", str(path), "--json"])
    assert result.exit_code == 0, result.output
    said = json.loads(result.output)
    assert said["checkIns"] == 40
    assert "time with friends usually lifts you" in said["forecasts"]


def test_learn_with_too_few_check_ins_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUGMOOD_CLIENT_PASSPHRASE", "correct horse battery staple")
    path = tmp_path / "vault.sqlite"
    _vault(path, 3)
    result = runner.invoke(app, ["learn", "--vault", str(path)])
    assert result.exit_code == 2
    assert "at least 10 check-ins" in result.output
