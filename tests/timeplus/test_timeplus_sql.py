"""The Timeplus backend's SQL: DDL from the schema module, bound parameters, read-only
checks and value mapping. SQL is parsed with timeplus-sqlglot's Timeplus dialect."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from pulsed.errors import ConfigError, InvalidArgument, StoreError
from pulsed.store import schema
from pulsed.store.base import Filter, make_filters
from pulsed.store.local import LocalStore
from pulsed.store.schema import Column, Stream
from pulsed.store.timeplus import codec, ddl, sqlparts, sqlpump
from pulsed.store.timeplus import filters as tpf
from pulsed.store.timeplus import sql as queries

NAMES = sqlparts.Names("pulse", "p_")
KEEP = ddl.Retention(logstore_ms=3_600_000, ttl_days=90)
NASTY = [
    "'; DROP STREAM messages; --",
    "100%",
    'say "hi"',
    "it's",
    "back\\slash",
    "{p0:string}",
    "`backtick`",
    "line\nbreak\ttab",
    "' OR '1'='1",
    "naïve ✓ 😀",
]


def parse(sql: str) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read="timeplus")
    assert not isinstance(tree, exp.Command), f"not parsed, only passed through: {sql}"
    return tree


def literals(tree: exp.Expression) -> list[exp.Literal]:
    """Literals of the statement (not those inside type names such as datetime64(3, 'UTC'))."""
    return [lit for lit in tree.find_all(exp.Literal) if not lit.find_ancestor(exp.DataType)]


def placeholders(tree: exp.Expression) -> dict[str, exp.DataType]:
    return {str(p.this): p.args["kind"] for p in tree.find_all(exp.Placeholder)}


# -- DDL -----------------------------------------------------------------------------------


def test_timeplus_create_stream_has_every_schema_column_and_the_settings() -> None:
    for s in schema.STREAMS.values():
        tree = parse(ddl.create_stream(NAMES, s, KEEP))
        assert isinstance(tree, exp.Create)
        assert tree.args["kind"] == "STREAM" and tree.args["exists"] is True
        table = tree.this.this
        assert (table.db, table.name) == ("pulse", f"p_{s.name}")
        cols = {c.name: c.args["kind"] for c in tree.this.expressions}
        assert list(cols) == [*s.column_names, "seq"]
        for c in s.columns:
            want = parse(f"SELECT CAST(x AS {sqlparts.TYPES[c.type]})").find(exp.DataType)
            assert cols[c.name] == want, (s.name, c.name)
        settings = {
            e.this.name: e.expression.this for e in tree.find(exp.SettingsProperty).expressions
        }
        assert settings == {
            "event_time_column": "timestamp",
            "shards": "1",
            "logstore_retention_ms": "3600000",
        }
        ttl = tree.args["ttl"]
        assert isinstance(ttl, exp.Add) and ttl.expression.this.this == "90"
        assert ttl.this.expressions[0].name == "timestamp"


def test_timeplus_create_stream_keeps_history_forever_without_ttl_days() -> None:
    tree = parse(ddl.create_stream(NAMES, schema.MESSAGES, ddl.Retention(86_400_000, 0)))
    assert tree.args.get("ttl") is None


def test_timeplus_ddl_is_idempotent_and_complete() -> None:
    statements = ddl.ddl(NAMES, KEEP)
    created = []
    for sql in statements:
        tree = parse(sql)
        assert isinstance(tree, exp.Create) and tree.args["exists"] is True, sql
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        created.append(target.name)
    assert created == [
        "p_pulse_schema",
        *(f"p_{n}" for n in schema.STREAMS),
        "p_llm_logs_hourly",
        "p_llm_logs_hourly_mv",
    ]


def test_timeplus_rollup_view_is_an_hourly_tumble_over_llm_logs() -> None:
    tree = parse(ddl.create_rollup_view(NAMES))
    assert tree.args["kind"] == "MATERIALIZED VIEW"
    tumble = next(f for f in tree.find_all(exp.Anonymous) if f.name == "tumble")
    source, column, width = tumble.expressions
    assert (source.table, source.name) == ("pulse", "p_llm_logs")
    assert column.name == "timestamp" and width.sql() in ("1h", "1 h") or "1h" in tumble.sql()
    selected = [e.alias_or_name for e in tree.expression.expressions]
    assert selected[:5] == ["hour", *ddl.ROLLUP_KEYS]
    assert {"requests", "errors", "cost_usd", "latency_ms_sum"} <= set(selected)


def test_timeplus_migrations_add_later_columns_only() -> None:
    assert ddl.migrations(NAMES, 0) == [] and ddl.migrations(NAMES, schema.SCHEMA_VERSION) == []
    s = Stream(
        "messages",
        "",
        (*schema.MESSAGES.columns, Column("mood", "int", default=3, since_version=2)),
    )
    tree = parse(ddl.add_column(NAMES, s, s.column("mood")))
    assert isinstance(tree, exp.Alter) and tree.args["kind"] == "STREAM"
    [action] = tree.args["actions"]
    assert action.name == "mood" and action.args["exists"] is True
    assert action.args["kind"] == parse("SELECT CAST(x AS int64)").find(exp.DataType)
    assert action.find(exp.DefaultColumnConstraint).this.this == "3"


def test_timeplus_identifiers_and_numbers_are_checked() -> None:
    for bad in ("bad-db", "", "a b", "x`y", "1st"):
        with pytest.raises(ConfigError):
            sqlparts.Names(bad)
    with pytest.raises(ConfigError):
        sqlparts.Names("ok", "bad prefix")
    with pytest.raises(StoreError):
        sqlparts.ident("a`b")
    with pytest.raises(StoreError):
        sqlparts.Names().of("not_a_stream")
    for bad_num in (True, "5", 5.0, -1, 2**63):
        with pytest.raises(StoreError):
            sqlparts.int_literal(bad_num)  # type: ignore[arg-type]
    assert sqlparts.int_literal(5) == "5"


# -- binding -------------------------------------------------------------------------------


def statements_with(value: str) -> list[sqlparts.Statement]:
    """Every query shape the backend sends, built around ``value``."""
    m = schema.MESSAGES
    cs = tpf.checks(
        m,
        make_filters(
            m,
            [
                ("session_id", "eq", value),
                ("content", "contains", value),
                ("user_id", "gt", value),
                ("channel_metadata", "ne", json.dumps({"v": value})),
                ("priority", "ge", "1"),
                ("timestamp", "lt", "2026-11-21T09:00:00Z"),
            ],
        ),
    )
    t = tpf.checks(schema.TASKS, make_filters(schema.TASKS, [("enabled", "eq", "true")]))
    ev = tpf.checks(
        schema.EVENTS, make_filters(schema.EVENTS, [("tags", "eq", json.dumps([value]))])
    )
    since = "2026-11-20T00:00:00.000Z"
    return [
        queries.select_rows(NAMES, m, cs, upto_seq=7, since=since, until=since, limit=50),
        queries.select_rows(NAMES, schema.TASKS, t, order="asc", limit=10),
        queries.select_rows(NAMES, schema.EVENTS, ev, after_seq=3),
        queries.catch_up(NAMES, m, cs, 5, 9, 100),
        queries.tail_sql(NAMES, m, cs, 41, 42),
        queries.tail_sql(NAMES, m, cs, None, 42),
        queries.ids_present(NAMES, m, [value, "other"]),
        queries.sessions_by_id(NAMES, [value], 7),
        queries.session_titles(NAMES, [value], 7),
        queries.count_rows(NAMES, m, 7),
        queries.cost_summary(NAMES, "model", since, None, 7),
        queries.sessions_top(NAMES, 7, 20),
        queries.unanswered(NAMES, since, 7),
        queries.latest_by(NAMES, schema.TASKS, "name", 7),
    ]


@pytest.mark.parametrize("value", NASTY)
def test_timeplus_values_are_bound_never_written_into_sql(value: str) -> None:
    for stmt in statements_with(value):
        tree = parse(stmt.sql)
        # Values travel as {name:type} placeholders: the SQL holds no string literal (but
        # the constant '' of an ungrouped cost summary) and no number but LIMIT's.
        limit = tree.args.get("limit")
        limit_lit = limit.expression if limit is not None else None
        for lit in literals(tree):
            if lit is limit_lit or (lit.is_string and lit.this == ""):
                continue
            # position(haystack, {needle}) > 0: a constant of the contains operator.
            parent = lit.parent
            assert isinstance(parent, exp.GT) and lit.this == "0", (stmt.sql, lit)
            assert "position" in parent.this.sql().lower() or isinstance(
                parent.this, exp.StrPosition
            ), (stmt.sql, lit)
        holes = placeholders(tree)
        assert set(holes) == set(stmt.params), stmt.sql
        for name, kind in holes.items():
            assert kind is not None, (stmt.sql, name)
    # The SQL text does not depend on the values at all.
    assert [st.sql for st in statements_with(value)] == [st.sql for st in statements_with("x")]
    first = statements_with(value)[0]
    assert first.params["p0"] == value and first.params["p1"] == value


def test_timeplus_filter_values_take_the_column_types() -> None:
    m = schema.MESSAGES
    cs = tpf.checks(
        m,
        make_filters(
            m,
            [
                ("priority", "gt", "1"),
                ("timestamp", "ge", "2026-11-21T10:30:00+01:00"),
                ("content", "eq", '{"text":"x"}'),
            ],
        ),
    )
    cs += tpf.checks(schema.TASKS, [Filter("enabled", "eq", "yes")])
    p = sqlparts.Params()
    parts = tpf.where_sql(cs, p)
    assert parts == [
        "`priority` > {p0:int64}",
        "`timestamp` >= {p1:datetime64(3, 'UTC')}",
        "`content` = {p2:string}",
        "`enabled` = {p3:bool}",
    ]
    assert p.values == {
        "p0": 1,
        "p1": "2026-11-21 09:30:00.000",
        "p2": '{"text":"x"}',
        "p3": "true",
    }


def test_timeplus_kill_query_binds_the_query_id() -> None:
    stmt = queries.kill_query("pulse-'x")
    assert "pulse-'x" not in stmt.sql and stmt.params == {"p0": "pulse-'x"}
    assert stmt.sql.startswith("KILL QUERY WHERE query_id = {p0:string}")


# -- read-only SQL ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM messages",
        "select count() from table(llm_logs);",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "SHOW STREAMS",
        "DESCRIBE messages",
        "EXPLAIN SELECT 1",
        "-- the last hour\nSELECT * FROM table(events) WHERE _tp_time > now() - 1h",
        "SELECT 'a;b', `c;d` FROM table(messages) ;  ",
        "/* costs */ SELECT sum(estimated_cost_usd) FROM table(llm_logs)",
    ],
)
def test_timeplus_read_only_sql_is_accepted(sql: str) -> None:
    out = sqlpump.read_only(sql)
    assert not out.endswith(";") and out.strip() == out
    if "SELECT" in out.upper().split()[0:1] or out.upper().startswith(("WITH", "SELECT")):
        parse(out)


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("", "no SQL"),
        ("  ;  ", "no SQL"),
        ("DROP STREAM messages", "not DROP"),
        ("INSERT INTO messages (id) VALUES ('x')", "not INSERT"),
        ("ALTER STREAM messages DELETE WHERE 1", "not ALTER"),
        ("SELECT 1; DROP STREAM messages", "one statement"),
        ("SELECT 1; SELECT 2", "one statement"),
        ("SELECT 'unterminated", "unterminated"),
        ("SELECT 1 /* open", "unterminated"),
        ("SELECT * FROM messages INTO OUTFILE '/tmp/x'", "OUTFILE"),
        ("SELECT * FROM messages FORMAT CSV", "FORMAT"),
        ("KILL QUERY WHERE 1", "not KILL"),
        ("SYSTEM SHUTDOWN", "not SYSTEM"),
        ("OPTIMIZE TABLE x", "not OPTIMIZE"),
    ],
)
def test_timeplus_write_sql_is_refused(sql: str, says: str) -> None:
    with pytest.raises(InvalidArgument, match=says):
        sqlpump.read_only(sql)


# -- values ----------------------------------------------------------------------------------


def sample_values(s: Stream, rng: random.Random) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for c in s.columns:
        t = c.type
        if t == "string":
            values[c.name] = rng.choice(NASTY)
        elif t == "int":
            values[c.name] = rng.choice([0, -1, 2**62, 7])
        elif t == "float":
            values[c.name] = rng.choice([0.0, 2.5, 1e-7, 123456.789])
        elif t == "bool":
            values[c.name] = rng.choice([True, False])
        elif t == "datetime":
            values[c.name] = "2026-11-21T09:00:00.123Z"
        elif t == "json":
            values[c.name] = {"text": rng.choice(NASTY), "n": [1, 2.5, None, True], "d": {}}
        elif t == "array(string)":
            values[c.name] = [rng.choice(NASTY), "b c"]
        else:
            values[c.name] = [0.25, -1.0]
    return values


def test_timeplus_rows_round_trip_through_jsoneachrow() -> None:
    rng = random.Random(5)
    for s in schema.STREAMS.values():
        for _ in range(20):
            values = sample_values(s, rng)
            encoded = codec.encode_row(s, values, 1795000000000001)
            assert encoded["seq"] == 1795000000000001
            assert encoded["timestamp"] == "2026-11-21 09:00:00.123"
            wire = json.loads(codec.rows_to_json([encoded]))
            # Timeplus quotes 64-bit integers in JSONEachRow output.
            wire = {
                k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v
                for k, v in wire.items()
            }
            assert codec.decode_row(s, wire) == values
            assert codec.seq_of(wire) == 1795000000000001


def test_timeplus_prepare_checks_types_and_fills_defaults() -> None:
    values = codec.prepare(
        schema.MESSAGES, {"priority": 2}, "2026-11-21T09:00:00.000Z", lambda: "id1"
    )
    assert values["id"] == "id1" and values["timestamp"] == "2026-11-21T09:00:00.000Z"
    assert values["content"] == {} and values["priority"] == 2 and values["reply_to"] == ""
    values = codec.prepare(
        schema.MESSAGES, {"timestamp": "2026-11-21T10:30:00+01:00"}, "x", lambda: "id2"
    )
    assert values["timestamp"] == "2026-11-21T09:30:00.000Z"
    bad: list[tuple[Stream, dict[str, Any]]] = [
        (schema.MESSAGES, {"priority": "high"}),
        (schema.MESSAGES, {"priority": True}),
        (schema.MESSAGES, {"session_id": 12}),
        (schema.MESSAGES, {"timestamp": "not a time"}),
        (schema.MESSAGES, {"colour": "red"}),
        (schema.TASKS, {"enabled": "yes"}),
        (schema.EVENTS, {"tags": "a,b"}),
        (schema.EVENTS, {"payload": {"x": object()}}),
        (schema.LLM_LOGS, {"estimated_cost_usd": "0.1"}),
        (schema.LLM_LOGS, {"input_tokens": 2**64}),
    ]
    for s, row in bad:
        with pytest.raises(InvalidArgument):
            codec.prepare(s, row, "2026-11-21T09:00:00.000Z", lambda: "x")


def test_timeplus_datetime_text_both_ways() -> None:
    assert codec.tp_datetime("2026-11-21T09:00:00.123Z") == "2026-11-21 09:00:00.123"
    assert codec.iso_datetime("2026-11-21 09:00:00.123") == "2026-11-21T09:00:00.123Z"
    assert codec.iso_datetime("2026-11-21 09:00:00") == "2026-11-21T09:00:00.000Z"
    assert codec.iso_datetime("2026-11-21 09:00:00.1") == "2026-11-21T09:00:00.100Z"


async def test_timeplus_window_filters_agree_with_the_local_store(tmp_path: Path) -> None:
    """Rows the Timeplus store serves from memory are filtered in Python; they must match
    exactly what the stores' SQL matches (checked against the local store)."""
    rng = random.Random(11)
    rows = []
    for _ in range(120):
        rows.append(
            {
                "session_id": rng.choice(["a", "b", "it's", "100%", "Ab"]),
                "message_type": rng.choice(schema.MESSAGE_TYPES),
                "content": {"text": rng.choice(["hello", "Hello", "x_y", "ünï", "50%"])},
                "priority": rng.choice([-1, 0, 1, 2]),
                "timestamp": f"2026-11-21T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00.000Z",
                "reply_to": rng.choice(["", "m1", "m2"]),
            }
        )
    local = LocalStore(tmp_path / "data")
    await local.open()
    try:
        stored = await local.append("messages", rows)
        cases = [
            [("session_id", "eq", "it's")],
            [("session_id", "ne", "a")],
            [("session_id", "gt", "Ab")],
            [("session_id", "le", "b")],
            [("content", "contains", "ell")],
            [("content", "contains", "%")],
            [("content", "eq", '{"text":"hello"}')],
            [("priority", "ge", "1")],
            [("priority", "lt", "0"), ("reply_to", "eq", "m1")],
            [("timestamp", "ge", "2026-11-21T12:00:00Z")],
            [("timestamp", "lt", "2026-11-21T06:30:00+01:00")],
            [("message_type", "contains", "_")],
        ]
        for triples in cases:
            filters = make_filters(schema.MESSAGES, triples)
            want = [r.seq for r in await local.query("messages", filters, order="asc", limit=1000)]
            cs = tpf.checks(schema.MESSAGES, filters)
            got = [r.seq for r in stored if tpf.matches(r.values, cs)]
            assert got == want, triples
    finally:
        await local.close()
