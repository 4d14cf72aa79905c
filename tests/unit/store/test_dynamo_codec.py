"""store.dynamo's (de)serialisation: its direct paths give exactly what the general ones give.

`serialize` turns JSON-typed values into attribute values without a JSON round trip, and
`deserialize` turns the common attribute types into plain values without boto3's
TypeDeserializer (issue 23: they run for every item a request reads or writes). The general
paths (the JSON round trip + TypeSerializer, TypeDeserializer + `_plain`) are the reference.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_tasks.store import dynamo


def _reference_serialize(item: dict[str, Any]) -> dict[str, Any]:
    plain = json.loads(
        json.dumps({k: v for k, v in item.items() if v is not None}, default=str),
        parse_float=dynamo._number,
    )
    return {k: TypeSerializer().serialize(v) for k, v in plain.items()}


def _reference_deserialize(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: dynamo._plain(TypeDeserializer().deserialize(v)) for k, v in attributes.items()}


def _outcome(function: Any, value: Any) -> tuple[str, Any]:
    try:
        return "value", function(value)
    except Exception as error:  # both paths must fail alike, too
        return "error", type(error)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-1e-110, max_value=1e-110)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)
odd_values = st.sampled_from(
    [Decimal("1.5"), {1: "int key"}, {None: 1}, {"a"}, b"bytes", Decimal("NaN"), object.__name__]
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values | odd_values, max_size=6))
def test_serialize_gives_what_the_json_round_trip_gave(item: dict[str, Any]) -> None:
    # Given any item of JSON values (and a few that are not)
    # When it is serialised, Then the attribute values (or the error) are the general path's
    assert _outcome(dynamo.serialize, item) == _outcome(_reference_serialize, item)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_serialize_value_gives_what_the_json_round_trip_gave(value: Any) -> None:
    # Given any JSON value (None included: it is NULL here, not dropped)
    # When it is serialised alone, Then the attribute value (or the error) is the general path's
    def reference(v: Any) -> Any:
        return TypeSerializer().serialize(json.loads(json.dumps(v, default=str), parse_float=dynamo._number))

    assert _outcome(dynamo.serialize_value, value) == _outcome(reference, value)


numbers = st.one_of(
    st.integers(min_value=-(10**37), max_value=10**37).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str),
    st.sampled_from(["0", "-0", "007", "1.0", "1e2", "-1.50", "1E-5", "12345678901234567890", "1" * 39]),
)
attribute_values = st.recursive(
    st.builds(lambda s: {"S": s}, st.text(max_size=6))
    | st.builds(lambda n: {"N": n}, numbers)
    | st.builds(lambda b: {"BOOL": b}, st.booleans())
    | st.just({"NULL": True})
    | st.builds(lambda s: {"SS": s}, st.lists(st.text(max_size=4), min_size=1, max_size=3, unique=True))
    | st.builds(lambda s: {"NS": s}, st.lists(numbers, min_size=1, max_size=3, unique=True))
    | st.builds(lambda b: {"B": b}, st.binary(max_size=4)),
    lambda inner: (
        st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3))
        | st.builds(lambda m: {"M": m}, st.dictionaries(st.text(max_size=3), inner, max_size=3))
    ),
    max_leaves=15,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=6), attribute_values, max_size=6))
def test_deserialize_gives_what_the_type_deserializer_gave(attributes: dict[str, Any]) -> None:
    # Given any item as DynamoDB answers it
    # When it is deserialised, Then the values and their types (or the error) are the general path's
    ours, reference = _outcome(dynamo.deserialize, attributes), _outcome(_reference_deserialize, attributes)
    assert ours == reference
    assert json.dumps(ours, default=repr, sort_keys=True) == json.dumps(
        reference, default=repr, sort_keys=True
    )


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ({"N": "5"}, 5),
        ({"N": "-12"}, -12),
        ({"N": "1.0"}, 1),
        ({"N": "2.5"}, 2.5),
        ({"B": b"x"}, Binary(b"x")),
        ({"SS": ["b", "a"]}, ["a", "b"]),
    ],
)
def test_deserialize_types(attribute: dict[str, Any], expected: Any) -> None:
    # Given one attribute, When deserialised, Then its plain value and type
    value = dynamo.deserialize({"a": attribute})["a"]
    assert value == expected
    assert type(value) is type(expected)
