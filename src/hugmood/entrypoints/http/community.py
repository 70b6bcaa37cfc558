"""Community averages over HTTP (under `/privacy/`, see `http.age`): `GET /privacy/community`
(the decryption service's key and the open cohort), `POST /privacy/community/contributions`
`{"cohort", "ciphertext"}` (one a person a cohort) and `GET /privacy/community/averages?from&to`
(the noisy releases of closed cohorts of at least k)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hugmood.application.age import AgeGate
from hugmood.bootstrap import HugMood
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.regions import COMMUNITY, GatedFeature
from hugmood.privacy.he.errors import DecryptionServiceUnavailable
from hugmood.privacy.he.job import CommunityJob

if TYPE_CHECKING:
    from hugmood.entrypoints.http.age import PrivacyServices

COMMUNITY_AVERAGES = GatedFeature(COMMUNITY.key, "Community averages")
MAX_DAYS = 366


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def available(core: HugMood) -> bool:
    """Whether this server collects and releases community averages."""
    return any(isinstance(s, CommunityJob) for s in core.services)


def _job(core: HugMood) -> CommunityJob:
    """The aggregation job among this process's services (`bootstrap` starts it beside the
    HTTP paths, where contributions arrive and wait for their cohort to close)."""
    job = next((s for s in core.services if isinstance(s, CommunityJob)), None)
    if job is None:
        raise DecryptionServiceUnavailable(
            "community averages are not set up on this server (HUGMOOD_COMMUNITY_DECRYPTOR_DIR)"
        )
    return job


async def get_community(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    await AgeGate(core.deps, user_id).require(COMMUNITY_AVERAGES)
    return _json(await _job(core).describe())


async def post_contribution(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    await AgeGate(core.deps, user_id).require(COMMUNITY_AVERAGES)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ValidationFailed("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    cohort = body.get("cohort")
    await _job(core).accept(cohort, body.get("ciphertext"), user_id)
    return _json({"cohort": cohort, "accepted": True}, 201)


def _day(value: str | None, default: date, field: str) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{field} must be a date (YYYY-MM-DD)", field=field) from None


async def get_averages(
    core: HugMood, services: PrivacyServices, request: Request, user_id: str
) -> Response:
    await AgeGate(core.deps, user_id).require(COMMUNITY_AVERAGES)
    today = datetime.now(UTC).date()
    end = _day(request.query_params.get("to"), today, "to")
    month_before = end - timedelta(days=30) if end > date.min + timedelta(days=30) else date.min
    start = _day(request.query_params.get("from"), month_before, "from")
    if not timedelta(0) <= end - start <= timedelta(days=MAX_DAYS):
        raise ValidationFailed(f"from must be before to, at most {MAX_DAYS} days", field="from")
    job = _job(core)
    return _json({"k": job.k, "releases": await job.releases(start, end)})
