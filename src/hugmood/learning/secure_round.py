"""One round of secure aggregation as the coordinator runs it over the network: devices join
with their keys, share sealed secrets with their neighbours, send masked updates, then reveal
shares so that the sum (and only the sum) of the survivors' updates can be rebuilt.

Pure state, no I/O: the service moves it from phase to phase (on its deadlines or when every
expected device answered) and answers devices from `view`.
"""

from __future__ import annotations

import base64
import binascii
from concurrent.futures import Executor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from hugmood.learning import secagg
from hugmood.learning.aggregation import UpdateRejected
from hugmood.learning.model import Metrics, Vector
from hugmood.learning.secagg import SealedBundle, Words

KEY_BYTES = 32
MAX_SHARE_BYTES = 256
"""A share is 2 + 16 (seed) or 2 + 32 (key) bytes; anything longer is refused."""
MAX_BUNDLE_BYTES = 1024
MIN_PARTICIPANTS = 3
"""Fewer devices than this and the sum would tell each one the other's update."""


class Phase(StrEnum):
    JOIN = "join"
    SHARE = "share"
    MASK = "mask"
    UNMASK = "unmask"
    EVALUATE = "evaluate"


@dataclass(frozen=True, slots=True)
class Report:
    """A device's evaluation of the candidate and of the current version on its held-out
    check-ins."""

    examples: int
    candidate: Metrics
    current: Metrics


MAX_EXAMPLES = 100_000


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(value: object, what: str, *, size: int | None = None, limit: int = 4096) -> bytes:
    """Bytes from base64 text, or `UpdateRejected("BAD_SHAPE")` naming `what`."""
    if not isinstance(value, str) or len(value) > limit * 2:
        raise UpdateRejected("BAD_SHAPE", f"{what} must be base64 text")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise UpdateRejected("BAD_SHAPE", f"{what} must be base64 text") from None
    if size is not None and len(raw) != size:
        raise UpdateRejected("BAD_SHAPE", f"{what} must be {size} bytes")
    if len(raw) > limit:
        raise UpdateRejected("BAD_SHAPE", f"{what} is too long")
    return raw


@dataclass(frozen=True, slots=True)
class Keys:
    public: bytes
    transport: bytes


