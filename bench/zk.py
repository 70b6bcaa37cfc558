"""Zero-knowledge age checks (Longfellow via pylongfellow): proving, verifying, proof size,
how long the verifier's event loop is held while its workers start and ten proofs are
verified, and ordinary `recordMood` latency while ten proofs are verified by the same server.

Run: `.venv/bin/python bench/zk.py [--quick] [--latency-only] [--rounds N]`; one JSON object a
line. Baselines, measured in the same run: pylongfellow's own `prove` and `verify` called
directly in this process, the loop's lag with nothing running, and `recordMood` latency on the
same server with no verification running, in windows alternating with the verifying ones.
The circuit is read from HUGMOOD_ZK_CIRCUIT_DIR (default ~/.cache/hugmood/zk-circuits),
generated if missing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from _common import (
    HttpConnection,
    emit,
    emit_latencies,
    graphql_headers,
    hugmood_server,
    machine_params,
    register_and_log_in,
    run,
    servers,
)
from hugmood.privacy.zk.challenges import MemoryChallengeStore
from hugmood.privacy.zk.credentials import DOCTYPE, issue_test_credential
from hugmood.privacy.zk.issuers import TrustList
from hugmood.privacy.zk.protocol import AgeProof, session_transcript
from hugmood.privacy.zk.prover import age_claim, load_longfellow, present, prove_age
from hugmood.privacy.zk.verifier import AgeVerifier

CACHE = Path(
    os.environ.get("HUGMOOD_ZK_CIRCUIT_DIR", Path.home() / ".cache" / "hugmood" / "zk-circuits")
)
AUDIENCE = "hugmood/eu-west"
RECORD = "mutation($input: RecordMoodInput!) { recordMood(input: $input) { id } }"


async def prove_and_verify(rounds: int, params: dict[str, Any]) -> None:
    longfellow = load_longfellow(CACHE)
    now = datetime.now(UTC).replace(microsecond=0)
    credential = issue_test_credential(date(1990, 5, 1), now=now)
    trust = TrustList.parse("", include_test_issuer=True)
    store = MemoryChallengeStore()
    ours_prove, raw_prove, ours_verify, raw_verify, sizes = [], [], [], [], []
    async with AgeVerifier(trust, store, cache_dir=CACHE, audience=AUDIENCE) as verifier:
        await verifier.prepare()
        for _ in range(rounds):
            challenge = store.issue("bench", 18, now)
            started = time.perf_counter()
            proof = prove_age(
                longfellow,
                credential,
                threshold=18,
                nonce=challenge.nonce,
                audience=AUDIENCE,
                now=challenge.issued_at,
            )
            ours_prove.append(time.perf_counter() - started)
            sizes.append(len(proof.proof))
            started = time.perf_counter()
            await verifier.verify("bench", proof, now)
            ours_verify.append(time.perf_counter() - started)

            transcript = session_transcript(challenge.nonce, AUDIENCE)
            bound = present(credential, transcript)
            key = credential.issuer_public_key()
            started = time.perf_counter()
            raw = longfellow.prove(bound, key, transcript, [age_claim(18)], now)
            raw_prove.append(time.perf_counter() - started)
            started = time.perf_counter()
            longfellow.verify(key, transcript, [age_claim(18)], now, raw, DOCTYPE)
            raw_verify.append(time.perf_counter() - started)
    p = {**params, "rounds": rounds, "backend": "google-cpp", "circuit": "v7, 1 attribute"}
    emit(
        "zk.prove",
        "median_s",
        statistics.median(ours_prove),
        "s",
        "pylongfellow prove, direct",
        statistics.median(raw_prove),
        p,
        lower_is_better=True,
        digits=3,
    )
    emit(
        "zk.verify",
        "median_s",
        statistics.median(ours_verify),
        "s",
        "pylongfellow verify, direct on this thread",
        statistics.median(raw_verify),
        {**p, "where": "process pool worker"},
        lower_is_better=True,
        digits=3,
    )
    emit(
        "zk.proof",
        "bytes",
        statistics.median(sizes),
        "B",
        "mdoc credential",
        len(credential.mdoc),
        p,
        comparable=False,
        digits=0,
    )


async def _lags(done: Callable[[], bool]) -> list[float]:
    """How late each 2 ms sleep of the event loop wakes up, until `done()`: a stall of the
    loop shows as one long lag."""
    lags: list[float] = []
    while not done():
        started = time.perf_counter()
        await asyncio.sleep(0.002)
        lags.append(max(time.perf_counter() - started - 0.002, 0.0))
    return lags


async def loop_lag(quick: bool, params: dict[str, Any]) -> None:
    """The verifier's own event loop while its workers start and the proofs are checked."""
    verifications = 3 if quick else 10
    longfellow = load_longfellow(CACHE)
    now = datetime.now(UTC).replace(microsecond=0)
    credential = issue_test_credential(date(1990, 5, 1), now=now)
    store = MemoryChallengeStore()
    proofs = []
    for _ in range(verifications):  # proven before anything is timed (the store, not the
        challenge = store.issue("bench", 18, now)  # verifier, so no worker starts yet)
        proofs.append(
            prove_age(
                longfellow,
                credential,
                threshold=18,
                nonce=challenge.nonce,
                audience=AUDIENCE,
                now=challenge.issued_at,
            )
        )
    trust = TrustList.parse("", include_test_issuer=True)
    async with AgeVerifier(trust, store, cache_dir=CACHE, audience=AUDIENCE) as verifier:

        async def start_and_verify() -> float:
            started = time.monotonic()
            await verifier.prepare()
            await asyncio.gather(*(verifier.verify("bench", p, now) for p in proofs))
            return time.monotonic() - started

        work = asyncio.ensure_future(start_and_verify())
        busy = await _lags(work.done)
        span = await work
    deadline = time.monotonic() + span
    quiet = await _lags(lambda: time.monotonic() >= deadline)
    p = {**params, "verifications": verifications, "zk_workers": 1, "span_s": round(span, 1)}
    emit_latencies("zk.loop_lag_during_worker_start_and_verifications", busy, "idle loop", quiet, p)
    emit(
        "zk.loop_lag_during_worker_start_and_verifications",
        "max_ms",
        max(busy) * 1000,
        "ms",
        "idle loop",
        max(quiet) * 1000,
        p,
        lower_is_better=True,
        digits=3,
    )


