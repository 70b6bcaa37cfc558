"""Every GraphQL error leaves with a code and words a person understands, never internals."""

from __future__ import annotations

import pytest
from graphql import GraphQLError

from hugmood.domain.errors import Conflict, RateLimited
from hugmood.entrypoints.graphql.errors import map_error
from hugmood.sql.database import DatabaseUnavailable


def raised_in_resolver(original: Exception) -> GraphQLError:
    return GraphQLError("raw", path=["recordMood"], original_error=original)


def test_domain_errors_keep_their_message_and_get_their_code() -> None:
    mapped = map_error(
        raised_in_resolver(Conflict("the handle @a is taken", field="handle")), development=False
    )
    assert mapped.message == "the handle @a is taken"
    assert mapped.extensions == {"code": "CONFLICT", "field": "handle"}
    limited = map_error(
        raised_in_resolver(RateLimited("slow down", retry_after_s=12.34)), development=False
    )
    assert limited.extensions == {"code": "RATE_LIMITED", "retryAfterSeconds": 12.3}


def test_bugs_are_shown_without_internals() -> None:
    mapped = map_error(raised_in_resolver(KeyError("secret_column")), development=True)
    assert mapped.extensions == {"code": "INTERNAL"}
    assert "secret_column" not in mapped.message


def test_an_unreachable_database_says_nothing_was_kept() -> None:
    mapped = map_error(raised_in_resolver(DatabaseUnavailable("conn refused")), development=False)
    assert mapped.extensions == {"code": "UNAVAILABLE"}
    assert "try again" in mapped.message


@pytest.mark.parametrize(("development", "hinted"), [(True, True), (False, False)])
def test_field_suggestions_only_in_development(development: bool, hinted: bool) -> None:
    error = GraphQLError("Cannot query field 'mee' on type 'Query'. Did you mean 'me'?")
    mapped = map_error(error, development=development)
    assert mapped.extensions == {"code": "VALIDATION"}
    assert ("Did you mean" in mapped.message) is hinted
    assert mapped.message.startswith("Cannot query field 'mee'")
