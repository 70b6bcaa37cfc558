"""The regional policy engine's costs: reading and checking every rules file at start-up, and
what the age gate adds to a request once it asks the person's country's rule.

Run: `.venv/bin/python bench/regional_policy.py [--quick]`; one JSON object a line.
Baselines, measured in the same run: `tomllib` parsing the same files with no checking, and
the gate with the regional rules off (the operator's minimum only: no read of the account).
The gate runs on an embedded SQLite core, a fresh gate per call as a request makes one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tomllib
from dataclasses import replace
from pathlib import Path

from _common import emit, emit_latencies, machine_params, run
from hugmood.application.age import AgeGate
from hugmood.bootstrap import open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity
from hugmood.domain.regions import PUBLIC_CHECK_IN
from hugmood.regions.geography import SHIPPED
from hugmood.regions.policy import SHIPPED_DIR, load_policies

BENCH = "regional_policy"


def startup(rounds: int) -> None:
    files = [SHIPPED, *sorted(SHIPPED_DIR.glob("*.toml"))]
    texts = [f.read_text() for f in files]
    ours, raw = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        load_policies()
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        for text in texts:
            tomllib.loads(text)
        raw.append(time.perf_counter() - start)
    emit(
        BENCH,
        "load_and_check_ms",
        min(ours) * 1000,
        "ms",
        "tomllib.loads of the same files, unchecked",
        min(raw) * 1000,
        {"files": len(files), "rounds": rounds, **machine_params()},
        lower_is_better=True,
        digits=3,
    )


async def gate(calls: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        base = Settings(database_url="sqlite", data_dir=Path(data))
        async with open_hugmood(replace(base, age_rules=True), run_services=False) as core:
            handle = "bench_person"
            await core.bus.handle(
                identity.RegisterUser(handle, "Bench", "a good password", None, None, "DE"),
                read_your_writes=False,
            )
            user_id = identity.user_id_for(handle)
            ours, off = [], []
            for _ in range(calls):
                start = time.perf_counter()
                await AgeGate(core.deps, user_id).rule_for(PUBLIC_CHECK_IN)
                ours.append(time.perf_counter() - start)
            rules_off = replace(core.deps, age_rules=False)
            for _ in range(calls):
                start = time.perf_counter()
                await AgeGate(rules_off, user_id).rule_for(PUBLIC_CHECK_IN)
                off.append(time.perf_counter() - start)
    emit_latencies(
        f"{BENCH}.age_gate",
        ours,
        "the gate with regional rules off (operator minimum only)",
        off,
        {"calls": calls, "store": "sqlite", **machine_params()},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls")
    quick = parser.parse_args().quick
    startup(5 if quick else 50)
    run(gate(300 if quick else 3000))


if __name__ == "__main__":
    main()
