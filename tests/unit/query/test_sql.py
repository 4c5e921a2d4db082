from datetime import UTC, datetime

import pytest

from query.sql import QueryError, bind, identifier, literal


def test_strings_are_quoted_with_quotes_doubled_never_pasted() -> None:
    sql = bind("SELECT * FROM t WHERE c = :c", {"c": "x' OR '1'='1"})
    assert sql == "SELECT * FROM t WHERE c = 'x'' OR ''1''=''1'"


@pytest.mark.parametrize(
    ("value", "rendered"),
    [(3, "3"), (2.5, "2.5"), (True, "true"), (datetime(2026, 1, 1, tzinfo=UTC), "1767225600000")],
)
def test_typed_literals(value: object, rendered: str) -> None:
    assert literal(value) == rendered  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [float("nan"), datetime(2026, 1, 1), "a\nb", None, ["x"]])
def test_unsafe_or_ambiguous_values_are_refused(value: object) -> None:
    with pytest.raises(QueryError):
        literal(value)  # type: ignore[arg-type]


def test_every_placeholder_needs_a_value_and_every_value_a_placeholder() -> None:
    with pytest.raises(QueryError, match=":b"):
        bind("SELECT :a, :b", {"a": 1})
    with pytest.raises(QueryError, match="not used"):
        bind("SELECT :a", {"a": 1, "z": 2})


@pytest.mark.parametrize("name", ["events; DROP", "a b", "", "1abc", "t--"])
def test_identifiers_must_be_plain_names(name: str) -> None:
    with pytest.raises(QueryError):
        identifier(name)
