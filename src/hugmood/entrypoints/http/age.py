"""The privacy paths over HTTP, with the session token as `Authorization: Bearer`: age
verification (`POST /privacy/age/challenge`, `POST /privacy/age/proof`, `GET /privacy/age`)
and sealed mode (`http.sealed`).

These paths are dispatched ahead of the general stack, as the board images are: a Longfellow
proof is ~360 KB (~480 KB in base64), over the 100 kB GraphQL-sized body limit, so they get
the same middleware with `MAX_BODY_BYTES` instead (`asgi.create_app`).
"""

from __future__ import annotations

import asyncio
import base64
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from hugmood.application.age import AgeGate, record_age_verified, verified_age
from hugmood.bootstrap import HugMood
from hugmood.config import Settings
from hugmood.domain.errors import HugMoodError
from hugmood.domain.regions import GATED_FEATURES
from hugmood.entrypoints.http import community, learning, sealed
from hugmood.entrypoints.http.caller import command_context, signed_in
from hugmood.entrypoints.http.images import error, refusal
from hugmood.eventstore.store import EventStoreUnavailable
from hugmood.learning.aggregation import UpdateRejected
from hugmood.learning.service import LearningUnavailable
from hugmood.privacy.he.errors import (
    DecryptionServiceUnavailable,
    ForeignCiphertext,
    HomomorphicError,
    MalformedCiphertext,
)
from hugmood.privacy.workers import open_pool
from hugmood.privacy.zk.challenges import MemoryChallengeStore
from hugmood.privacy.zk.errors import (
    AgeVerificationError,
    ChallengeInvalid,
    MalformedProof,
    ProofRejected,
    UnknownIssuer,
    UnsupportedThreshold,
    VerifierUnavailable,
)
from hugmood.privacy.zk.issuers import TrustList
from hugmood.privacy.zk.protocol import AgeProof
from hugmood.privacy.zk.verifier import AgeVerifier
from hugmood.sql.database import DatabaseUnavailable

ROOT = "/privacy/"
PREFIX = "/privacy/age"
MAX_BODY_BYTES = 2_000_000

_STATUS: tuple[tuple[type[AgeVerificationError], int, str], ...] = (
    (MalformedProof, 400, "VALIDATION"),
    (UnsupportedThreshold, 400, "VALIDATION"),
    (ChallengeInvalid, 400, "VALIDATION"),
    (UnknownIssuer, 403, "FORBIDDEN"),
    (ProofRejected, 403, "FORBIDDEN"),
)


class PrivacyServices:
    """Age checks (trust list, one-time challenges, verifier workers) and a worker process for
    sums on ciphertexts; both pools start on first use and stop with the app."""

    def __init__(self, settings: Settings) -> None:
        self.required = settings.age_required
        self.trust = TrustList.parse(
            settings.zk_trusted_issuers, include_test_issuer=settings.development
        )
        cache = Path(settings.zk_circuit_dir or settings.data_dir / "zk-circuits").expanduser()
        self.verifier = AgeVerifier(
            self.trust,
            MemoryChallengeStore(),
            cache_dir=cache,
            audience=f"hugmood/{settings.region}",
            workers=settings.zk_workers,
        )
        self._stack = AsyncExitStack()
        self._compute: ProcessPoolExecutor | None = None
        self._compute_lock = asyncio.Lock()

    async def compute(self) -> ProcessPoolExecutor:
        """The process that adds ciphertexts (gmpy2 holds the GIL: not on the loop), started
        on first use in a thread (`privacy.workers`)."""
        async with self._compute_lock:
            if self._compute is None:
                self._compute = await open_pool(1)
                self._stack.callback(self._compute.shutdown, wait=True, cancel_futures=True)
        return self._compute

    async def __aenter__(self) -> Self:
        await self._stack.enter_async_context(self.verifier)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()


