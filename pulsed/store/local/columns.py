"""Column-wise preparation of a batch: the fast path of ``Codec.prepare_all``.

The row-wise path (``codec._prepare_source``) spends a few microseconds of Python per
row. This one does the same work a column at a time with C-level loops (``map`` over
builtins, ``zip``, ``set``): each row's values dict is a copy of a per-stream template
of defaults updated with the row, the columns are read back by one ``zip`` over the
dicts' values, and each column is checked by the set of its value types.

It takes a batch only when its result is certain to equal the row-wise path's: every
row a plain ``dict`` without unknown columns, and every value already in the form the
column stores (str, int, float or bool of the column's type; datetimes as schema text;
json and arrays accepted by the column's encoder), or None or omitted (the column's
default, a new id, the batch's timestamp). Anything else (a value to convert, such as an
int for a float column or a datetime object, or one to refuse) makes ``prepare`` answer
None, and the row-wise path then handles the whole batch, raising for the first bad row
exactly as it always did. Callers' rows are never changed.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

from pulsed.errors import InvalidArgument
from pulsed.store.schema import Stream

if TYPE_CHECKING:
    from pulsed.store.local.codec import Fresh

MIN_ROWS = 16
"""Smaller batches go row by row (the column set-up costs more than it saves)."""
_PLAIN = {"string": str, "int": int, "float": float}
_NONE = type(None)
_ID, _TS, _PLAINK, _DATETIME, _BOOL, _JSON = range(6)


class ColumnPrep:
    """One stream's column-wise batch preparation (see the module docstring).

    ``encoders`` are the stream's value encoders in column order (``codec.encoder``);
    ``iso`` tells whether a text is schema datetime text (``2026-11-21T09:00:00.000Z``).
    """

    def __init__(
        self,
        s: Stream,
        encoders: Sequence[Callable[[Any], Any]],
        iso: Callable[[str], object],
    ) -> None:
        self.names = s.column_names
        self.name_set = frozenset(self.names)
        self._iso = iso
        self.usable = True
        """False when a column's default is not in its stored form (never fast then)."""
        template: dict[str, Any] = {}
        plan: list[tuple[int, str, Any, Any, Callable[[Any], Any]]] = []
        for c, enc in zip(s.columns, encoders, strict=True):
            d: Any = c.default_value()
            if c.name == "id":
                kind, d = _ID, ""
            elif c.name == "timestamp":
                kind, d = _TS, ""
            elif c.type in _PLAIN:
                kind = _PLAINK
                self.usable &= type(d) is _PLAIN[c.type]
            elif c.type == "datetime":
                kind = _DATETIME
                self.usable &= type(d) is str
            elif c.type == "bool":
                kind = _BOOL
                self.usable &= type(d) is bool
            else:
                # json and arrays: each omitted value is a new object (``d`` makes one)
                kind = _JSON
                d = _copier(d) if c.default is not None else dict if c.type == "json" else list
            # The template holds what an omitted value becomes; None where it is made
            # per row (json), which ``_column`` then fills in.
            template[c.name] = None if kind == _JSON else d
            stored_default = enc(d()) if kind == _JSON else d
            plan.append((kind, c.name, d, stored_default, enc))
        self._template = template
        self._plan = plan

    def prepare(
        self, rows: Sequence[Mapping[str, Any]], fresh: Fresh
    ) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]] | None:
        """(values, params) of ``rows`` as the row-wise path gives them, or None when
        the batch needs that path (too small, not plain dicts, an unknown column, or a
        value to convert or refuse). ``fresh`` is the batch's ``codec.Fresh``."""
        n = len(rows)
        if n < MIN_ROWS or not self.usable or set(map(type, rows)) != {dict}:
            return None
        if not all(map(self.name_set.issuperset, rows)):
            return None
        values = list(map(dict.copy, repeat(self._template, n)))
        deque(map(dict.update, values, rows), 0)
        # Each dict has the template's keys in its order (the update only replaced
        # values: no unknown column), so its values() are the columns in schema order.
        columns: list[Any] = list(zip(*map(dict.values, values), strict=True))
        try:
            for j, (kind, name, d, sd, enc) in enumerate(self._plan):
                stored = self._column(kind, name, d, sd, enc, columns[j], values, fresh)
                if stored is None:
                    return None
                columns[j] = stored
        except InvalidArgument:
            return None
        return values, list(zip(*columns, strict=True))

    def _column(
        self,
        kind: int,
        name: str,
        d: Any,
        sd: Any,
        enc: Callable[[Any], Any],
        col: Sequence[Any],
        values: list[dict[str, Any]],
        fresh: Fresh,
    ) -> Sequence[Any] | None:
        """Column ``name``'s stored values (``col``: the values after the template
        update), fixing ``values`` where a None takes the default; None: not fast."""
        types = set(map(type, col))
        has_none = _NONE in types
        types.discard(_NONE)
        if kind == _JSON:
            if not has_none:
                return list(map(enc, col))
            out = []
            for v, row in zip(col, values, strict=True):
                if v is None:
                    row[name] = d()
                    out.append(sd)
                else:
                    out.append(enc(v))
            return out
        if kind == _PLAINK:
            if not types <= {type(d)}:
                return None
        elif kind == _BOOL:
            if not types <= {bool}:
                return None
        elif not types <= {str}:  # id, timestamp, datetime
            return None
        if kind in (_ID, _TS):
            if not any(col):  # omitted in every row: set in C
                n = len(col)
                col = fresh.new_ids(n) if kind == _ID else [fresh.now()] * n
                deque(map(dict.__setitem__, values, repeat(name, n), col), 0)
            elif has_none or not all(col):
                col = list(col)
                todo = [i for i, v in enumerate(col) if not v]
                made = fresh.new_ids(len(todo)) if kind == _ID else [fresh.now()] * len(todo)
                for i, v in zip(todo, made, strict=True):
                    col[i] = values[i][name] = v
            if kind == _TS and not all(map(self._iso, col)):
                return None  # text to normalise: the row-wise path
            return col
        if kind == _DATETIME and not all(map(self._iso, filter(None, col))):
            return None
        if has_none:
            col = list(col)
            for i, v in enumerate(col):
                if v is None:
                    col[i] = values[i][name] = d
        return list(map(int, col)) if kind == _BOOL else col


def _copier(default: Any) -> Callable[[], Any]:
    """A function returning a deep copy of ``default`` (a column's own json default)."""
    return lambda: copy.deepcopy(default)
