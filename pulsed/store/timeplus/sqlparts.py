"""The safe building blocks of the Timeplus backend's SQL.

Rules every statement keeps (and tests/timeplus/test_timeplus_sql.py checks):

- Identifiers come only from the schema module and the validated ``[store.timeplus]``
  ``database`` and ``stream_prefix``; they are backtick-quoted (``ident``, ``Names``).
- Every value compared with data is bound as a server-side parameter ``{pN:type}``
  (``Params``); the driver sends it as the URL argument ``param_pN``, so no value is ever
  part of the SQL text. Two kinds of number are written into the text because Timeplus
  cannot bind them: DDL numbers (retention, TTL days, from the typed config) and LIMIT
  counts (Proton, forked from ClickHouse 22, refuses parameters in LIMIT). Both go
  through ``int_literal``, which accepts a Python ``int`` in range and nothing else.
- Rows travel as JSONEachRow (inserts and results), never as SQL literals.

Every stream also gets ``seq int64`` (``SEQ``): Pulse's per-row sequence number, assigned
by the daemon (see ``pulsed.store.timeplus``); Timeplus' own ``_tp_sn`` (``TP_SN``)
numbers insert batches and serves as the resume cursor of streaming reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pulsed.errors import ConfigError, StoreError
from pulsed.store import schema

SEQ = "seq"
"""The column holding Pulse's per-row sequence number in every Timeplus stream."""
TP_SN = "_tp_sn"
"""Timeplus' sequence number of the insert batch a row came in (a hidden column)."""
META = "pulse_schema"
"""Stream recording applied schema versions (append-only; the highest wins)."""
ROLLUP = "llm_logs_hourly"
"""Stream the hourly cost view writes into."""
ROLLUP_VIEW = "llm_logs_hourly_mv"
"""The materialized view (hourly tumble over llm_logs)."""

for _name in (META, ROLLUP, ROLLUP_VIEW):
    assert _name not in schema.STREAMS, f"{_name!r} clashes with a stream of the schema"
for _s in schema.STREAMS.values():
    assert SEQ not in _s.column_names, f"stream {_s.name} has a column named {SEQ!r}"

TYPES = {
    "string": "string",
    "int": "int64",
    "float": "float64",
    "bool": "bool",
    "datetime": "datetime64(3, 'UTC')",
    "json": "string",
    "array(string)": "array(string)",
    "array(float)": "array(float64)",
}
"""Timeplus type of each schema type."""
DT_TYPE = TYPES["datetime"]
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PREFIX_RE = re.compile(r"[A-Za-z0-9_]*")


def check_database(name: str, key: str = "store.timeplus.database") -> str:
    """``name`` if it is a plain identifier (letters, digits, underscore).

    Raises:
        ConfigError: anything else (names are quoted, but only plain ones are accepted).
    """
    if not _NAME_RE.fullmatch(name or ""):
        raise ConfigError(f"{key}: {name!r} is not a plain name (letters, digits and _)")
    return name


def check_prefix(prefix: str, key: str = "store.timeplus.stream_prefix") -> str:
    """``prefix`` if it is empty or letters, digits and underscores.

    Raises:
        ConfigError: anything else.
    """
    if not _PREFIX_RE.fullmatch(prefix):
        raise ConfigError(f"{key}: {prefix!r} may hold only letters, digits and _")
    return prefix


def ident(name: str) -> str:
    """``name`` as a backtick-quoted identifier (names come from the schema or config).

    Raises:
        StoreError: not a plain identifier (a bug: names are checked where they enter).
    """
    if not _NAME_RE.fullmatch(name):
        raise StoreError(f"refusing to use {name!r} as a Timeplus identifier")
    return f"`{name}`"


def int_literal(value: int, lo: int = 0, hi: int = 2**62) -> str:
    """A Python ``int`` in ``[lo, hi]`` as SQL text (for DDL numbers and LIMIT only).

    Raises:
        StoreError: not an int (bools refused) or out of range.
    """
    if type(value) is not int or not lo <= value <= hi:
        raise StoreError(f"refusing to write {value!r} into SQL (expected an int in [{lo}, {hi}])")
    return str(value)


@dataclass(frozen=True)
class Names:
    """Fully qualified names of Pulse's streams in one database, with a name prefix."""

    database: str = "default"
    prefix: str = ""

    def __post_init__(self) -> None:
        check_database(self.database)
        check_prefix(self.prefix)

    def bare(self, name: str) -> str:
        """The stream's name without database (what ``pulsectl sql`` users type)."""
        return self.prefix + name

    def of(self, name: str) -> str:
        """```db`.`prefix+name``` for a schema stream or one of the internal streams."""
        if name not in schema.STREAMS and name not in (META, ROLLUP, ROLLUP_VIEW):
            raise StoreError(f"{name!r} is not a Pulse stream")
        return f"{ident(self.database)}.{ident(self.prefix + name)}"


class Params:
    """Bound parameters of one statement: ``add`` returns the ``{pN:type}`` placeholder."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any, type_: str) -> str:
        """Bind ``value`` as Timeplus type ``type_``; the placeholder to write in the SQL."""
        name = f"p{len(self.values)}"
        if isinstance(value, bool):
            value = "true" if value else "false"
        self.values[name] = value
        return "{" + name + ":" + type_ + "}"


@dataclass
class Statement:
    """SQL text and its bound parameters."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)
