"""How HugMood runs an operation on graphql-core's executor: bounded in time, and with no
resolver left un-awaited.

graphql-core runs sibling fields as tasks and cancels those still pending when one fails.
A task cancelled before its first step never starts its coroutine, so the resolver coroutine
that coroutine was handed is dropped without ever being awaited: Python then warns ("coroutine
… was never awaited", or "Exception ignored in …" when the collector runs it at an awkward
moment). Every resolver coroutine is therefore closed once the field that held it is gone;
closing one that already ran is a no-op.
"""

from __future__ import annotations

import time
import weakref
from types import CoroutineType
from typing import Any

from hugmood.domain.errors import HugMoodError


class OperationTooLong(HugMoodError):
    """An operation ran past its time bound and was stopped between two fields."""

    code = "TIMEOUT"


def hugmood_executor(base: type[Any], max_seconds: float) -> type[Any]:
    """`base` (a graphql-core executor class) that stops an operation once it has run for
    `max_seconds`, and never leaves a resolver coroutine un-awaited.

    The time check sits before each field, so no resolver is cut halfway (a command that
    started finishes) and no operation holds the event loop for long: the cost budget
    (`limits.py`) bounds how much synchronous work lies between two checks."""

    class HugMoodExecutor(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.hugmood_deadline = time.monotonic() + max_seconds

        def execute_field(self, *args: Any, **kwargs: Any) -> Any:
            if time.monotonic() > self.hugmood_deadline:
                raise OperationTooLong(
                    f"the operation ran for more than {max_seconds:g} s and was stopped; "
                    "ask for less at once"
                )
            return super().execute_field(*args, **kwargs)

        def complete_awaitable_value(self, *args: Any, **kwargs: Any) -> Any:
            completion = super().complete_awaitable_value(*args, **kwargs)
            resolver = kwargs["result"] if "result" in kwargs else args[4]
            if isinstance(resolver, CoroutineType):
                weakref.finalize(completion, resolver.close)
            return completion

    return HugMoodExecutor
