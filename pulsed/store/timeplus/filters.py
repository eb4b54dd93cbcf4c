"""Filters of the Timeplus backend: checked filters as bound SQL and as Python predicates.

Reads from Timeplus filter in SQL (``where_sql``); rows the store holds in memory (its
window of recent appends) are filtered in Python (``matches``). The two agree: the
predicate compares values as Timeplus does and ``contains`` searches the text
``to_string`` gives (``value_text``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pulsed.errors import InvalidArgument
from pulsed.store.base import Check, Filter, check_filters
from pulsed.store.schema import Column, Stream
from pulsed.store.timeplus.codec import check_value, dumps, tp_bound, tp_datetime
from pulsed.store.timeplus.sqlparts import DT_TYPE, TYPES, Params, ident

_SQL_OPS = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def refine(stream: Stream, checks: Sequence[Check]) -> list[Check]:
    """``checks`` (from ``base.check_filters``) made ready for Timeplus: an ``eq``/``ne``
    value of an array column is parsed as the JSON array it compares with.

    Raises:
        InvalidArgument: such a value is not a JSON array of the column's item type.
    """
    out = []
    for c in checks:
        col = c.col
        if col.type.startswith("array(") and c.op in ("eq", "ne"):
            try:
                parsed = json.loads(c.value)
                c = Check(col, c.op, check_value(stream.name, col, parsed))
            except (ValueError, InvalidArgument):
                raise InvalidArgument(
                    f"column {col.name} ({col.type}) compares with a JSON array such as "
                    '["a", "b"], not ' + repr(c.value)
                ) from None
        out.append(c)
    return out


def checks(stream: Stream, filters: Sequence[Filter]) -> list[Check]:
    """``filters`` checked against ``stream`` (``base.check_filters``), then ``refine``d.

    Raises:
        InvalidArgument: unknown column or operator, or a value that does not fit.
    """
    return refine(stream, check_filters(stream, filters))


def _text_sql(col: Column) -> str:
    """SQL giving ``col`` as the text ``contains`` searches."""
    name = ident(col.name)
    if col.type in ("string", "json"):
        return name
    return f"to_string({name})"


def _float_text(v: float) -> str:
    """A float as Timeplus' to_string writes it (shortest form, no trailing .0)."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    text = repr(v)
    mantissa, e, exp = text.partition("e")
    if e:
        sign = "-" if exp.startswith("-") else ""
        return f"{mantissa}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"
    return text


def value_text(col: Column, v: Any) -> str:
    """A Python row value as the text ``contains`` searches (mirrors ``_text_sql``)."""
    t = col.type
    if t == "string":
        return str(v)
    if t == "json":
        return dumps(v)
    if t == "bool":
        return "true" if v else "false"
    if t == "float":
        return _float_text(float(v))
    if t == "datetime":
        return tp_datetime(v)
    if t.startswith("array("):
        if t == "array(string)":
            items = ["'" + x.replace("\\", "\\\\").replace("'", "\\'") + "'" for x in v]
        else:
            items = [_float_text(float(x)) for x in v]
        return "[" + ",".join(items) + "]"
    return str(v)


def where_sql(cs: Sequence[Check], params: Params) -> list[str]:
    """SQL predicates for ``cs`` with their values bound in ``params``."""
    parts = []
    for c in cs:
        t = c.col.type
        if c.op == "contains":
            parts.append(f"position({_text_sql(c.col)}, {params.add(str(c.value), 'string')}) > 0")
            continue
        name = ident(c.col.name)
        op = _SQL_OPS[c.op]
        if t == "json":
            parts.append(f"{name} {op} {params.add(str(c.value), 'string')}")
        elif t == "datetime":
            parts.append(f"{name} {op} {params.add(tp_bound(c.value), DT_TYPE)}")
        else:
            parts.append(f"{name} {op} {params.add(c.value, TYPES[t])}")
    return parts


def matches(values: Mapping[str, Any], cs: Sequence[Check]) -> bool:
    """Whether a row's Python values satisfy every check, as the SQL of ``where_sql`` does."""
    for c in cs:
        v = values[c.col.name]
        t = c.col.type
        want = c.value
        if c.op == "contains":
            if str(want) not in value_text(c.col, v):
                return False
            continue
        if t == "json":
            v = dumps(v)
        try:
            ok = {
                "eq": lambda a, b: a == b,
                "ne": lambda a, b: a != b,
                "gt": lambda a, b: a > b,
                "ge": lambda a, b: a >= b,
                "lt": lambda a, b: a < b,
                "le": lambda a, b: a <= b,
            }[c.op](v, want)
        except TypeError:
            return False
        if not ok:
            return False
    return True
