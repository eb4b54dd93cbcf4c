"""The client library's one where-grammar: ``parse_where`` and ``parse_filters``."""

from __future__ import annotations

import dataclasses

import pytest

from pulsectl.client.filters import FORMS, Filter, FilterError, parse_filters, parse_where


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("message_type=error", Filter("message_type", "eq", "error")),
        ("model==gpt-4o", Filter("model", "eq", "gpt-4o")),
        ("tool!=shell", Filter("tool", "ne", "shell")),
        ("content~hello world", Filter("content", "contains", "hello world")),
        ("latency_ms>5000", Filter("latency_ms", "gt", "5000")),
        ("latency_ms>=5000", Filter("latency_ms", "ge", "5000")),
        ("priority<1", Filter("priority", "lt", "1")),
        ("priority<=1", Filter("priority", "le", "1")),
        ("a=b=c", Filter("a", "eq", "b=c")),
        ("a==b", Filter("a", "eq", "b")),
        ("a=>b", Filter("a", "eq", ">b")),
        ("note~x>y", Filter("note", "contains", "x>y")),
        ("session_id=", Filter("session_id", "eq", "")),
        ("level >= 3", Filter("level", "ge", "3")),
        ("  level==3", Filter("level", "eq", "3")),
        ("text= padded", Filter("text", "eq", " padded")),
        ("_x1=y", Filter("_x1", "eq", "y")),
        ("payload.action=opened", Filter("payload.action", "eq", "opened")),
        ("payload.items.0.id>=7", Filter("payload.items.0.id", "ge", "7")),
    ],
)
def test_every_operator(text: str, expected: Filter) -> None:
    assert parse_where(text) == expected


@pytest.mark.parametrize(
    "text", ["", "foo", "=x", "1col=x", "col", "col:x", "col.=x", ".sub=x", "~x"]
)
def test_malformed_terms_name_the_forms(text: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_where(text)
    assert str(info.value) == f"invalid filter {text!r}: use one of {FORMS}"
    assert isinstance(info.value, ValueError)


def test_a_line_of_terms_with_quotes() -> None:
    assert parse_filters("source=tui message_type!=error 'content~hello world'") == [
        Filter("source", "eq", "tui"),
        Filter("message_type", "ne", "error"),
        Filter("content", "contains", "hello world"),
    ]
    assert parse_filters("model==x") == [Filter("model", "eq", "x")]
    assert parse_filters("   ") == []


def test_a_line_with_a_bad_term_or_quote_is_refused() -> None:
    with pytest.raises(FilterError, match="invalid filter 'nonsense'"):
        parse_filters("source=tui nonsense")
    with pytest.raises(FilterError, match="cannot read the filter"):
        parse_filters("content~'open")


def test_filter_is_a_frozen_value() -> None:
    f = Filter("a")
    assert (f.op, f.value) == ("eq", "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.column = "b"  # type: ignore[misc]
    assert {Filter("a", "eq", "1"), Filter("a", "eq", "1")} == {Filter("a", "eq", "1")}
