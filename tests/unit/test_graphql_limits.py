"""An operation's depth, aliases and cost are measured with fragments expanded, in time linear
in the document; one over a limit never runs."""

from __future__ import annotations

from graphql import parse, specified_rules, validate

from hugmood.config import Settings
from hugmood.entrypoints.graphql.limits import QueryLimits, limit_rule
from hugmood.entrypoints.graphql.schema import build_schema

LIMITS = QueryLimits(max_depth=6, max_aliases=15, max_cost=1000)


def errors_of(query: str, limits: QueryLimits = LIMITS) -> list[str]:
    schema = build_schema(Settings())._schema
    return [
        e.message for e in validate(schema, parse(query), [*specified_rules, limit_rule(limits)])
    ]


def bomb(n: int) -> str:
    """Fragment i spreads fragment i+1 twice: 2^n fields once expanded."""
    fragments = " ".join(
        f"fragment F{i} on MoodWord {{ energy {f'...F{i + 1} ...F{i + 1}' if i < n - 1 else ''} }}"
        for i in range(n)
    )
    return f"{{ moodVocabulary {{ ...F0 }} }} {fragments}"


def test_the_cost_counts_every_field_where_its_fragment_is_spread() -> None:
    # 2^n fields: moodVocabulary, and 2^n - 1 `energy` over the expanded fragments.
    assert errors_of(bomb(9)) == []  # 512 fields
    cost = LIMITS.max_cost
    assert errors_of(bomb(10)) == [
        "the operation would resolve 1,024 fields once its fragments are expanded; "
        f"the cost budget is {cost} fields: ask for fewer fields or split it"
    ]


def test_a_document_standing_for_2_to_the_300_fields_is_measured_at_once() -> None:
    # Walking every expansion would never end; each fragment is measured once instead.
    refusals = errors_of(bomb(300))
    assert any("more than 1,000,000,000 fields" in r for r in refusals), refusals


def test_aliases_inside_fragments_count_each_time_the_fragment_is_spread() -> None:
    query = (
        "{ moodVocabulary { ...A ...B } } fragment A on MoodWord { a1: energy a2: energy } "
        "fragment B on MoodWord { ...A b: word }"
    )
    assert errors_of(query) == []
    (refusal,) = errors_of(query, QueryLimits(6, 4, 1000))
    assert refusal == "the operation uses 5 aliases; at most 4 aliases are allowed"


def test_depth_follows_fragments_and_leaves_introspection_alone() -> None:
    deep = '{ user(handle: "x") { ...U } } fragment U on UserPage { recentMoods { author { handle } } }'
    assert errors_of(deep, QueryLimits(3, 15, 1000)) == []
    (refusal,) = errors_of(deep, QueryLimits(2, 15, 1000))
    assert refusal == "the operation is 3 levels deep; the depth limit is 2"
    nested_types = "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }"
    assert errors_of(nested_types, QueryLimits(1, 15, 1000)) == []


def test_a_fragment_cycle_is_reported_by_graphql_not_a_recursion_error() -> None:
    query = (
        "{ moodVocabulary { ...A } } fragment A on MoodWord { word ...B } "
        "fragment B on MoodWord { energy ...A }"
    )
    assert any("Cannot spread fragment" in e for e in errors_of(query))


def test_each_operation_is_measured_and_named() -> None:
    query = "query Small { __typename } query Big " + bomb(12)
    (refusal,) = errors_of(query)
    assert refusal.startswith("operation 'Big' would resolve 4,096 fields")
