"""Running an operation: stopped between fields once past its time bound, and no resolver
coroutine left un-awaited when a sibling field fails."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from typing import Any

import strawberry
from graphql import ExecutionResult, execute, parse

from hugmood.entrypoints.graphql.errors import map_error
from hugmood.entrypoints.graphql.execution import hugmood_executor

RESOLVED: list[int] = []


@strawberry.type
class Item:
    @strawberry.field
    def slow(self) -> int:
        time.sleep(0.002)
        RESOLVED.append(1)
        return 1

    @strawberry.field
    async def name(self) -> str:
        return "x"

    @strawberry.field
    async def later(self) -> int:
        await asyncio.sleep(0)
        return 1


@strawberry.type
class Query:
    @strawberry.field
    def items(self, count: int) -> list[Item]:
        return [Item() for _ in range(count)]

    @strawberry.field
    async def fails(self) -> str:
        raise ValueError("a sibling that fails at once")

    @strawberry.field
    async def async_items(self) -> list[Item]:
        return [Item() for _ in range(3)]


def run(query: str, max_seconds: float) -> ExecutionResult:
    RESOLVED.clear()
    schema = strawberry.Schema(query=Query)
    executor: Any = hugmood_executor(schema.execution_context_class, max_seconds)
    result = execute(schema._schema, parse(query), executor_class=executor)
    assert isinstance(result, ExecutionResult)
    return result


def test_an_operation_running_past_its_bound_is_stopped_between_fields() -> None:
    result = run("{ items(count: 1000) { slow } }", max_seconds=0.05)
    assert result.data is None
    assert result.errors
    mapped = map_error(result.errors[0], development=False)
    assert mapped.extensions == {"code": "TIMEOUT"}
    assert "ran for more than 0.05 s" in mapped.message
    # Stopped long before the 1,000th field (each takes 2 ms against a 50 ms bound).
    assert len(RESOLVED) < 500


def test_an_operation_within_its_bound_is_untouched() -> None:
    result = run("{ items(count: 50) { slow } }", max_seconds=60)
    assert result.errors is None
    assert result.data is not None and len(result.data["items"]) == 50


async def test_no_resolver_is_left_unawaited_when_a_sibling_fails_at_once() -> None:
    schema = strawberry.Schema(query=Query)
    executor: Any = hugmood_executor(schema.execution_context_class, 60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for query in ("{ fails asyncItems { name later } }", "{ asyncItems { name later } fails }"):
            result = execute(schema._schema, parse(query), executor_class=executor)
            if not isinstance(result, ExecutionResult):
                result = await result
            assert result.data is None and result.errors
        await asyncio.sleep(0.01)  # let the cancelled siblings settle, then collect them
        gc.collect()
    unawaited = [str(w.message) for w in caught if "never awaited" in str(w.message)]
    assert unawaited == []