def _index(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise UpdateRejected("BAD_SHAPE", f"{what} must be an integer")
    return value


@dataclass
class SecureRound:
    """The secure-aggregation state of round `number` on `version`, for vectors of `length`
    words, each device sharing with `degree` neighbours."""

    number: int
    version: int
    length: int
    degree: int
    phase: Phase = Phase.JOIN
    phase_ends: float = 0.0
    joined: dict[str, Keys] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)
    """Each participant's index, fixed when joining ends (in order of their client id)."""
    bundles: dict[int, list[SealedBundle]] = field(default_factory=dict)
    """Sealed bundles by their holder."""
    sharers: set[int] = field(default_factory=set)
    masked: dict[int, Words] = field(default_factory=dict)
    survivors: set[int] = field(default_factory=set)
    dropped: set[int] = field(default_factory=set)
    reveals: dict[int, list[tuple[int, str, bytes]]] = field(default_factory=dict)
    update: Vector | None = None
    """The noised mean update, once unmasked."""
    candidate: Vector | None = None
    reports: dict[int, Report] = field(default_factory=dict)

    @property
    def context(self) -> bytes:
        return context(self.number, self.version)

    @property
    def clients(self) -> int:
        return len(self.members)

    def _keys(self) -> dict[int, Keys]:
        return {self.members[c]: k for c, k in self.joined.items() if c in self.members}

    def _member(self, client: str, phase: Phase) -> int:
        if self.phase is not phase:
            raise UpdateRejected(
                "WRONG_PHASE", f"round {self.number} is in its {self.phase.value} phase"
            )
        index = self.members.get(client)
        if index is None:
            raise UpdateRejected("NOT_A_PARTICIPANT", "this device is not in this round")
        return index

    # --- what devices send ----------------------------------------------------------------

    def join(self, client: str, public_key: bytes, transport_key: bytes) -> None:
        if self.phase is not Phase.JOIN:
            raise UpdateRejected("WRONG_PHASE", f"round {self.number} is no longer open to join")
        if client in self.joined:
            raise UpdateRejected("ALREADY_SENT", "this device already joined the round")
        self.joined[client] = Keys(public_key, transport_key)

    def share(self, client: str, sealed: list[tuple[int, bytes]]) -> None:
        """One sealed bundle for each of the device's neighbours, and nothing else."""
        index = self._member(client, Phase.SHARE)
        if index in self.sharers:
            raise UpdateRejected("ALREADY_SENT", "this device already sent its shares")
        near = secagg.neighbours(index, self.clients, self.degree)
        if sorted(h for h, _ in sealed) != near:
            raise UpdateRejected("BAD_SHAPE", f"send one bundle to each neighbour: {near}")
        for holder, ciphertext in sealed:
            self.bundles.setdefault(holder, []).append(SealedBundle(index, holder, ciphertext))
        self.sharers.add(index)

    def mask(self, client: str, words: Words) -> None:
        self.masked[self.check_mask(client, words)] = words

    def check_mask(self, client: str, words: Words) -> int:
        """The device's index if it may send this masked update now."""
        index = self._member(client, Phase.MASK)
        if index not in self.sharers:
            raise UpdateRejected("NOT_A_PARTICIPANT", "this device did not share its secrets")
        if index in self.masked:
            raise UpdateRejected("ALREADY_SENT", "the client already sent an update this round")
        if words.shape != (self.length,):
            raise UpdateRejected(
                "BAD_SHAPE", f"the masked update must be {self.length} 64-bit words"
            )
        return index

    def withdraw(self, client: str) -> bool:
        """A device's person withdrew consent: its update is left out of the sum (its masks
        are removed as a dropped device's). False when that is no longer possible (its update
        is already among the survivors'): the round must end without a sum."""
        if self.phase is Phase.JOIN:
            self.joined.pop(client, None)
        index = self.members.get(client)
        if index is None:
            return True
        if self.phase is Phase.UNMASK:
            return index not in self.survivors
        self.masked.pop(index, None)
        return True

    def reveal(self, client: str, shares: list[tuple[int, str, bytes]]) -> None:
        index = self._member(client, Phase.UNMASK)
        if index not in self.survivors:
            raise UpdateRejected("NOT_A_PARTICIPANT", "this device's update is not in the sum")
        if index in self.reveals:
            raise UpdateRejected("ALREADY_SENT", "this device already revealed its shares")
        for owner, kind, share in shares:
            wanted = "seed" if owner in self.survivors else "key" if owner in self.dropped else None
            if kind != wanted or len(share) > MAX_SHARE_BYTES:
                raise UpdateRejected("BAD_SHAPE", f"no {kind} share of device {owner} is asked")
        self.reveals[index] = shares

    def evaluation(self, client: str, report: Report) -> None:
        index = self._member(client, Phase.EVALUATE)
        if index not in self.survivors:
            raise UpdateRejected("NOT_A_PARTICIPANT", "this device's update is not in the sum")
        if index in self.reports:
            raise UpdateRejected("ALREADY_SENT", "this device already sent its evaluation")
        self.reports[index] = report

    def federated(self) -> tuple[Metrics, Metrics] | None:
        """The candidate's and the current version's metrics over the devices' held-out
        check-ins, weighted by their examples; None when no device reported."""
        reports = list(self.reports.values())
        if not reports:
            return None
        return _weighted([r.candidate for r in reports]), _weighted([r.current for r in reports])

    # --- phases ---------------------------------------------------------------------------

    def start_evaluating(self, update: Vector, current: Vector) -> None:
        self.update = update
        self.candidate = current + update
        self.phase = Phase.EVALUATE

    def start_sharing(self) -> bool:
        """Fix the participants; False when too few joined for a secure sum."""
        if len(self.joined) < MIN_PARTICIPANTS:
            return False
        self.members = {c: i for i, c in enumerate(sorted(self.joined))}
        self.phase = Phase.SHARE
        return True

    def start_masking(self) -> bool:
        if len(self.sharers) < MIN_PARTICIPANTS:
            return False
        self.phase = Phase.MASK
        return True

    def start_unmasking(self) -> bool:
        if len(self.masked) < MIN_PARTICIPANTS:
            return False
        self.survivors = set(self.masked)
        self.dropped = self.sharers - self.survivors
        self.phase = Phase.UNMASK
        return True

    def everyone_answered(self) -> bool:
        match self.phase:
            case Phase.SHARE:
                return len(self.sharers) == self.clients
            case Phase.MASK:
                return len(self.masked) == len(self.sharers)
            case Phase.UNMASK:
                return len(self.reveals) == len(self.survivors)
            case Phase.EVALUATE:
                return len(self.reports) == len(self.survivors)
            case _:
                return False

    def unmask(self, pool: Executor | None = None, workers: int = 1) -> Words:
        """The sum of the survivors' vectors (raises `secagg.UnmaskingFailed` when too few
        shares arrived); the rebuilds spread over `pool` when given."""
        public = {i: k.public for i, k in self._keys().items() if i in self.sharers}
        return secagg.unmask(
            self.masked,
            list(self.reveals.values()),
            public,
            clients=self.clients,
            degree=self.degree,
            context=self.context,
            pool=pool,
            workers=workers,
        )

    # --- what a device sees ---------------------------------------------------------------

    def view(self, client: str) -> dict[str, Any]:
        """The round as device `client` needs it in the current phase."""
        out: dict[str, Any] = {
            "round": self.number,
            "version": self.version,
            "phase": self.phase.value,
            "joined": client in self.joined,
        }
        index = self.members.get(client)
        if self.phase is Phase.JOIN or index is None:
            return out
        # Only its neighbours' keys: a device never needs the others' (and a view of a
        # thousand devices' keys, polled by each, would not scale).
        near = set(secagg.neighbours(index, self.clients, self.degree))
        keys = {i: k for i, k in self._keys().items() if i in near}
        out |= {"index": index, "clients": self.clients, "degree": self.degree}
        if self.phase is Phase.SHARE:
            out["transportKeys"] = {str(i): b64(k.transport) for i, k in keys.items()}
        if self.phase is Phase.MASK:
            out["transportKeys"] = {str(i): b64(k.transport) for i, k in keys.items()}
            out["publicKeys"] = {
                str(i): b64(k.public) for i, k in keys.items() if i in self.sharers
            }
            out["bundles"] = [
                {"owner": b.owner, "ciphertext": b64(b.ciphertext)}
                for b in self.bundles.get(index, [])
            ]
        if self.phase is Phase.UNMASK:
            out["survivors"] = sorted(self.survivors)
            out["dropped"] = sorted(self.dropped)
        if self.phase is Phase.EVALUATE and index in self.survivors:
            assert self.candidate is not None
            out["candidate"] = b64(self.candidate.astype("<f8").tobytes())
        return out


