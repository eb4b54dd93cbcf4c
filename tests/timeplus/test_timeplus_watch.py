"""SQL triggers' queries on the Timeplus backend: the plan (check, resume rule, rewrite)
and the reader against the loopback Timeplus (rows with ``_tp_sn``, resuming inside an
insert batch by digest, reconnecting after a drop, refusals)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from pulsed.errors import InvalidArgument
from pulsed.store.timeplus.http import Endpoint, Http
from pulsed.store.timeplus.watch import (
    AFTER_PARAM,
    SqlReader,
    SqlRejected,
    SqlRow,
    digest_of,
    mark,
    plan_watch,
    unmark,
)
from tests.fakes.timeplus import Fail, FakeTimeplus, Request, jsonl


def test_a_plain_select_of_one_stream_resumes_by_tp_sn() -> None:
    plan = plan_watch("SELECT source, payload FROM ingest WHERE source = 'a' -- the sensors\n;")
    assert plan.resumable and plan.why == ""
    stmt = plan.statement(41)
    assert stmt.sql == (
        "SELECT source, payload, _tp_sn FROM ingest "
        f"WHERE (source = 'a') AND _tp_sn > {{{AFTER_PARAM}:int64}}"
    )
    assert stmt.params == {AFTER_PARAM: 41}
    fresh = plan_watch("select * from `default`.`ingest`").statement(None)
    assert fresh.sql == "SELECT *, _tp_sn FROM `default`.`ingest`" and not fresh.params
    ended = plan_watch("SELECT a FROM s WHERE b = '-- not a comment;'; -- the end")
    assert ended.sql == "SELECT a FROM s WHERE b = '-- not a comment;'"
    assert ended.statement(None).sql == ("SELECT a, _tp_sn FROM s WHERE (b = '-- not a comment;')")


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT count() FROM ingest", "count()"),
        ("SELECT window_start, count() FROM tumble(ingest, 1m) GROUP BY window_start", "GROUP BY"),
        ("SELECT a.x FROM ingest AS a JOIN table(d) AS b ON a.k = b.k", "JOIN"),
        ("SELECT x FROM (SELECT x FROM ingest)", "subquery"),
        ("WITH 1 AS one SELECT one FROM ingest", "WITH"),
        ("SELECT x, now() FROM ingest", "now()"),
        ("SELECT x FROM ingest LIMIT 3", "LIMIT"),
    ],
)
def test_other_queries_run_as_written_from_the_latest_rows(sql: str, why: str) -> None:
    plan = plan_watch(sql)
    assert not plan.resumable and why in plan.why
    assert plan.statement(7).sql == sql and not plan.statement(7).params


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("SELECT * FROM table(ingest)", "must be a streaming query"),
        ("SELECT 1", "no FROM"),
        ("SHOW STREAMS", "not SHOW"),
        ("DROP STREAM ingest", "only read-only SQL"),
        ("SELECT * FROM ingest; SELECT 2", "one statement"),
        ("", "no SQL given"),
    ],
)
def test_sql_that_is_not_one_streaming_select_is_refused(sql: str, says: str) -> None:
    with pytest.raises(InvalidArgument, match=says):
        plan_watch(sql)


def test_a_position_packs_the_batch_and_the_rows_handled() -> None:
    assert unmark(0) is None
    assert unmark(mark(0, 0)) == (0, 0) and unmark(mark(12, 3)) == (12, 3)
    assert mark(5, 1) - 1 == mark(5, 0) < mark(5, 1) < mark(6, 0)


@pytest.fixture
def tp() -> Iterator[FakeTimeplus]:
    with FakeTimeplus(engine=True) as fake:
        yield fake


def insert(tp: FakeTimeplus, *rows: dict[str, object]) -> None:
    """One insert batch (one ``_tp_sn``) into the fake's ``ingest``."""
    Http(Endpoint("127.0.0.1", tp.batch_port, tp.stream_port)).insert(
        "`default`.`ingest`", ["source", "kind"], jsonl(rows), "a test insert"
    )


