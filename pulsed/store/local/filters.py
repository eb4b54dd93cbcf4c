"""Filters of the local store: each checked filter as SQL and as a Python predicate.

Queries and tail backlogs filter in SQL; live rows handed to tails are filtered in
Python. ``Predicate`` keeps the two in agreement: the predicate compares a row's values
in the form SQLite stores them (``codec.as_stored``) with SQLite's own operators, and
``contains`` searches the text SQLite renders (``sql_text``). Values are bound as
``?`` parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pulsed.store.base import Check, Row
from pulsed.store.local.codec import as_stored, quote
from pulsed.store.schema import Column

_SQL_OPS = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def sql_text(value: Any) -> str:
    """``value`` as SQLite renders it as text (what ``instr`` sees)."""
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return "Inf" if value > 0 else "-Inf" if value < 0 else ""
        text = format(value, ".15g")
        mantissa, e, exp = text.partition("e")
        if "." not in mantissa:
            mantissa += ".0"
        return mantissa + e + exp
    return str(value)


class Predicate:
    """A checked filter (``base.Check``) as SQL and as a Python predicate that agree."""

    __slots__ = ("col", "op", "value")

    def __init__(self, col: Column, op: str, value: Any) -> None:
        self.col = col
        self.op = op
        self.value = value

    def sql(self, alias: str = "") -> tuple[str, Any]:
        """The SQL condition (``alias`` prefixes the column, e.g. ``m.``) and its one
        bound value."""
        ident = alias + quote(self.col.name)
        if self.op == "contains":
            return f"instr({ident}, ?) > 0", str(self.value)
        value = int(self.value) if isinstance(self.value, bool) else self.value
        return f"{ident} {_SQL_OPS[self.op]} ?", value

    def match(self, row: Row) -> bool:
        """Whether ``row`` satisfies the filter, as the SQL of ``sql`` decides it."""
        stored = as_stored(self.col, row.values[self.col.name])
        v = self.value
        op = self.op
        try:
            if op == "contains":
                return str(v) in sql_text(stored)
            if op == "eq":
                return bool(stored == v)
            if op == "ne":
                return bool(stored != v)
            if op == "gt":
                return bool(stored > v)
            if op == "ge":
                return bool(stored >= v)
            if op == "lt":
                return bool(stored < v)
            return bool(stored <= v)
        except TypeError:
            return False


def predicates(checks: Sequence[Check]) -> list[Predicate]:
    """One ``Predicate`` per checked filter."""
    return [Predicate(c.col, c.op, c.value) for c in checks]


def where(preds: Sequence[Predicate], alias: str = "") -> tuple[list[str], list[Any]]:
    """The SQL conditions of ``preds`` (to be joined with AND) and their bound values."""
    parts, params = [], []
    for c in preds:
        text, value = c.sql(alias)
        parts.append(text)
        params.append(value)
    return parts, params
