"""What one GraphQL operation may ask for: depth, aliases and cost, measured with every fragment
expanded (the time bound on running it is in `execution.py`).

Fragments may spread other fragments several times, so a 1 KB document can stand for 2^n
fields. Measuring it by walking every expansion would itself take 2^n steps (Strawberry's depth
and alias limiters do, and froze the server). Here each fragment is measured once and its
measure reused wherever it is spread, so measuring is linear in the document; the cost it finds
is the full expanded size, and an operation over the budget never runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int
    """Nested selection levels below a root field (`{ a { b { c } } }` is 2)."""
    max_aliases: int
    max_cost: int
    """Fields the operation would resolve once every fragment is expanded where it is spread
    (lists count once: each list field is bounded by its own page limit)."""


@dataclass(frozen=True, slots=True)
class Measure:
    depth: int
    aliases: int
    cost: int


_NOTHING = Measure(0, 0, 0)

CAP = 10**9
"""Counts stop growing here, so a hostile document cannot make the arithmetic expensive."""


class _Measurer:
    """Measures selection sets, each fragment once; counts saturate at `cap`."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], cap: int) -> None:
        self._fragments = fragments
        self._cap = cap
        self._memo: dict[str, Measure] = {}
        self._visiting: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None) -> Measure:
        if node is None:
            return _NOTHING
        depth = aliases = cost = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                # Introspection fields do not count toward depth (GraphiQL's schema query
                # nests type references deeply); they still count toward cost.
                if selection.selection_set and not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + inner.depth)
                aliases += inner.aliases + (1 if selection.alias else 0)
                cost += 1 + inner.cost
            elif isinstance(selection, InlineFragmentNode):
                inner = self.selection_set(selection.selection_set)
                depth, aliases, cost = (
                    max(depth, inner.depth),
                    aliases + inner.aliases,
                    cost + inner.cost,
                )
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
                depth, aliases, cost = (
                    max(depth, inner.depth),
                    aliases + inner.aliases,
                    cost + inner.cost,
                )
        return Measure(depth, min(aliases, self._cap), min(cost, self._cap))

    def fragment(self, name: str) -> Measure:
        found = self._memo.get(name)
        if found is not None:
            return found
        definition = self._fragments.get(name)
        if definition is None or name in self._visiting:
            # Unknown or cyclic: graphql-core's own rules report those.
            return _NOTHING
        self._visiting.add(name)
        try:
            measured = self.selection_set(definition.selection_set)
        finally:
            self._visiting.discard(name)
        self._memo[name] = measured
        return measured


def measure_operations(context: ValidationContext, cap: int = CAP) -> dict[str, Measure]:
    """Each operation's measure, by name (`""` for an anonymous one)."""
    document = context.document
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    measurer = _Measurer(fragments, cap)
    return {
        (d.name.value if d.name else ""): measurer.selection_set(d.selection_set)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }


def limit_rule(limits: QueryLimits) -> type[ASTValidationRule]:
    """A validation rule refusing operations over the depth, alias or cost limits."""

    class OperationLimits(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for name, m in measure_operations(context).items():
                what = f"operation {name!r}" if name else "the operation"
                if m.depth > limits.max_depth:
                    context.report_error(
                        GraphQLError(
                            f"{what} is {m.depth} levels deep; the depth limit is "
                            f"{limits.max_depth}"
                        )
                    )
                if m.aliases > limits.max_aliases:
                    context.report_error(
                        GraphQLError(
                            f"{what} uses {_count(m.aliases)} aliases; at most "
                            f"{limits.max_aliases} aliases are allowed"
                        )
                    )
                if m.cost > limits.max_cost:
                    context.report_error(
                        GraphQLError(
                            f"{what} would resolve {_count(m.cost)} fields once its "
                            f"fragments are expanded; the cost budget is {limits.max_cost} "
                            "fields: ask for fewer fields or split it"
                        )
                    )

    return OperationLimits


def _count(value: int) -> str:
    return f"more than {CAP:,}" if value >= CAP else f"{value:,}"