async def record_latencies(conn: HttpConnection, token: str, seconds: float) -> list[float]:
    head = conn.head("POST", "/graphql", graphql_headers(token))
    recorded_at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        body = orjson.dumps(
            {
                "query": RECORD,
                "variables": {
                    "input": {
                        "id": str(uuid.uuid4()),
                        "moodType": "calm",
                        "intensity": 0.5,
                        "recordedAt": recorded_at,
                    }
                },
            }
        )
        started = time.perf_counter()
        response = await conn.send(head, body)
        latencies.append(time.perf_counter() - started)
        if response.status != 200 or b'"errors"' in response.body:
            raise RuntimeError(f"recordMood failed: {response.body[:300]!r}")
        await asyncio.sleep(0.01)  # ~ a busy user's pace, not a flood
    return latencies


async def under_verification(quick: bool, params: dict[str, Any], rounds: int) -> None:
    """`rounds` pairs of windows on one server, alternating: recordMood alone, then recordMood
    while ten proofs are verified; each pair printed, then all windows pooled. Alternating
    spreads the shared machine's changing load over both sides instead of one."""
    verifications = 3 if quick else 10
    seconds = 5.0 if quick else 15.0
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-zk-") as tmp:
        server = hugmood_server(
            Path(tmp) / "data", Path(tmp) / "server.log", zk_circuit_dir=str(CACHE)
        )
        with servers(server):
            await server.wait_ready()
            conn = await HttpConnection.open(server.port)
            token = await register_and_log_in(conn, "zkbench", "bench-password-1")
            headers = graphql_headers(token)
            longfellow = load_longfellow(CACHE)
            credential = issue_test_credential(date(1990, 5, 1))

            async def fresh_proofs() -> list[AgeProof]:
                proofs = []
                for _ in range(verifications):
                    # A connection per challenge: proving takes seconds, longer than the
                    # server keeps an idle connection open.
                    c = await HttpConnection.open(server.port)
                    try:
                        answer = await c.request(
                            "POST",
                            "/privacy/age/challenge",
                            orjson.dumps({"threshold": 16}),
                            headers,
                        )
                    finally:
                        c.close()
                    challenge = answer.json()
                    proofs.append(
                        prove_age(
                            longfellow,
                            credential,
                            threshold=16,
                            nonce=base64.urlsafe_b64decode(challenge["nonce"]),
                            audience=challenge["audience"],
                            now=datetime.fromisoformat(challenge["at"]),
                        )
                    )
                return proofs

            async def submit(proof: AgeProof) -> int:
                c = await HttpConnection.open(server.port)
                try:
                    r = await c.request(
                        "POST", "/privacy/age/proof", orjson.dumps(proof.to_json()), headers
                    )
                    return r.status
                finally:
                    c.close()

            # Every proof is made first (2-3 s of CPU each, in this process), so that no
            # proving runs during a measured window.
            batches = [await fresh_proofs() for _ in range(rounds)]
            all_quiet: list[float] = []
            all_busy: list[float] = []
            for number, proofs in enumerate(batches, start=1):
                # A fresh connection a round: it sat idle while the last verifications ended.
                conn.close()
                conn = await HttpConnection.open(server.port)
                load_before = round(os.getloadavg()[0], 2)
                quiet = await record_latencies(conn, token, seconds)
                started = time.monotonic()
                checks = asyncio.gather(*(submit(p) for p in proofs))
                busy = await record_latencies(conn, token, seconds)
                statuses = await checks
                span = time.monotonic() - started
                if statuses != [200] * verifications:
                    raise RuntimeError(f"verifications failed: {statuses}")
                all_quiet += quiet
                all_busy += busy
                emit_latencies(
                    "zk.record_mood_during_verifications",
                    busy,
                    "recordMood with no verification (the window just before)",
                    quiet,
                    {
                        **params,
                        "round": number,
                        "load_1m_before": load_before,
                        "load_1m_after": round(os.getloadavg()[0], 2),
                        "verifications": verifications,
                        "zk_workers": 1,
                        "verifications_took_s": round(span, 1),
                        "requests": len(busy),
                        "baseline_requests": len(quiet),
                    },
                )
            conn.close()
    emit_latencies(
        "zk.record_mood_during_verifications",
        all_busy,
        "recordMood with no verification (alternating windows)",
        all_quiet,
        {
            **params,
            "round": "all",
            "rounds": rounds,
            "load_1m_after": round(os.getloadavg()[0], 2),
            "verifications": verifications,
            "requests": len(all_busy),
            "baseline_requests": len(all_quiet),
        },
    )


async def main(quick: bool, latency_only: bool, rounds: int) -> None:
    params = {**machine_params(), "quick": quick}
    if not latency_only:
        await prove_and_verify(1 if quick else 5, params)
        await loop_lag(quick, params)
    await under_verification(quick, params, 1 if quick else rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one round, three verifications")
    parser.add_argument(
        "--latency-only",
        action="store_true",
        help="only recordMood's latency with and without ten verifications",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating pairs of windows (full mode)"
    )
    args = parser.parse_args()
    run(main(args.quick, args.latency_only, max(1, args.rounds)))