class PrivacyPaths:
    """Sends `/privacy/…` to its own stack (`privacy`); everything else to `app`."""

    def __init__(self, app: ASGIApp, *, privacy: ASGIApp) -> None:
        self.app = app
        self.privacy = privacy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith(ROOT):
            await self.privacy(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


async def privacy_requests(request: Request) -> Response:
    """The `/privacy/…` paths: age proofs and sealed mode."""
    routes = {
        ("GET", PREFIX): _status,
        ("POST", f"{PREFIX}/challenge"): _challenge,
        ("POST", f"{PREFIX}/proof"): _proof,
        ("PUT", "/privacy/sealed/key"): sealed.put_key,
        ("POST", "/privacy/sealed/entries"): sealed.post_entry,
        ("GET", "/privacy/sealed/history"): sealed.get_history,
        ("GET", "/privacy/community"): community.get_community,
        ("POST", "/privacy/community/contributions"): community.post_contribution,
        ("GET", "/privacy/community/averages"): community.get_averages,
        **learning.ROUTES,
    }
    handler = routes.get((request.method, request.url.path.rstrip("/")))
    if handler is None:
        return error(
            404,
            f"no such path; use GET {PREFIX} or POST {PREFIX}/challenge and {PREFIX}/proof",
            "NOT_FOUND",
        )
    core: HugMood = request.app.state.core
    age: PrivacyServices = request.app.state.age
    try:
        user_id = await signed_in(core, request)
        return await handler(core, age, request, user_id)
    except HugMoodError as e:
        return refusal(e)
    except UpdateRejected as e:
        return error(learning.status_of(e), str(e), e.code)
    except (VerifierUnavailable, DecryptionServiceUnavailable, LearningUnavailable) as e:
        return error(503, str(e), "UNAVAILABLE")
    except (ForeignCiphertext, MalformedCiphertext) as e:
        return error(400, str(e), "VALIDATION", field="ciphertext")
    except HomomorphicError as e:
        return error(400, str(e), "VALIDATION", field="cohort")
    except AgeVerificationError as e:
        status, code = next((s, c) for kind, s, c in _STATUS if isinstance(e, kind))
        return error(status, str(e), code, field="proof")
    except (EventStoreUnavailable, DatabaseUnavailable):
        return error(
            503,
            "HugMood's storage is unavailable right now; please try again shortly",
            "UNAVAILABLE",
        )


async def _body(request: Request) -> Any:
    data = bytearray()
    async for chunk in request.stream():  # bounded by `BodySizeLimitMiddleware`
        data += chunk
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise MalformedProof("the body must be JSON") from None


async def _status(core: HugMood, age: PrivacyServices, request: Request, user_id: str) -> Response:
    gate = AgeGate(core.deps, user_id)
    rules = {f.key: await gate.rule_for(f) for f in GATED_FEATURES}
    return _json(
        {
            "verifiedAge": await verified_age(core.deps.store, user_id),
            # The age one proof should show to open every gated feature for this person.
            "required": max(r.threshold for r in rules.values()),
            "rules": {k: {"age": r.threshold, "rule": r.rule} for k, r in rules.items()},
            "trustedIssuers": sorted(age.trust.issuers),
            "communityAverages": community.available(core),
        }
    )


async def _challenge(
    core: HugMood, age: PrivacyServices, request: Request, user_id: str
) -> Response:
    body = await _body(request)
    threshold = body.get("threshold") if isinstance(body, dict) else None
    if not isinstance(threshold, int) or isinstance(threshold, bool):
        raise MalformedProof('send {"threshold": <age>} (13, 16, 18 or 21)')
    challenge = age.verifier.issue(user_id, threshold)
    return _json(
        {
            "nonce": base64.urlsafe_b64encode(challenge.nonce).decode("ascii"),
            "threshold": threshold,
            "audience": age.verifier.audience,
            "at": challenge.issued_at.isoformat(),
            "expiresAt": challenge.expires_at.isoformat(),
        },
        201,
    )


async def _proof(core: HugMood, age: PrivacyServices, request: Request, user_id: str) -> Response:
    submission = AgeProof.from_json(await _body(request))
    outcome = await age.verifier.verify(user_id, submission)
    await record_age_verified(
        core.deps,
        command_context(request.scope, region=core.settings.region),
        user_id=user_id,
        threshold=outcome.threshold,
        issuer=outcome.issuer,
    )
    return _json(
        {"threshold": outcome.threshold, "issuer": outcome.issuer, "at": outcome.at.isoformat()}
    )
