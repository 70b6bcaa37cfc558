"""A secure round's parsing of what devices send (each malformed part refused as BAD_SHAPE)
and what a device is shown (only its neighbours' keys, the candidate only to survivors)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from hugmood.learning.aggregation import UpdateRejected
from hugmood.learning.secure_round import (
    Phase,
    SecureRound,
    parse_bundles,
    parse_report,
    parse_shares,
    unb64,
    words_from,
)


def _code(call: object) -> str:
    assert callable(call)
    with pytest.raises(UpdateRejected) as refused:
        call()
    return refused.value.code


@pytest.mark.parametrize(
    "bad",
    [
        lambda: unb64("not base64!", "key"),
        lambda: unb64(base64.b64encode(b"x" * 31).decode(), "key", size=32),
        lambda: unb64(7, "key"),
        lambda: words_from(base64.b64encode(b"\0" * 16).decode(), 3),
        lambda: parse_bundles("x"),
        lambda: parse_bundles([{"holder": "1", "ciphertext": "AA=="}]),
        lambda: parse_shares([{"owner": 1, "kind": "password", "share": "AA=="}]),
        lambda: parse_report({"examples": 0, "candidate": {}, "current": {}}),
        lambda: parse_report(
            {
                "examples": 5,
                "candidate": {"loss": float("nan"), "accuracy": 0.5, "intensityError": 0.1},
                "current": {"loss": 1.0, "accuracy": 0.5, "intensityError": 0.1},
            }
        ),
        lambda: parse_report(
            {
                "examples": 5,
                "candidate": {"loss": 1.0, "accuracy": 1.5, "intensityError": 0.1},
                "current": {"loss": 1.0, "accuracy": 0.5, "intensityError": 0.1},
            }
        ),
    ],
)
def test_malformed_parts_are_refused_as_bad_shape(bad: object) -> None:
    assert _code(bad) == "BAD_SHAPE"


def test_a_device_sees_only_its_neighbours_keys_and_survivors_the_candidate() -> None:
    secure = SecureRound(1, 0, 4, degree=2)
    for n in range(6):
        secure.join(f"d{n}", bytes([n]) * 32, bytes([n + 10]) * 32)
    assert secure.start_sharing()
    view = secure.view("d0")
    assert view["phase"] == "share" and view["index"] == 0
    assert sorted(view["transportKeys"]) == ["1", "5"]  # a ring: one on each side
    secure.sharers = set(range(6))
    secure.phase = Phase.MASK
    secure.masked = {i: np.zeros(4, dtype=np.uint64) for i in (0, 1, 2)}
    assert secure.start_unmasking()
    secure.start_evaluating(np.ones(4), np.zeros(4))
    assert "candidate" in secure.view("d0")
    assert "candidate" not in secure.view("d4")  # dropped: not shown the candidate
    with pytest.raises(UpdateRejected) as refused:
        secure.join("late", bytes(32), bytes(32))
    assert refused.value.code == "WRONG_PHASE"
