"""Stream triggers' definitions and filters: which rows of which stream start a run.

A trigger is a task whose schedule is ``on <stream>`` (``spec.parse``); the rest of its
definition lives in the task version's options (``TriggerDef.options``):

- ``where``: filters, every one must match: ``[column, op, value]`` with the streams'
  operators (eq ne contains gt ge lt le, ``pulsed.store.base.OPS``); the column may be
  a JSON path into a json column, ``payload.action`` or ``payload.items.0.id``;
- ``batch_s``: rows arriving within this many seconds of the first one go into one run
  (0: fire as soon as a row arrives);
- ``max_runs_per_hour`` (0: no limit) and ``overflow``: over the limit, rows ``queue``
  for the next allowed run or are dropped (``drop``, with a ``trigger_dropped`` event);
- ``from_seq``: the stream's last seq when the trigger was defined (it fires on rows
  after it);
- ``sql`` (instead of ``on`` and ``where``, Timeplus backend only): a streaming SELECT
  whose every result row fires; its schedule reads ``sql <query>``. The query is checked
  by ``pulsed.store.timeplus.watch.plan_watch`` (one read-only streaming SELECT), which
  also says whether it resumes by ``_tp_sn``; ``sql_epoch`` (the task version that last
  switched it on) is part of what its positions belong to, so a re-enabled SQL trigger,
  like a stream trigger, fires on rows from then on.

Matching runs in Python on decoded rows (``Where.matches``), the same for every store
backend. Values are converted like the store's filters (``convert_value``); under a
JSON path they compare with the JSON value found: numbers numerically, booleans as
true/false, strings as text; a path that leads nowhere matches only ``ne``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulsed.errors import InvalidArgument
from pulsed.store.base import OPS, convert_value
from pulsed.store.schema import Column, stream

OVERFLOWS = ("queue", "drop")
MAX_BATCH_S = 3600.0
MAX_RUNS_PER_HOUR = 3600
MAX_FILTERS = 16
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Cond:
    """One checked filter: ``col`` (with ``path`` into it when it is json), ``op`` and
    the value converted to the column's type (under a path: the text as typed)."""

    col: Column
    path: tuple[str, ...]
    op: str
    value: Any

    def matches(self, values: Mapping[str, Any]) -> bool:
        """Whether a row's decoded ``values`` satisfy the filter."""
        v = values.get(self.col.name, _MISSING)
        if self.path:
            for key in self.path:
                v = _step(v, key)
            if v is _MISSING:
                return self.op == "ne"
            return _compare_json(v, self.op, str(self.value))
        if v is _MISSING:
            return self.op == "ne"
        return _compare(v, self.op, self.value)

    def text(self) -> str:
        """The filter as typed: ``payload.action=opened``."""
        sym = {"eq": "=", "ne": "!=", "contains": "~", "gt": ">", "ge": ">=", "lt": "<"}
        sym["le"] = "<="
        name = ".".join((self.col.name, *self.path))
        return f"{name}{sym[self.op]}{self.value}"


def _step(v: Any, key: str) -> Any:
    if isinstance(v, Mapping):
        return v.get(key, _MISSING)
    if isinstance(v, list) and key.isdigit():
        i = int(key)
        return v[i] if i < len(v) else _MISSING
    return _MISSING


def _as_text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _compare(v: Any, op: str, want: Any) -> bool:
    if op == "contains":
        return str(want) in _as_text(v)
    if isinstance(v, dict | list) or isinstance(want, dict | list):
        v, want = _as_text(v), _as_text(want)
    try:
        match op:
            case "eq":
                return bool(v == want)
            case "ne":
                return bool(v != want)
            case "gt":
                return bool(v > want)
            case "ge":
                return bool(v >= want)
            case "lt":
                return bool(v < want)
            case _:
                return bool(v <= want)
    except TypeError:
        return False


def _compare_json(v: Any, op: str, text: str) -> bool:
    """Compare a JSON value found under a path with the filter's text."""
    if op == "contains":
        return text in _as_text(v)
    if isinstance(v, bool):
        low = text.lower()
        if low not in ("true", "false"):
            return op == "ne"
        return _compare(v, op, low == "true")
    if isinstance(v, int | float):
        try:
            num = float(text)
        except ValueError:
            return op == "ne"
        return not math.isnan(num) and _compare(float(v), op, num)
    if v is None:
        return _compare(text in ("null", ""), op, True) if op in ("eq", "ne") else False
    return _compare(_as_text(v), op, text)


@dataclass(frozen=True, slots=True)
class Where:
    """Filters that must all match (none: every row matches)."""

    conds: tuple[Cond, ...] = ()

    def matches(self, values: Mapping[str, Any]) -> bool:
        """Whether a row's decoded ``values`` match every filter."""
        return all(c.matches(values) for c in self.conds)

    def texts(self) -> list[str]:
        """The filters as typed."""
        return [c.text() for c in self.conds]