def context(number: int, version: int) -> bytes:
    """What binds a round's seeds and bundles to that round and version."""
    return f"hugmood learning round {number} version {version}".encode()


def words_from(value: object, length: int) -> Words:
    """A masked update from base64 of little-endian 64-bit words."""
    raw = unb64(value, "masked", size=8 * length, limit=8 * length)
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)


def parse_bundles(value: object) -> list[tuple[int, bytes]]:
    if not isinstance(value, list) or len(value) > 1000:
        raise UpdateRejected("BAD_SHAPE", "bundles must be a list")
    out: list[tuple[int, bytes]] = []
    for item in value:
        if not isinstance(item, dict):
            raise UpdateRejected("BAD_SHAPE", "each bundle is {holder, ciphertext}")
        out.append(
            (
                _index(item.get("holder"), "holder"),
                unb64(item.get("ciphertext"), "ciphertext", limit=MAX_BUNDLE_BYTES),
            )
        )
    return out


def parse_shares(value: object) -> list[tuple[int, str, bytes]]:
    if not isinstance(value, list) or len(value) > 1000:
        raise UpdateRejected("BAD_SHAPE", "shares must be a list")
    out: list[tuple[int, str, bytes]] = []
    for item in value:
        if not isinstance(item, dict) or item.get("kind") not in ("seed", "key"):
            raise UpdateRejected("BAD_SHAPE", "each share is {owner, kind: seed|key, share}")
        out.append(
            (
                _index(item.get("owner"), "owner"),
                str(item["kind"]),
                unb64(item.get("share"), "share", limit=MAX_SHARE_BYTES),
            )
        )
    return out


def _weighted(metrics: list[Metrics]) -> Metrics:
    n = sum(m.examples for m in metrics)
    return Metrics(
        n,
        sum(m.accuracy * m.examples for m in metrics) / n,
        sum(m.loss * m.examples for m in metrics) / n,
        sum(m.intensity_error * m.examples for m in metrics) / n,
    )


def _number(value: object, what: str, low: float, high: float) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not low <= float(value) <= high
    ):
        raise UpdateRejected("BAD_SHAPE", f"{what} must be a number from {low} to {high}")
    return float(value)


def parse_report(body: dict[str, Any]) -> Report:
    """A device's evaluation: `{examples, candidate: {loss, accuracy, intensityError},
    current: {…}}` (finite numbers in range, or `BAD_SHAPE`)."""
    examples = int(_number(body.get("examples"), "examples", 1, MAX_EXAMPLES))

    def metrics(name: str) -> Metrics:
        part = body.get(name)
        if not isinstance(part, dict):
            raise UpdateRejected("BAD_SHAPE", f"{name} must be {{loss, accuracy, intensityError}}")
        return Metrics(
            examples,
            _number(part.get("accuracy"), f"{name}.accuracy", 0.0, 1.0),
            _number(part.get("loss"), f"{name}.loss", 0.0, 1e6),
            _number(part.get("intensityError"), f"{name}.intensityError", 0.0, 1.0),
        )

    return Report(examples, metrics("candidate"), metrics("current"))
