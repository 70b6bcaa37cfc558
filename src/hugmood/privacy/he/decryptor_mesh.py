"""The decryption service on the region's service mesh (decision 0015), and the aggregation
job's client for it.

`decryptor.public-key` answers any verified HugMood process of the region (edges hand the key
to devices). `decryptor.release` answers the aggregation job only: the mesh has verified that
a process holding the region's secret signed the request unchanged and just now; the service
then requires that process to be an `aggregation-job` and the request to carry an HMAC under
the job secret, which only the job's host has (the mesh secret is shared by every process of
the region, so it alone cannot tell the job from an edge). Anything else is refused (403) and
written to the audit log. Contributions travel in parts of `PART_SIZE`, as a mesh request is
one NATS message (1 MB by default).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from nats.aio.client import Client

from hugmood.config import Settings
from hugmood.mesh import errors as codes
from hugmood.mesh.client import MeshClient
from hugmood.mesh.errors import MeshError, Refused
from hugmood.mesh.identity import Caller, RequestVerifier, mesh_key
from hugmood.mesh.service import JsonObject, MeshEndpoint, MeshServices, MeshServiceSpec
from hugmood.mesh.start import mesh_client, process_name
from hugmood.privacy.he.decryptor import (
    REFUSALS,
    DecryptionService,
    ReleaseRequests,
    raise_refusal,
)
from hugmood.privacy.he.errors import (
    DecryptionServiceUnavailable,
    HomomorphicError,
    NotAuthorised,
)
from hugmood.privacy.he.keys import PublicKey, public_key_from_json, public_key_to_json
from hugmood.unavailable import BackendUnavailable

SERVICE = "decryptor"
VERSION = "1.0.0"
JOB_KIND = "aggregation-job"
"""The mesh process kind the release endpoint answers (`aggregation-job:<host>:<pid>`)."""
PART_SIZE = 200
"""Contributions a release request carries (~1 KB each: ~210 KB, well under NATS's 1 MB)."""
MAX_REQUEST_BYTES = 512 * 1024
PUBLIC_KEY_DEADLINE_S = 5.0
RELEASE_DEADLINE_S = 120.0
"""A part is ~200 decryptions (1-2 s, more on a busy machine); it is never sent twice."""

_CODES = {
    "NotAuthorised": codes.FORBIDDEN,
    "CohortTooSmall": codes.CONFLICT,
    "BudgetExhausted": codes.CONFLICT,
}


def decryptor_service(service: DecryptionService) -> MeshServiceSpec:
    """`decryptor.public-key` and `decryptor.release` over `service`'s decisions."""

    async def public_key(caller: Caller, payload: JsonObject) -> JsonObject:
        return {"publicKey": public_key_to_json(service.public_key)}

    async def release(caller: Caller, payload: JsonObject) -> JsonObject:
        if not caller.service.startswith(f"{JOB_KIND}:"):
            answer = service.refuse(
                payload, f"only the aggregation job may ask for a decryption ({caller.service})"
            )
        else:
            # Decrypting a part is CPU for a second or two: off the loop, so the instance
            # keeps answering pings. nats.micro runs one release at a time per instance.
            answer = await asyncio.to_thread(service.handle, payload)
        if not answer["ok"]:
            error = str(answer["error"])
            raise Refused(_CODES.get(error, codes.BAD_REQUEST), f"{error}: {answer['message']}")
        return answer

    return MeshServiceSpec(
        name=SERVICE,
        version=VERSION,
        description="The community decryption service: noisy sums of cohorts of at least k",
        endpoints=(
            MeshEndpoint("public-key", public_key, "The community public key", needs_user=False),
            MeshEndpoint(
                "release",
                release,
                "One part of a cohort's release (the aggregation job only)",
                idempotent=False,
                needs_user=False,
            ),
        ),
    )


def decryptor_mesh(service: DecryptionService, settings: Settings, nc: Client) -> MeshServices:
    """The service as a mesh instance of this region, to enter while it runs."""
    return MeshServices(
        nc,
        (decryptor_service(service),),
        RequestVerifier(mesh_key(settings.secret_key, settings.region)),
        region=settings.region,
        subject_prefix=settings.nats_subject_prefix,
        process=process_name(SERVICE),
        max_request_bytes=MAX_REQUEST_BYTES,
    )


async def serve_mesh(service: DecryptionService, settings: Settings) -> None:
    """Answer on the mesh until cancelled (no socket is opened)."""
    from hugmood.messaging.jetstream import connect

    settings = settings.with_secret()
    nc = await connect(settings.nats_url, name="hugmood decryptor")
    try:
        async with decryptor_mesh(service, settings, nc):
            print(f"decryptor ready on the mesh of {settings.region}", flush=True)
            await asyncio.Event().wait()
    finally:
        await nc.close()


class MeshDecryptionClient:
    """The aggregation job's side: asks `decryptor` over the mesh, signed as an
    `aggregation-job` process, on a NATS connection of its own (made on first use)."""

    def __init__(
        self, settings: Settings, job_secret: bytes | None, *, part_size: int = PART_SIZE
    ) -> None:
        self._settings = settings
        self._requests = ReleaseRequests(job_secret, process_name(JOB_KIND), part_size)
        self._nc: Client | None = None
        self._mesh: MeshClient | None = None
        self._lock = asyncio.Lock()

    async def _client(self) -> MeshClient:
        async with self._lock:
            if self._mesh is None:
                from hugmood.messaging.jetstream import connect

                try:
                    self._nc = await connect(
                        self._settings.nats_url, name="hugmood aggregation job"
                    )
                except BackendUnavailable as e:
                    raise DecryptionServiceUnavailable(str(e)) from e
                self._mesh = mesh_client(self._settings, self._nc, kind=JOB_KIND)
            return self._mesh

    async def _ask(self, endpoint: str, payload: JsonObject, *, idempotent: bool) -> Any:
        mesh = await self._client()
        try:
            return await mesh.request(
                SERVICE,
                endpoint,
                payload,
                user_id=None,
                idempotent=idempotent,
                deadline_s=PUBLIC_KEY_DEADLINE_S if idempotent else RELEASE_DEADLINE_S,
                wait_for_instance=False,
            )
        except Refused as e:
            if e.code == codes.UNAUTHENTICATED:
                raise NotAuthorised(f"the mesh refused the job: {e.description}") from None
            name, _, message = e.description.partition(": ")
            if name in REFUSALS:
                raise_refusal(name, message)
            raise HomomorphicError(f"the decryption service refused: {e}") from None
        except MeshError as e:
            raise DecryptionServiceUnavailable(f"no decryption service on the mesh: {e}") from e

    async def public_key(self) -> PublicKey:
        answer = await self._ask("public-key", {}, idempotent=True)
        return public_key_from_json(answer["publicKey"])

    async def release(
        self,
        public_key: PublicKey,
        cohort: str,
        contributions: Sequence[int],
        *,
        epsilon: float = 1.0,
    ) -> dict[str, Any]:
        """One cohort's noisy sums, its contributions sent in parts of PART_SIZE."""
        answer: dict[str, Any] = {}
        for request in self._requests.parts(public_key, cohort, contributions, epsilon):
            answer = await self._ask("release", request, idempotent=False)
        result: dict[str, Any] = answer["release"]
        return result

    async def aclose(self) -> None:
        if self._nc is not None:
            await self._nc.close()
            self._nc, self._mesh = None, None