def read(reader: SqlReader, n: int) -> list[SqlRow]:
    """The first ``n`` rows of ``reader`` (read in a thread; it is closed after)."""
    got: list[SqlRow] = []
    done = threading.Event()

    def run() -> None:
        for row in reader:
            got.append(row)
            if len(got) >= n:
                break
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(10), f"the reader gave {len(got)} of {n} rows"
    reader.close()
    return got


def http(tp: FakeTimeplus) -> Http:
    return Http(Endpoint("127.0.0.1", tp.batch_port, tp.stream_port))


def test_a_resumed_read_drops_the_rows_of_its_batch_already_handled(tp: FakeTimeplus) -> None:
    insert(
        tp, {"source": "a", "kind": "x"}, {"source": "a", "kind": "x"}, {"source": "a", "kind": "y"}
    )
    insert(tp, {"source": "b", "kind": "z"})
    sn = tp.rows("ingest")[0]["_tp_sn"]
    plan = plan_watch("SELECT source, kind FROM ingest WHERE source != 'none'")
    handled = digest_of({"source": "a", "kind": "x"})
    reader = SqlReader(http(tp), plan, sn, [handled])
    rows = read(reader, 3)
    # One of the two identical rows was handled: the other still fires.
    assert [(r.values["kind"], r.sn) for r in rows] == [("x", sn), ("y", sn), ("z", sn + 1)]
    req = tp.queries("_tp_sn >")[-1]
    assert req.port == "stream" and req.params[AFTER_PARAM] == str(sn - 1)


def test_a_dropped_read_reconnects_and_resumes_without_duplicates(tp: FakeTimeplus) -> None:
    problems: list[str] = []
    plan = plan_watch("SELECT source, kind FROM ingest")
    reader = SqlReader(
        http(tp), plan, on_problem=lambda kind, msg: problems.append(kind), retry_min_s=0.05
    )
    got: list[SqlRow] = []
    first, second = threading.Event(), threading.Event()

    def run() -> None:
        for row in reader:
            got.append(row)
            (first if len(got) == 2 else second if len(got) == 3 else threading.Event()).set()

    threading.Thread(target=run, daemon=True).start()
    tp.wait_request(lambda r: r.port == "stream" and "FROM ingest" in r.sql)
    insert(tp, {"source": "a", "kind": "1"}, {"source": "a", "kind": "2"})
    assert first.wait(10)
    before = len(tp.requests)
    tp.stop()
    tp.start()
    tp.wait_request(lambda r: r.port == "stream" and "_tp_sn >" in r.sql, after=before)
    insert(tp, {"source": "a", "kind": "3"})
    assert second.wait(10)
    reader.close()
    assert [r.values["kind"] for r in got] == ["1", "2", "3"]
    assert problems[-1] == "reconnected" and set(problems) <= {"dropped", "ended", "reconnected"}
    assert reader.connects == 2


def test_a_query_the_server_refuses_raises_at_once(tp: FakeTimeplus) -> None:
    def refuse(req: Request) -> Fail | None:
        if req.port == "stream" and "nope" in req.sql:
            return Fail(47, "Missing columns: 'nope'", "UNKNOWN_IDENTIFIER", 404)
        return None

    tp.handler = refuse
    reader = SqlReader(http(tp), plan_watch("SELECT nope FROM ingest"), retry_min_s=0.05)
    with pytest.raises(SqlRejected, match="Missing columns"):
        next(iter(reader))
    assert len(tp.queries("SELECT nope")) == 1


def test_rows_carry_their_values_as_timeplus_sent_them(tp: FakeTimeplus) -> None:
    insert(tp, {"source": "s", "kind": json.dumps({"k": 1})})
    sn = tp.rows("ingest")[0]["_tp_sn"]
    [row] = read(SqlReader(http(tp), plan_watch("SELECT * FROM ingest"), sn), 1)
    assert row.values["source"] == "s" and "_tp_sn" not in row.values and row.sn == sn
