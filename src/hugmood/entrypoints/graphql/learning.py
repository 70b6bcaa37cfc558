"""What a device hears of federated learning over its live connection: a new global version
of the mood model (it fetches the weights from `GET /privacy/learning/model`)."""

from __future__ import annotations

import strawberry

from hugmood.realtime.hub import Message


@strawberry.type(description="A global version of the mood model, just published.")
class ModelVersion:
    number: int
    epsilon: float = strawberry.field(
        description="The differential-privacy epsilon its training spent (at most 8)."
    )

    @staticmethod
    def of(message: Message) -> ModelVersion:
        return ModelVersion(number=int(message["version"]), epsilon=float(message["epsilon"]))