def compile_where(stream_name: str, raw: Sequence[Sequence[Any]]) -> Where:
    """Check ``[column, op, value]`` triples against the stream and compile them.

    Raises:
        NotFound: unknown stream. InvalidArgument: unknown column or operator, a JSON
            path into a column that is not json, a value that does not fit the column,
            more than ``MAX_FILTERS`` filters.
    """
    s = stream(stream_name)
    if len(raw) > MAX_FILTERS:
        raise InvalidArgument(f"a trigger takes at most {MAX_FILTERS} filters, not {len(raw)}")
    conds = []
    for triple in raw:
        if len(triple) != 3:
            raise InvalidArgument(f"a filter is [column, op, value], not {list(triple)!r}")
        name, op, value = (str(x) for x in triple)
        op = op or "eq"
        if op not in OPS:
            raise InvalidArgument(f"unknown filter operator {op!r} (operators: {', '.join(OPS)})")
        head, *path = name.split(".")
        col = s.column(head)
        if path:
            if col.type != "json" or not all(path):
                raise InvalidArgument(
                    f"{name!r}: a path (column.key) goes into a json column; "
                    f"{s.name}.{col.name} is {col.type}"
                )
            conds.append(Cond(col, tuple(path), op, value))
        else:
            conds.append(Cond(col, (), op, convert_value(col, value, op)))
    return Where(tuple(conds))


SQL_SOURCE = "sql"
"""What a SQL trigger's ``source`` (and the ``stream`` of its cursor rows and runs) reads."""


@dataclass(frozen=True)
class TriggerDef:
    """The trigger part of a task (see the module docstring)."""

    on: str
    where: list[list[str]] = field(default_factory=list)
    batch_s: float = 0.0
    max_runs_per_hour: int = 0
    overflow: str = "queue"
    from_seq: int = 0
    sql: str = ""
    sql_epoch: int = 0

    @property
    def source(self) -> str:
        """The stream it consumes, or ``sql`` for a SQL trigger."""
        return SQL_SOURCE if self.sql else self.on

    @property
    def schedule(self) -> str:
        """The task schedule that stands for it: ``on <stream>`` or ``sql <query>`` (the
        query on one line; the query run is ``sql`` as given)."""
        return f"sql {' '.join(self.sql.split())}" if self.sql else f"on {self.on}"

    def check(self) -> Where:
        """The compiled filters, once every field is checked (none for a SQL trigger).

        Raises:
            NotFound: unknown stream. InvalidArgument: a bad filter, batch window,
                rate limit or overflow, both a stream and SQL, or SQL that is not one
                read-only streaming SELECT (the message says which).
        """
        if self.sql:
            if self.on or self.where:
                raise InvalidArgument(
                    "a trigger reads either a stream (--on, --where) or a streaming SQL "
                    "query (--sql), not both"
                )
            from pulsed.store.timeplus.watch import plan_watch

            plan_watch(self.sql)
            where = Where()
        else:
            where = compile_where(self.on, self.where)
        if not 0 <= self.batch_s <= MAX_BATCH_S:
            raise InvalidArgument(f"the batch window must be 0 to {MAX_BATCH_S:.0f} seconds")
        if not 0 <= self.max_runs_per_hour <= MAX_RUNS_PER_HOUR:
            raise InvalidArgument(f"max runs per hour must be 0 (no limit) to {MAX_RUNS_PER_HOUR}")
        if self.overflow not in OVERFLOWS:
            raise InvalidArgument(f"overflow must be queue or drop, not {self.overflow!r}")
        return where

    def options(self) -> dict[str, Any]:
        """The fields as task options (JSON)."""
        out: dict[str, Any] = {
            "on": self.on,
            "where": [list(t) for t in self.where],
            "batch_s": float(self.batch_s),
            "max_runs_per_hour": int(self.max_runs_per_hour),
            "overflow": self.overflow,
            "from_seq": int(self.from_seq),
        }
        if self.sql:
            out["sql"] = self.sql
            out["sql_epoch"] = int(self.sql_epoch)
        return out

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> TriggerDef | None:
        """The trigger a version's options define (None: not a trigger)."""
        on = options.get("on")
        sql = options.get("sql")
        sql = sql if isinstance(sql, str) else ""
        if not sql and (not isinstance(on, str) or not on):
            return None
        where = options.get("where")
        return cls(
            on=str(on or ""),
            sql=sql,
            where=[[str(x) for x in t] for t in where] if isinstance(where, list) else [],
            batch_s=float(options.get("batch_s") or 0.0),
            max_runs_per_hour=int(options.get("max_runs_per_hour") or 0),
            overflow=str(options.get("overflow") or "queue"),
            from_seq=int(options.get("from_seq") or 0),
            sql_epoch=int(options.get("sql_epoch") or 0),
        )
