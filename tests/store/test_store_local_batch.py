"""The local store's generated row preparation (``Codec.prepare``, straight-line code per
stream) agrees with the schema's reference, ``base.prepare_row`` plus one encoder per
column, for every stream, on defaults, conversions and refusals."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import pytest

from pulsed.errors import InvalidArgument
from pulsed.store import schema
from pulsed.store.base import prepare_row
from pulsed.store.local.codec import Codec, Fresh, encoder


class Level(enum.IntEnum):
    HIGH = 2


SAMPLES: dict[str, Any] = {
    "string": ["", "text", "ünïcode"],
    "int": [0, -5, 2**40, Level.HIGH],
    "float": [0.5, 3, -1.25],
    "bool": [True, False],
    "datetime": ["", "2026-11-21T09:00:00.000Z", "2026-11-21T10:00:00+01:00",
                 datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)],
    "json": [{"a": [1, 2]}, [], "s", 3, None, {}],
    "array(string)": [[], ["a", "b"], ("x",)],
    "array(float)": [[], [1, 2.5]],
}  # fmt: skip


def rows_for(s: schema.Stream, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        row: dict[str, Any] = {}
        for j, c in enumerate(s.columns):
            if c.name == "id":
                if i % 2:
                    row["id"] = f"id-{i}"
                continue
            if c.name == "timestamp" and i % 3 == 0:
                continue
            options = SAMPLES[c.type]
            if (i + j) % 5 == 4:
                continue  # omitted: the default
            row[c.name] = options[(i + j) % len(options)]
        out.append(row)
    return out


def reference(codec: Codec, rows: list[dict[str, Any]]) -> Any:
    """What preparing ``rows`` must give, the slow way: defaults from ``prepare_row``,
    each value stored by its column's encoder (datetimes kept normalised)."""
    values, params = [], []
    for raw in rows:
        full = prepare_row(codec.stream, raw)
        stored = []
        for c in codec.stream.columns:
            v = full[c.name]
            if c.name in ("id", "timestamp") and not v:  # generated (compared apart)
                v = full[c.name] = "generated" if c.name == "id" else "2000-01-01T00:00:00.000Z"
            s = encoder(codec.name, c)(v)
            if c.type == "datetime":
                full[c.name] = s
            stored.append(s)
        values.append(full)
        params.append(tuple(stored))
    return values, params


def strip_fresh(values: list[dict[str, Any]], params: list[tuple[Any, ...]]) -> Any:
    """Both results without the generated ids and batch timestamps (which differ)."""
    return (
        [{k: v for k, v in r.items() if k not in ("id", "timestamp")} for r in values],
        [p[2:] for p in params],
    )


@pytest.mark.parametrize("name", sorted(schema.STREAMS))
def test_prepared_rows_match_the_reference(name: str) -> None:
    codec = Codec(schema.STREAMS[name])
    rows = rows_for(codec.stream, 40)
    by_row = reference(codec, rows)
    by_col = codec.prepare_all(rows, Fresh())
    assert strip_fresh(*by_row) == strip_fresh(*by_col)
    for i, r in enumerate(rows):
        if "id" in r:
            assert by_col[0][i]["id"] == r["id"] == by_col[1][i][0]
        if r.get("timestamp"):  # else the batch's time
            assert by_col[0][i]["timestamp"] == by_col[1][i][1] == by_row[0][i]["timestamp"]
    assert len({v["id"] for v in by_col[0]}) == len(rows)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("event_type", 5),
        ("payload", object()),
        ("tags", ["a", 1]),
        ("tags", "ab"),
        ("timestamp", "yesterday"),
        ("id", 7),
    ],
)
def test_refusals_match_the_reference(column: str, value: Any) -> None:
    codec = Codec(schema.EVENTS)
    rows: list[dict[str, Any]] = [{"event_type": "ok"} for _ in range(20)]
    rows[13] = {**rows[13], column: value}
    with pytest.raises(InvalidArgument) as by_row:
        reference(codec, [rows[13]])
    with pytest.raises(InvalidArgument) as by_col:
        codec.prepare_all(rows, Fresh())
    assert by_row.value.message == by_col.value.message


def test_unknown_columns_and_non_rows_are_refused() -> None:
    codec = Codec(schema.EVENTS)
    with pytest.raises(InvalidArgument, match="no column 'nope'"):
        codec.prepare_all([{"event_type": "x"}] * 20 + [{"nope": 1}], Fresh())
    with pytest.raises(InvalidArgument, match="must be a mapping"):
        codec.prepare_all([{"event_type": "x"}] * 20 + [["x"]], Fresh())  # type: ignore[list-item]
